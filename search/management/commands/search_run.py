"""Batch search run: each listed item searched as "more like this", written as a run file.

    python manage.py search_run --queries FILE --k 100 --mode hybrid --alpha 0.7 --output RUN.json

FILE lists query external ids one a line (or is the word `all` for every item). The output is
the run format of shared/design/formats.md; ties are ordered by score, then external id.
Unknown ids are reported and skipped; the command fails only if no query is left.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from itembank.progress import ProgressBar
from search import runs


class Command(BaseCommand):
    help = _('Search each listed item "more like this" and write the results as a run file.')

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queries",
            required=True,
            help=_("File of query external ids, one a line, or the word all."),
        )
        parser.add_argument("--k", type=int, default=100, help=_("Results per query."))
        parser.add_argument(
            "--mode", default="dense", help=_("dense, bm25, hybrid or rrf (default dense).")
        )
        parser.add_argument("--alpha", type=float, default=None, help=_("Dense weight (hybrid)."))
        parser.add_argument("--space", default=None, help=_("Embedding space (default: default)."))
        parser.add_argument("--rerank", action="store_true", help=_("Rerank the results."))
        parser.add_argument(
            "--output", required=True, help=_("Where to write the run (JSON); - for stdout.")
        )

    def handle(self, *args, **options) -> None:
        try:
            ids = runs.read_query_ids(options["queries"])
            queries = runs.resolve_queries(ids)
        except runs.RunError as exc:
            raise CommandError(str(exc)) from exc
        if queries.unknown:
            self.stderr.write(
                _("%(count)d unknown external ids skipped, e.g. %(examples)s")
                % {"count": len(queries.unknown), "examples": runs.examples(queries.unknown)}
            )
        if not queries.items:
            raise CommandError(_("No query is left to run."))
        output = options["output"]
        if output != "-" and not Path(output).parent.is_dir():
            raise CommandError(_("The folder of %(path)s does not exist.") % {"path": output})
        bar = ProgressBar(self.stderr, unit="queries")
        try:
            report = runs.run_queries(
                queries.items,
                mode=options["mode"],
                k=options["k"],
                alpha=options["alpha"],
                rerank=options["rerank"],
                space=options["space"],
                progress=bar,
            )
        except runs.RunError as exc:
            raise CommandError(str(exc)) from exc
        if report.failed:
            self.stderr.write(
                _("%(count)d queries failed and were left out, e.g. %(examples)s")
                % {
                    "count": len(report.failed),
                    "examples": "; ".join(
                        f"{qid}: {error}" for qid, error in list(report.failed.items())[:3]
                    ),
                }
            )
        if not report.queries:
            raise CommandError(_("Every query failed; no run was written."))
        text = json.dumps(report.run, ensure_ascii=False, indent=1)
        if output == "-":
            self.stdout.write(text)
        else:
            Path(output).write_text(text + "\n", "utf-8")
            self.stderr.write(
                _("Wrote %(count)d queries to %(path)s") % {"count": report.queries, "path": output}
            )
