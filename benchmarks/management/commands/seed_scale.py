"""Build a bank at production scale for load tests: `seed_scale --items 176443 --embed`.

Generates the items from the demo templates (`benchmarks.scale`), writes them in chunks with
the bulk import path, and with --embed registers the offline default space if the bank has none,
embeds every missing item into the default space in this process and stores the BM25 tokens.
Resumable: run it again after an interruption and it carries on (nothing done is redone).
"""

from __future__ import annotations

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from benchmarks import scale
from itembank.models import Item, User


class Command(BaseCommand):
    help = "Generate a large item bank (default 176,443 items) and optionally embed it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--items", type=int, default=176_443, help="bank size (176,443)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
        parser.add_argument(
            "--embed",
            action="store_true",
            help="also embed the items into the default space and store their BM25 tokens",
        )
        parser.add_argument("--figure-pool", type=int, default=scale.FIGURE_POOL)
        parser.add_argument("--chunk", type=int, default=scale.CHUNK, help="items per transaction")
        parser.add_argument("--batch-size", type=int, default=32, help="embedding batch size")

    def log(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def handle(self, *args, **options) -> None:
        if options["items"] < 1 or options["chunk"] < 1 or options["batch_size"] < 1:
            raise CommandError(_("--items, --chunk and --batch-size must be at least 1."))
        total_started = time.monotonic()
        started = time.monotonic()
        bank = scale.plan(options["items"], options["seed"], options["figure_pool"])
        kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(bank.kinds.items()))
        self.log(
            f"Planned {len(bank.items):,} items ({kinds}; "
            f"{sum(1 for i in bank.items if i.figure):,} with a figure, "
            f"{len(bank.figure_specs):,} distinct drawings) in {time.monotonic() - started:.1f} s."
        )
        started = time.monotonic()
        teacher = User.objects.filter(username="teacher").first()
        created, skipped = scale.write_items(
            bank, log=self.log, chunk=options["chunk"], user=teacher
        )
        self.log(
            f"Items: {created:,} created, {skipped} chunks already there, "
            f"{Item.objects.count():,} in the bank ({time.monotonic() - started:.1f} s)."
        )
        if options["embed"]:
            self.embed(options["batch_size"])
        self.log(f"Done in {time.monotonic() - total_started:.1f} s.")

    def embed(self, batch_size: int) -> None:
        from embeddings import services

        call_command("spaces", "ensure-default", stdout=self.stdout)
        space = services.default_space()
        if space is None:
            raise CommandError(
                _("There is no default embedding space; make one the default (spaces activate).")
            )
        started = time.monotonic()
        self.log(f"Embedding missing items into {space.name} ({space.dimensions} dimensions):")
        out = scale.embed_missing(space, log=self.log, batch_size=batch_size)
        self.log(
            f"Vectors: {out['embedded']:,} written of {out['missing']:,} missing, "
            f"{out['failed']} failed ({out.get('embed_s', 0.0):.1f} s); HNSW index "
            f"{out['index_s']:.1f} s; total {time.monotonic() - started:.1f} s."
        )
        started = time.monotonic()
        written = scale.tokenise_missing(log=self.log)
        self.log(f"BM25 tokens: {written:,} items tokenised ({time.monotonic() - started:.1f} s).")
