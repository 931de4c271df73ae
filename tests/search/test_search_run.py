"""`search_run`: batch "more like this" runs written in the run format of formats.md."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import torch
from django.core.management import CommandError, call_command
from django.utils import translation

from embeddings.pipeline import embed_items
from embeddings.services import register_space
from search import keyword, runs
from search.engine import MODES
from tests.base import BaseTestCase, make_item

torch.set_num_threads(1)

BANK = {
    "MATH-RUN-0001": (
        "수학",
        "한 변의 길이가 8 cm인 정사각형의 넓이는 몇 $\\mathrm{cm}^2$입니까?",
        ["$16$", "$32$", "$48$", "$64$"],
    ),
    "MATH-RUN-0002": (  # a re-typed duplicate of 0001
        "수학",
        "한 변의 길이가 8cm 인 정사각형의 넓이는 몇 $\\mathrm{cm}^{2}$ 인가요?",
        ["16", "32", "48", "64"],
    ),
    "MATH-RUN-0003": (
        "수학",
        "삼각형의 세 내각의 크기의 합은 몇 도입니까?",
        ["$90^\\circ$", "$180^\\circ$", "$270^\\circ$", "$360^\\circ$"],
    ),
    "SCI-RUN-0001": ("과학", "광합성에 필요한 물질로 옳은 것을 모두 고른 것은?", ["물", "산소"]),
    "SCI-RUN-0002": (
        "과학",
        "식물이 광합성을 할 때 필요한 물질을 모두 고르시오.",
        ["물", "이산화 탄소", "산소"],
    ),
    "HIST-RUN-0001": (
        "한국사",
        "1919년에 일어난 민족 운동으로, 대한민국 임시 정부 수립의 계기가 된 것은?",
        ["3·1 운동", "6·10 만세 운동", "광주 학생 항일 운동"],
    ),
}


class SearchRunTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.items = {
            ext: make_item(ext, subject=subject, stem=stem, choices=choices, school_level="")
            for ext, (subject, stem, choices) in BANK.items()
        }
        cls.space = register_space("run-offline", "default", make_default=True)
        result = embed_items(cls.space, [item.pk for item in cls.items.values()])
        assert result.embedded == len(BANK), result
        keyword.refresh()  # stored at class level, so no test rolls the tokens back

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()
        keyword.reset_index()

    def setUp(self) -> None:
        super().setUp()
        keyword.reset_index()
        self.tmp = Path(tempfile.mkdtemp(prefix="search-run-"))

    def queries(self, *lines: str) -> str:
        path = self.tmp / "queries.txt"
        path.write_text("\n".join(lines) + "\n", "utf-8")
        return str(path)

    def run_command(self, queries: str, *args: str) -> tuple[dict, str]:
        output = self.tmp / "run.json"
        output.unlink(missing_ok=True)
        err = io.StringIO()
        with translation.override("en"):
            call_command(
                "search_run", "--queries", queries, "--output", str(output), *args, stderr=err
            )
        return json.loads(output.read_text("utf-8")), err.getvalue()

    def assert_run_shape(self, run: dict, queries: list[str], k: int) -> None:
        self.assertEqual(set(run), {"run", "results"})
        self.assertEqual(list(run["results"]), queries)
        for qid, results in run["results"].items():
            self.assertNotIn(qid, results)  # the query itself is never a result
            self.assertLessEqual(len(results), k)
            self.assertTrue(set(results) <= set(BANK))
            pairs = list(results.items())
            # strictly ordered: score descending, ties by external id ascending
            self.assertEqual(pairs, sorted(pairs, key=lambda p: (-p[1], p[0])))

    def test_every_mode(self) -> None:
        qids = ["MATH-RUN-0001", "SCI-RUN-0001", "HIST-RUN-0001"]
        for mode in MODES:
            with self.subTest(mode=mode):
                args = ["--mode", mode, "--k", "3"]
                if mode == "hybrid":
                    args += ["--alpha", "0.7"]
                run, err = self.run_command(self.queries(*qids), *args)
                self.assertEqual(
                    run["run"],
                    {
                        "space": "run-offline",
                        "mode": mode,
                        "alpha": 0.7 if mode == "hybrid" else None,
                        "k": 3,
                        "rerank": False,
                    },
                )
                self.assert_run_shape(run, qids, 3)
                # items with a sibling in the bank always find something (HIST shares no word)
                self.assertTrue(run["results"]["MATH-RUN-0001"])
                self.assertEqual(next(iter(run["results"]["SCI-RUN-0001"])), "SCI-RUN-0002")
                self.assertIn("Wrote 3 queries", err)
                if mode != "bm25":
                    # the re-typed duplicate is found first by every mode that uses vectors
                    self.assertEqual(next(iter(run["results"]["MATH-RUN-0001"])), "MATH-RUN-0002")

    def test_all_queries_and_self_exclusion(self) -> None:
        run, _err = self.run_command("all", "--mode", "dense", "--k", "10")
        self.assert_run_shape(run, sorted(BANK), 10)
        for qid, results in run["results"].items():
            self.assertEqual(len(results), len(BANK) - 1, qid)  # everyone but the query
        again, _err = self.run_command(self.queries("# every item", "all"), "--mode", "dense")
        self.assertEqual(again["results"], run["results"])

    def test_deterministic(self) -> None:
        first, _ = self.run_command("all", "--mode", "hybrid", "--k", "4")
        second, _ = self.run_command("all", "--mode", "hybrid", "--k", "4")
        self.assertEqual(json.dumps(first), json.dumps(second))

    def test_unknown_ids_are_reported_and_skipped(self) -> None:
        path = self.queries("NOPE-1", "MATH-RUN-0003", "NOPE-2", "MATH-RUN-0003", "")
        run, err = self.run_command(path, "--mode", "bm25", "--k", "2")
        self.assertEqual(list(run["results"]), ["MATH-RUN-0003"])
        self.assertIn("2 unknown external ids skipped, e.g. NOPE-1, NOPE-2", err)

    def test_nothing_left_fails_and_writes_nothing(self) -> None:
        output = self.tmp / "run.json"
        with translation.override("en"), self.assertRaisesMessage(CommandError, "No query"):
            call_command(
                "search_run",
                "--queries",
                self.queries("NOPE-1"),
                "--output",
                str(output),
                stderr=io.StringIO(),
            )
        self.assertFalse(output.exists())

    def test_bad_arguments(self) -> None:
        cases = [
            (["--mode", "fuzzy"], "Unknown search mode fuzzy"),
            (["--k", "0"], "k must be at least 1"),
            (["--mode", "hybrid", "--alpha", "1.5"], "alpha must be between 0 and 1"),
            (["--space", "nowhere"], "no embedding space named nowhere"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                with translation.override("en"), self.assertRaisesMessage(CommandError, message):
                    self.run_command("all", *args)
                self.assertFalse((self.tmp / "run.json").exists())
        with translation.override("en"), self.assertRaisesMessage(CommandError, "does not exist"):
            self.run_command(str(self.tmp / "missing.txt"))
        with translation.override("en"), self.assertRaisesMessage(CommandError, "no external ids"):
            self.run_command(self.queries("", "# nothing"))

    def test_stdout_output(self) -> None:
        out = io.StringIO()
        call_command(
            "search_run",
            "--queries",
            self.queries("SCI-RUN-0001"),
            "--output",
            "-",
            "--k",
            "1",
            stdout=out,
            stderr=io.StringIO(),
        )
        run = json.loads(out.getvalue())
        self.assertEqual(list(run["results"]["SCI-RUN-0001"]), ["SCI-RUN-0002"])


class RankOrderTests(BaseTestCase):
    def test_ties_by_external_id(self) -> None:
        scores = {"B": 0.5, "A": 0.5, "C": 0.9, "D": 0.1}
        self.assertEqual(runs.rank_order(scores), [("C", 0.9), ("A", 0.5), ("B", 0.5), ("D", 0.1)])
