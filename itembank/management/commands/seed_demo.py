"""Generate the demo item bank and import it (run by `./dev run` on every start with --if-empty).

Writes items.jsonl, figures/, ground_truth_planted.json and families.json into
DATA_DIR/demo (or --output), then imports items.jsonl through `itembank.importing`.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from itembank.demo import generate
from itembank.importing import ImportFailed, import_path
from itembank.models import Item, User


class Command(BaseCommand):
    help = "Generate the demo item bank (items, figures, planted ground truth) and import it."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument("--size", type=int, default=600, help="number of items (default 600)")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the bank has any item"
        )
        parser.add_argument(
            "--output", type=Path, default=None, help="folder to write to (default DATA_DIR/demo)"
        )
        parser.add_argument(
            "--no-import", action="store_true", help="only write the files; import nothing"
        )

    def handle(self, *args, **options) -> None:
        if options["if_empty"] and Item.objects.exists():
            self.stdout.write("The item bank is not empty; demo bank not loaded.")
            return
        if options["size"] < 1:
            raise CommandError("--size must be at least 1")
        output = options["output"] or Path(settings.DATA_DIR) / "demo"
        started = time.monotonic()
        summary = generate(output, seed=options["seed"], size=options["size"])
        generated = time.monotonic() - started
        subjects = ", ".join(f"{s} {n}" for s, n in sorted(summary.by_subject.items()))
        self.stdout.write(
            f"Generated {summary.items} items ({subjects}), {summary.figures} figures, "
            f"{summary.with_latex} with LaTeX, {summary.families} planted families "
            f"({summary.duplicates} duplicates, {summary.variants} variants) in {output} "
            f"in {generated:.1f}s."
        )
        if options["no_import"]:
            return

        teacher = User.objects.filter(username="teacher").first()
        try:
            result = import_path(output / "items.jsonl", user=teacher, via="demo")
        except ImportFailed as exc:
            raise CommandError(f"The demo bank could not be imported:\n{exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported the demo bank: {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged of {result.total} in {result.seconds:.1f}s "
                f"(total {time.monotonic() - started:.1f}s)."
            )
        )
