"""Load precomputed vectors from an .npz file (ids, embeddings, model, dims) into a space."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from embeddings.models import EmbeddingSpace
from embeddings.npz import CHUNK_ROWS, NpzError, import_npz, import_with_index


class Command(BaseCommand):
    help = _(
        "Load precomputed embeddings from an .npz file into a space (all or nothing), "
        "then build the space's index."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=_("The .npz file: ids, embeddings, optional model, dims."))
        parser.add_argument("--space", required=True, help=_("Name of the embedding space."))
        parser.add_argument(
            "--skip-unknown",
            action="store_true",
            help=_("Load the rows whose ids are in the bank and skip the others."),
        )
        parser.add_argument(
            "--keep-index",
            action="store_true",
            help=_("Keep the index while loading (for small additions to a large space)."),
        )
        parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS)

    def handle(self, *args, **options) -> None:
        space = EmbeddingSpace.objects.filter(name=options["space"]).first()
        if space is None:
            raise CommandError(_("No embedding space named %(name)s.") % {"name": options["space"]})
        if options["chunk_rows"] < 1:
            raise CommandError(_("--chunk-rows must be at least 1."))
        load = import_npz if options["keep_index"] else import_with_index
        try:
            report = load(
                options["file"],
                space,
                skip_unknown=options["skip_unknown"],
                chunk_rows=options["chunk_rows"],
            )
        except NpzError as exc:
            raise CommandError(str(exc)) from exc
        if report.skipped_unknown:
            self.stdout.write(
                _("Skipped %(count)d rows whose ids are not in the bank, e.g. %(examples)s.")
                % {
                    "count": report.skipped_unknown,
                    "examples": ", ".join(report.unknown_examples),
                }
            )
        self.stdout.write(
            _(
                "Loaded %(loaded)d of %(rows)d vectors into %(space)s in %(seconds).1f s "
                "(model revision %(model)s)."
            )
            % {
                "loaded": report.loaded,
                "rows": report.rows,
                "space": space.name,
                "seconds": report.load_seconds,
                "model": report.model_revision,
            }
        )
        if report.index_seconds is not None:
            self.stdout.write(
                _("Built the index of %(space)s in %(seconds).1f s.")
                % {"space": space.name, "seconds": report.index_seconds}
            )
