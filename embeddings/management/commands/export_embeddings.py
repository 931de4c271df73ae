"""Write a space's vectors to an .npz file (ids, embeddings, model, dims), streaming."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from embeddings.models import EmbeddingSpace
from embeddings.npz import NpzError, export_npz


class Command(BaseCommand):
    help = _("Export a space's embeddings to an .npz file that import_embeddings reads back.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=_("The .npz file to write."))
        parser.add_argument("--space", required=True, help=_("Name of the embedding space."))
        parser.add_argument(
            "--dtype", choices=["float16", "float32"], default="float16", help=_("Vector type.")
        )
        parser.add_argument(
            "--compress", action="store_true", help=_("Deflate the members (smaller, slower).")
        )

    def handle(self, *args, **options) -> None:
        space = EmbeddingSpace.objects.filter(name=options["space"]).first()
        if space is None:
            raise CommandError(_("No embedding space named %(name)s.") % {"name": options["space"]})
        try:
            report = export_npz(
                options["file"], space, dtype=options["dtype"], compress=options["compress"]
            )
        except NpzError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("Wrote %(rows)d vectors of %(dims)d dimensions to %(file)s in %(seconds).1f s.")
            % {
                "rows": report.rows,
                "dims": report.dims,
                "file": options["file"],
                "seconds": report.seconds,
            }
        )
