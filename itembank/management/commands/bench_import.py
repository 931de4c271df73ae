"""python manage.py bench_import [--count 10000] [--keep] — runs benchmarks/bench_import.py."""

from __future__ import annotations

import importlib.util

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


def load_benchmark():
    path = settings.BASE_DIR / "benchmarks" / "bench_import.py"
    spec = importlib.util.spec_from_file_location("bench_import", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Command(BaseCommand):
    help = "Import benchmark: generate N realistic items, import them, print items/s, clean up."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=10_000)
        parser.add_argument("--keep", action="store_true", help="keep the BENCH- items")

    def handle(self, *args, count: int, keep: bool, **options) -> None:
        load_benchmark().run(count, self.stdout.write, keep=keep)
