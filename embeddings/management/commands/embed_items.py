"""Embed the missing and stale items of a space, here or (with --fan-out) on the gpu workers.

Resumable: each batch is stored as it is done and only missing or stale items are selected, so
running the command again after an interruption carries on where it stopped.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from embeddings import dispatch, pipeline
from embeddings.models import EmbeddingSpace
from itembank.models import ItemStatus, Subject
from itembank.progress import ProgressBar


class Command(BaseCommand):
    help = _("Embed the missing and stale items of an embedding space.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--space", required=True, help=_("Name of the embedding space."))
        parser.add_argument("--subject", choices=Subject.values)
        parser.add_argument("--status", choices=ItemStatus.values)
        parser.add_argument(
            "--stale-only",
            action="store_true",
            help=_("Only re-embed items whose vectors are stale; skip items with none."),
        )
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument(
            "--fan-out",
            action="store_true",
            help=_("Send the batches to the gpu queue instead of embedding here."),
        )

    def handle(self, *args, **options) -> None:
        space = EmbeddingSpace.objects.filter(name=options["space"]).first()
        if space is None:
            raise CommandError(_("No embedding space named %(name)s.") % {"name": options["space"]})
        batch_size = options["batch_size"] or dispatch.batch_size_for(space)
        if batch_size < 1:
            raise CommandError(_("The batch size must be at least 1."))
        qs = pipeline.stale(space) if options["stale_only"] else pipeline.stale_or_missing(space)
        if options["subject"]:
            qs = qs.filter(subject=options["subject"])
        if options["status"]:
            qs = qs.filter(status=options["status"])
        ids = list(qs.values_list("pk", flat=True))
        if not ids:
            self.stdout.write(_("Nothing to do: every selected item is embedded."))
            return

        if options["fan_out"]:
            try:
                tasks = dispatch.enqueue(space, ids, batch_size=batch_size)
            except Exception as exc:
                raise CommandError(
                    _("Could not reach the broker: %(error)s") % {"error": exc}
                ) from exc
            self.stdout.write(
                _("Queued %(items)d items in %(tasks)d tasks on the gpu queue.")
                % {"items": len(ids), "tasks": tasks}
            )
            return

        self.stdout.write(
            _("Embedding %(count)d items into %(space)s in batches of %(size)d.")
            % {"count": len(ids), "space": space.name, "size": batch_size}
        )
        bar = ProgressBar(self.stderr, enabled=options["verbosity"] > 0)
        result = pipeline.EmbedResult()
        # Chunks of several batches: progress is reported and work is committed as it goes.
        step = batch_size * 8
        try:
            for start in range(0, len(ids), step):
                part = pipeline.embed_items(space, ids[start : start + step], batch_size=batch_size)
                result.merge(part)
                bar(min(start + step, len(ids)), len(ids))
        except KeyboardInterrupt:
            bar.close()
            raise CommandError(
                _("Interrupted after %(done)d items; run the command again to continue.")
                % {"done": result.requested}
            ) from None
        bar.close()
        self.stdout.write(
            _(
                "Embedded %(embedded)d, already current %(unchanged)d, failed %(failed)d "
                "(%(rate).1f items/s)."
            )
            % {
                "embedded": result.embedded,
                "unchanged": result.unchanged,
                "failed": result.failed,
                "rate": len(ids) / result.seconds if result.seconds else 0.0,
            }
        )
        if result.failed:
            for item_id, reason in list(result.errors.items())[:10]:
                self.stderr.write(f"  {item_id}: {reason}")
