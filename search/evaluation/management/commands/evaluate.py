"""Score a search configuration, or a run file, against a ground truth.

    python manage.py evaluate --gt planted --space offline-default --mode hybrid --alpha 0.7
    python manage.py evaluate --gt GT.json --run RUN.json --json
    python manage.py evaluate --gt planted --space offline-default --sweep-alpha

`--gt` names a ground-truth set or a formats.md JSON file (scored without saving it). With
`--run` the run file is scored without searching. `--json` prints one JSON object keyed by metric
name (`recall@1` … `ndcg@10`, `queries`, `queries_without_relevant`) with `by_category` and
`by_subject` breakdowns; `--sweep-alpha` evaluates hybrid search at α = 0, 0.1, …, 1. A
configuration evaluated against a saved set is recorded as an evaluation run (the dashboard
shows it) unless `--no-save` is given.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from itembank import jobs
from itembank.progress import ProgressBar
from search.evaluation import evaluate, metrics
from search.evaluation.groundtruth import GroundTruthError
from search.evaluation.models import GroundTruthSet

SHOWN = ("recall@1", "recall@3", "recall@5", "recall@10", "recall@20", "mrr", "map", "ndcg@10")


class Command(BaseCommand):
    help = _("Score a search configuration or a run file against a ground truth.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--gt", required=True, help=_("Ground-truth set name, or a ground-truth JSON file.")
        )
        parser.add_argument("--space", default=None, help=_("Embedding space (default: default)."))
        parser.add_argument("--mode", default="dense", help=_("dense, bm25, hybrid or rrf."))
        parser.add_argument("--alpha", type=float, default=None, help=_("Dense weight (hybrid)."))
        parser.add_argument("--rerank", action="store_true", help=_("Rerank the results."))
        parser.add_argument(
            "--k", type=int, default=evaluate.DEFAULT_K, help=_("Results per query.")
        )
        parser.add_argument("--run", default=None, help=_("Score this run file; no search."))
        parser.add_argument(
            "--sweep-alpha", action="store_true", help=_("Hybrid at α = 0, 0.1, …, 1.")
        )
        parser.add_argument("--json", action="store_true", help=_("Print JSON."))
        parser.add_argument(
            "--no-save", action="store_true", help=_("Do not record the evaluation run.")
        )

    def _ground_truth(self, value: str):
        gt_set = GroundTruthSet.objects.filter(name=value).first()
        if gt_set is not None:
            return gt_set
        if Path(value).is_file():
            judged = evaluate.judgements(value)
            if judged.report and (judged.report.dropped_unknown or judged.report.dropped_self):
                self.stderr.write(judged.report.summary())
            if not judged.pairs:
                raise CommandError(
                    _("No pair of %(file)s names two items of the bank.") % {"file": value}
                )
            return judged
        raise CommandError(
            _("There is no ground-truth set or file named %(name)s.") % {"name": value}
        )

    def handle(self, *args, **options) -> None:
        try:
            gt = self._ground_truth(options["gt"])
            if options["run"]:
                result = evaluate.evaluate_run_file(gt, evaluate.load_run_file(options["run"]))
                self.stderr.write(
                    _("%(matched)d of the run's %(count)d queries are queries of the ground truth.")
                    % {"matched": result["matched_queries"], "count": result["run_queries"]}
                )
                self._print(result, options["json"])
                return
            configs = (
                [(a, "hybrid") for a in evaluate.ALPHAS]
                if options["sweep_alpha"]
                else [(options["alpha"], options["mode"])]
            )
            sweep = evaluate.sweep_label("alpha") if options["sweep_alpha"] else ""
            outputs = []
            for alpha, mode in configs:
                result = self._one(gt, options, mode, alpha, sweep)
                outputs.append((alpha, mode, result))
        except (evaluate.EvaluationError, GroundTruthError) as exc:
            raise CommandError(str(exc)) from exc
        if options["sweep_alpha"]:
            if options["json"]:
                self.stdout.write(
                    json.dumps(
                        [{"alpha": a, **metrics.flat(r)} for a, _m, r in outputs],
                        ensure_ascii=False,
                        indent=1,
                    )
                )
            else:
                self.stdout.write("α     " + "  ".join(f"{n:>9}" for n in SHOWN))
                for alpha, _mode, result in outputs:
                    row = result["overall"]
                    self.stdout.write(f"{alpha:<5g} " + "  ".join(f"{row[n]:>9.4f}" for n in SHOWN))
            return
        self._print(outputs[0][2], options["json"])

    def _one(self, gt, options, mode, alpha, sweep) -> dict:
        progress = ProgressBar(self.stderr, unit="queries")
        if isinstance(gt, GroundTruthSet) and not options["no_save"]:
            run = evaluate.create_run(
                gt,
                space=options["space"],
                mode=mode,
                alpha=alpha,
                rerank=options["rerank"],
                k=options["k"],
                sweep=sweep,
            )
            # Computed here, not by a worker: claim it (the beat never sends it then) and keep
            # its heartbeat. A worker that claimed it first keeps it: never computed twice.
            if not jobs.start(run):
                raise evaluate.EvaluationError(
                    _("Evaluation run %(id)d is already being computed by a worker.")
                    % {"id": run.pk}
                )
            heartbeat = jobs.Reporter(run, every=1.0)

            def progress_and_heartbeat(done: int, total: int) -> None:
                progress(done, total)
                heartbeat(done, total)

            try:
                result = evaluate.evaluate_config(
                    gt,
                    run.space_name or None,
                    mode,
                    alpha,
                    options["rerank"],
                    options["k"],
                    progress=progress_and_heartbeat,
                )
            except Exception as exc:
                jobs.fail(run, str(exc) or exc.__class__.__name__)
                raise
            evaluate.save_result(run, result)
            return result
        return evaluate.evaluate_config(
            gt, options["space"], mode, alpha, options["rerank"], options["k"], progress=progress
        )

    def _print(self, result: dict, as_json: bool) -> None:
        if result.get("failed_queries"):
            self.stderr.write(
                _("%(count)d queries could not be searched and score 0, e.g. %(examples)s")
                % {
                    "count": result["failed_queries"],
                    "examples": "; ".join(
                        f"{q}: {e}" for q, e in result.get("failed_examples", {}).items()
                    ),
                }
            )
        if as_json:
            self.stdout.write(json.dumps(metrics.flat(result), ensure_ascii=False, indent=1))
            return
        overall = result["overall"]
        self.stdout.write(
            _("%(queries)d queries scored; %(left)d without relevant items left out.")
            % {"queries": overall["queries"], "left": result["queries_without_relevant"]}
        )
        self.stdout.write("          " + "  ".join(f"{n:>9}" for n in SHOWN) + "    queries")
        rows = [("all", overall), *result["by_category"].items()]
        rows += list(result["by_subject"].items())
        for label, values in rows:
            self.stdout.write(
                f"{label[:9]:<9} "
                + "  ".join(f"{values[n]:>9.4f}" for n in SHOWN)
                + f"  {values['queries']:>9}"
            )
