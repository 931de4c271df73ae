"""Search benchmark: latency (p50/p95/p99, QPS) per mode, HNSW recall@10 against exact search at a
given bank size, the HTTP endpoint, and (with --quality) Recall@5/10 and MRR per mode on the demo
bank's planted families.

    ./dev manage bench_search --quality                      # demo bank only
    ./dev manage bench_search --rows 176443 --dims 2048      # + a synthetic scratch space
    ./dev manage bench_search --cleanup                      # drop the scratch space and items

Phases run in this order so the scratch items never take part in the demo-bank figures:
quality, engine modes on the demo space, HTTP endpoint, scratch space (fill, SQL dense at each
ef_search with recall against exact, the engine's dense path), then the scratch space is dropped
unless --keep. Each SQL row reports the plan it ran with (pinned to the HNSW index as the engine
pins it) and the plan the planner would pick unpinned; the command fails (after printing) when
the index was not used. See benchmarks/bench_search.py for the synthetic vectors.
"""

from __future__ import annotations

import json
import os
import random
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils.translation import gettext as _

from benchmarks import bench_search as benchmark
from embeddings.models import ItemEmbedding
from itembank.models import Item, Role, User
from scripts.devstack import Gunicorn
from search import runs

QUALITY_MODES = (("dense", None), ("bm25", None), ("hybrid", 0.5), ("hybrid", 0.7), ("rrf", None))
ENGINE_MODES = (("dense", None), ("bm25", None), ("hybrid", 0.7), ("rrf", None))
BENCH_USER = "bench-search"


class Command(BaseCommand):
    help = _("Benchmark search latency, HNSW recall and (with --quality) search quality.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=0, help=_("Scratch bank size (0: none)."))
        parser.add_argument("--dims", type=int, default=2048, help=_("Scratch vector size."))
        parser.add_argument("--queries", type=int, default=500, help=_("Timed SQL queries."))
        parser.add_argument(
            "--recall-queries", type=int, default=100, help=_("Queries checked against exact.")
        )
        parser.add_argument("--ef", default="40,100,200", help=_("hnsw.ef_search values."))
        parser.add_argument("--topics", type=int, default=256, help=_("Synthetic topics."))
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--maintenance-work-mem", default="4GB", help=_("For the HNSW index build.")
        )
        parser.add_argument("--space", default=None, help=_("Demo bank space (default space)."))
        parser.add_argument(
            "--engine-queries", type=int, default=200, help=_("Timed engine searches per mode.")
        )
        parser.add_argument(
            "--http-requests", type=int, default=200, help=_("Timed HTTP requests (0: skip).")
        )
        parser.add_argument("--skip-engine", action="store_true", help=_("No demo-bank timing."))
        parser.add_argument("--quality", action="store_true", help=_("Score planted families."))
        parser.add_argument("--keep", action="store_true", help=_("Keep the scratch space."))
        parser.add_argument(
            "--cleanup", action="store_true", help=_("Drop the scratch space and items, then stop.")
        )
        parser.add_argument("--json", action="store_true", help=_("Print JSON only."))

    def log(self, message: str) -> None:
        self.stderr.write(message)
        self.stderr.flush()

    def handle(self, *args, **options) -> None:
        if options["cleanup"]:
            deleted = benchmark.drop_scratch()
            self.log(_("Dropped the scratch spaces; %(count)d rows deleted.") % {"count": deleted})
            return
        try:
            ef_values = [int(v) for v in options["ef"].split(",") if v.strip()]
        except ValueError as exc:
            raise CommandError(_("--ef takes numbers separated by commas.")) from exc
        if options["rows"] < 0 or options["dims"] < 1 or not ef_values:
            raise CommandError(_("--rows, --dims and --ef must be positive."))
        if options["rows"] and options["dims"] > 4000:
            raise CommandError(_("HNSW indexes at most 4000 dimensions."))
        report: dict = {"machine": machine(), "latency": [], "timings": {}}
        demo_space = None
        if options["quality"] or not options["skip_engine"] or options["http_requests"]:
            try:
                demo_space = runs.resolve_space(options["space"])
            except runs.RunError as exc:
                raise CommandError(str(exc)) from exc
            report["demo_space"] = demo_space.name
        if options["quality"]:
            report["quality"] = self.quality(demo_space.name)
        if not options["skip_engine"]:
            report["latency"] += self.engine_modes(demo_space.name, options["engine_queries"])
        if options["http_requests"]:
            report["latency"] += self.http(demo_space.name, options["http_requests"])
        if options["rows"]:
            report["scratch"] = {"rows": options["rows"], "dims": options["dims"]}
            try:
                report["latency"] += self.scratch(options, ef_values, report["timings"])
            finally:
                if not options["keep"]:
                    started = time.perf_counter()
                    benchmark.drop_scratch(options["dims"])
                    self.log(f"dropped the scratch space in {time.perf_counter() - started:.1f} s")
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=1))
        else:
            self.print_table(report)
        missed = [row for row in report["latency"] if row.get("index_scan") is False]
        if missed:
            plans = "; ".join(f"ef_search {row['ef_search']}: {row['plan']}" for row in missed)
            raise CommandError(
                _("The HNSW index was NOT used (%(plans)s); these figures are not the index's.")
                % {"plans": plans}
            )

    # -- phases ------------------------------------------------------------------------------

    def quality(self, space: str) -> dict:
        path = settings.DATA_DIR / "demo" / "ground_truth_planted.json"
        if not path.exists():
            raise CommandError(
                _("No planted ground truth at %(path)s; run seed_demo first.") % {"path": path}
            )
        qrels = benchmark.parse_qrels(json.loads(path.read_text("utf-8"))["pairs"])
        queries = runs.resolve_queries(sorted(qrels))
        out = {"ground_truth": str(path), "k": 100, "modes": {}}
        for mode, alpha in QUALITY_MODES:
            label = mode if alpha is None else f"{mode} α={alpha}"
            started = time.perf_counter()
            run = runs.run_queries(queries.items, mode=mode, k=100, alpha=alpha, space=space)
            scores = benchmark.score_run(run.run["results"], qrels).as_dict()
            scores["failed"] = len(run.failed)
            scores["seconds"] = round(time.perf_counter() - started, 1)
            out["modes"][label] = scores
            self.log(f"quality {label}: {scores}")
        return out

    def sample_texts(self, space: str, count: int) -> list[str]:
        stems = list(
            Item.objects.filter(embeddings__space__name=space)
            .exclude(external_id__startswith=benchmark.PREFIX)
            .order_by("external_id")
            .values_list("stem", flat=True)
        )
        if not stems:
            raise CommandError(_("The space %(name)s holds no vectors.") % {"name": space})
        rng = random.Random(0)
        return [rng.choice(stems) for _ in range(count)]

    def engine_modes(self, space: str, count: int) -> list[dict]:
        from search.engine import SearchRequest

        texts = self.sample_texts(space, count)
        out = []
        for mode, alpha in ENGINE_MODES:
            requests = [
                SearchRequest(text=t, mode=mode, alpha=alpha, k=10, rerank=False, space=space)
                for t in texts
            ]
            label = f"engine {mode}" + ("" if alpha is None else f" α={alpha}")
            row = benchmark.bench_engine(requests, f"{label}, text query, demo bank").as_dict()
            self.log(str(row))
            out.append(row)
        return out

    def http(self, space: str, count: int) -> list[dict]:
        from rest_framework.authtoken.models import Token

        texts = self.sample_texts(space, count)
        User.objects.filter(username=BENCH_USER).delete()
        user = User.objects.create_user(BENCH_USER, role=Role.TEACHER)
        token = Token.objects.create(user=user)
        out = []
        try:
            with Gunicorn(timeout=300, ready_path="/api/") as server:
                for mode, alpha in (("dense", None), ("hybrid", 0.7)):
                    params = {"mode": mode, "k": 10, "space": space}
                    if alpha is not None:
                        params["alpha"] = alpha
                    paths = [
                        "/api/search/?" + urlencode({**params, "text": text}) for text in texts
                    ]
                    row = benchmark.bench_http(
                        server, paths, token.key, f"HTTP GET /api/search/ {mode}, 1 gunicorn worker"
                    ).as_dict()
                    self.log(str(row))
                    out.append(row)
        finally:
            user.delete()
        return out

    def scratch(self, options: dict, ef_values: list[int], timings: dict) -> list[dict]:
        rows, dims = options["rows"], options["dims"]
        mixture = benchmark.Mixture(dims=dims, topics=options["topics"], seed=options["seed"])
        space, fill = benchmark.fill_scratch(
            rows,
            dims,
            mixture,
            maintenance_work_mem=options["maintenance_work_mem"],
            log=self.log,
        )
        timings.update(fill)
        queries = mixture.queries(max(options["queries"], options["recall_queries"]))
        literals = [benchmark.vector_literal(q) for q in queries]
        started = time.perf_counter()
        exact = benchmark.exact_neighbours(space, literals[: options["recall_queries"]])
        timings["exact_search_s_per_query"] = round(
            (time.perf_counter() - started) / max(1, len(exact)), 3
        )
        self.log(
            f"exact top-10 for {len(exact)} queries: {timings['exact_search_s_per_query']} s each"
        )
        out = []
        for latency in benchmark.bench_dense_sql(
            space, literals[: options["queries"]], exact, ef_values
        ):
            row = latency.as_dict()
            self.log(str(row))
            out.append(row)
        out += self.scratch_engine(space, options["queries"])
        return out

    def scratch_engine(self, space, count: int) -> list[dict]:
        """The engine's dense path ("more like this" of stored scratch items) at this size."""
        try:
            from search.engine import SearchError, SearchRequest
        except ImportError:
            return []
        ids = list(
            ItemEmbedding.objects.filter(space=space)
            .order_by("item_id")
            .values_list("item_id", flat=True)[: count * 50 : 50]
        )
        requests = [
            SearchRequest(item_id=pk, mode="dense", k=10, space=space.name, exclude_ids=(pk,))
            for pk in ids
        ]
        try:
            row = benchmark.bench_engine(
                requests, f"engine dense, more like this, {space.name}"
            ).as_dict()
        except SearchError as exc:
            self.log(f"engine dense on the scratch space not measured: {exc}")
            return []
        self.log(str(row))
        return [row]

    # -- output ------------------------------------------------------------------------------

    def print_table(self, report: dict) -> None:
        write = self.stdout.write
        write(f"machine: {report['machine']}")
        if "scratch" in report:
            write(f"scratch bank: {report['scratch']['rows']:,} × {report['scratch']['dims']}")
            for key, value in report["timings"].items():
                write(f"  {key}: {value}")
        write(f"{'what':<62} {'n':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'QPS':>7} {'R@10':>6}")
        for row in report["latency"]:
            recall = "" if row["recall@10"] is None else f"{row['recall@10']:.3f}"
            write(
                f"{row['label']:<62} {row['n']:>5} {row['p50_ms']:>8.2f} {row['p95_ms']:>8.2f}"
                f" {row['p99_ms']:>8.2f} {row['qps'] or 0:>7.1f} {recall:>6}"
            )
        for row in report["latency"]:
            if "plan" in row:
                write(f"plan at ef_search {row['ef_search']}: {row['plan']}")
                write(f"  unpinned it would be: {row['unpinned_plan']}")
        if "quality" in report:
            write(f"quality on planted families ({report['quality']['ground_truth']}):")
            write(f"{'mode':<14} {'queries':>7} {'R@5':>6} {'R@10':>6} {'MRR':>6} {'dup@1':>12}")
            for label, q in report["quality"]["modes"].items():
                write(
                    f"{label:<14} {q['queries']:>7} {q['recall@5']:>6.3f} {q['recall@10']:>6.3f}"
                    f" {q['mrr']:>6.3f} {q['duplicate_at_1']:>6.3f} ({q['duplicate_queries']})"
                )


def machine() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, PostgreSQL {server}, pgvector {row[0] if row else '?'}, "
        f"load average {load}"
    )
