"""Build a ground-truth set.

    python manage.py build_ground_truth --kind tfidf --name tfidf [--top-k 5] [--queries FILE]
    python manage.py build_ground_truth --kind planted [--from .data/demo/ground_truth_planted.json]
    python manage.py build_ground_truth --kind import --from GT.json [--name NAME] [--as KIND]
    python manage.py build_ground_truth --kind intersection --a tfidf --b llm --name hybrid
    python manage.py build_ground_truth --kind union --a X --b Y --name NAME
    python manage.py build_ground_truth --kind llm --name llm --queries FILE [--space S --mode M]

`--queries FILE` lists query external ids one a line (or `all`). Nothing is written on an error.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from search import runs
from search.evaluation import groundtruth
from search.evaluation.llm import LLMError
from search.evaluation.models import GroundTruthSet

KINDS = ("tfidf", "planted", "intersection", "union", "llm", "import")


class Command(BaseCommand):
    help = _("Build a ground-truth set (TF-IDF, planted, LLM judge, import, or combine two).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=KINDS)
        parser.add_argument("--name", default=None, help=_("Name of the new set."))
        parser.add_argument("--from", dest="source", default=None, help=_("Input JSON file."))
        parser.add_argument(
            "--as", dest="as_kind", default=None, help=_("Kind to record for an imported set.")
        )
        parser.add_argument("--a", default=None, help=_("First set (intersection/union)."))
        parser.add_argument("--b", default=None, help=_("Second set (intersection/union)."))
        parser.add_argument("--top-k", type=int, default=5, help=_("TF-IDF: pairs per query."))
        parser.add_argument(
            "--queries", default=None, help=_("File of query external ids, one a line, or all.")
        )
        parser.add_argument("--space", default=None, help=_("LLM: embedding space to search."))
        parser.add_argument("--mode", default="dense", help=_("LLM: search mode."))
        parser.add_argument("--k", type=int, default=10, help=_("LLM: candidates shown."))
        parser.add_argument(
            "--replace", action="store_true", help=_("Overwrite a set of the same name.")
        )

    def _queries(self, value: str | None):
        if value is None:
            return None
        try:
            ids = runs.read_query_ids(value)
        except runs.RunError as exc:
            raise CommandError(str(exc)) from exc
        return None if ids == runs.ALL else ids

    def _set(self, name: str | None, flag: str) -> GroundTruthSet:
        if not name:
            raise CommandError(_("Name the set to combine with %(flag)s.") % {"flag": flag})
        gt_set = GroundTruthSet.objects.filter(name=name).first()
        if gt_set is None:
            raise CommandError(_("There is no ground-truth set named %(name)s.") % {"name": name})
        return gt_set

    def handle(self, *args, **options) -> None:
        kind = options["kind"]
        replace = options["replace"]
        report = None
        try:
            if kind == "tfidf":
                gt_set, report = groundtruth.build_tfidf(
                    options["name"] or "tfidf",
                    options["top_k"],
                    queries=self._queries(options["queries"]),
                    replace=replace,
                )
            elif kind == "planted":
                path = options["source"] or settings.DATA_DIR / "demo" / "ground_truth_planted.json"
                gt_set, report = groundtruth.build_planted(
                    path, options["name"] or "planted", replace=replace
                )
            elif kind == "import":
                if not options["source"]:
                    raise CommandError(_("Give the file to import with --from."))
                gt_set, report = groundtruth.import_json(
                    options["source"],
                    name=options["name"],
                    kind=options["as_kind"],
                    replace=replace,
                )
            elif kind in ("intersection", "union"):
                a, b = self._set(options["a"], "--a"), self._set(options["b"], "--b")
                gt_set = groundtruth.combine(a, b, kind, options["name"], replace=replace)
            else:
                if options["queries"] is None:
                    raise CommandError(_("List the query items with --queries FILE (or all)."))
                gt_set, report = groundtruth.build_llm(
                    options["name"] or "llm",
                    self._queries(options["queries"]),
                    options["space"],
                    options["mode"],
                    k=options["k"],
                    replace=replace,
                )
        except (groundtruth.GroundTruthError, LLMError) as exc:
            raise CommandError(str(exc)) from exc
        pairs = gt_set.pairs.count()
        queries = gt_set.pairs.values("query").distinct().count()
        self.stdout.write(
            _(
                "Saved ground-truth set %(name)s (%(kind)s): %(pairs)d pairs for %(queries)d "
                "queries."
            )
            % {"name": gt_set.name, "kind": gt_set.kind, "pairs": pairs, "queries": queries}
        )
        if report is not None and (
            report.dropped_unknown or report.dropped_self or report.empty_queries
        ):
            self.stderr.write(report.summary())
