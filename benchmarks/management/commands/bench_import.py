"""python manage.py bench_import [--count 10000] [--keep] — runs benchmarks/bench_import.py."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from benchmarks import bench_import


class Command(BaseCommand):
    help = "Import benchmark: generate N realistic items, import them, print items/s, clean up."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=10_000)
        parser.add_argument("--keep", action="store_true", help="keep the BENCH- items")

    def handle(self, *args, count: int, keep: bool, **options) -> None:
        bench_import.run(count, self.stdout.write, keep=keep)
