"""The load and stability client (`benchmarks.loadtest`, `load_test`) against a live server on the
test database: real logins, real searches, figures computed, failures counted."""

from __future__ import annotations

from random import Random

import numpy as np
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import LiveServerTestCase, SimpleTestCase

from benchmarks import loadtest
from itembank.models import Role
from search import keyword
from tests.base import PASSWORD, make_item, make_user, png_bytes
from tests.search.test_engine import embedded_space, make_bank


class PercentileTests(SimpleTestCase):
    def test_known_values(self) -> None:
        values = list(range(1, 101))  # 1..100
        self.assertEqual(loadtest.percentile(values, 50), 50.5)
        self.assertAlmostEqual(loadtest.percentile(values, 95), 95.05)
        self.assertAlmostEqual(loadtest.percentile(values, 99), 99.01)
        self.assertEqual(loadtest.percentile([7.0], 99), 7.0)
        self.assertTrue(np.isnan(loadtest.percentile([], 50)))

    def test_figures_count_errors_by_kind(self) -> None:
        samples = [
            loadtest.Sample("a", 0.0, 0.010),
            loadtest.Sample("a", 0.0, 0.020, "HTTP 500"),
            loadtest.Sample("b", 0.0, 0.030, "timeout"),
            loadtest.Sample("b", 0.0, 0.040, "HTTP 500"),
        ]
        f = loadtest.figures(samples, 2.0)
        self.assertEqual((f.requests, f.errors, f.error_rate), (4, 3, 0.75))
        self.assertEqual(f.error_kinds, {"HTTP 500": 2, "timeout": 1})
        self.assertEqual(f.throughput, 2.0)
        self.assertAlmostEqual(f.p50_ms, 25.0)


class UrlAndMixTests(SimpleTestCase):
    def test_only_loopback_http_is_allowed(self) -> None:
        for url in ("http://127.0.0.1:8000", "http://localhost:81/", "http://[::1]:8000"):
            loadtest.check_url(url)
        for url in (
            "http://10.0.0.5:8000",
            "http://192.168.1.20",
            "http://example.com",
            "https://127.0.0.1:8000",
            "ftp://127.0.0.1",
            "127.0.0.1:8000",
        ):
            with self.subTest(url=url), self.assertRaises(loadtest.NotLoopback):
                loadtest.check_url(url)

    def test_runs_refuse_other_hosts_before_connecting(self) -> None:
        with self.assertRaises(loadtest.NotLoopback):
            loadtest.run_load("http://203.0.113.9:80", username="u", password="p", requests=1)
        with self.assertRaises(loadtest.NotLoopback):
            loadtest.run_stability("http://203.0.113.9:80", username="u", password="p", count=1)

    def test_command_refuses_other_hosts(self) -> None:
        with self.assertRaisesMessage(CommandError, "http://192.168.1.5:8000"):
            call_command(
                "load_test", "--url", "http://192.168.1.5:8000", "--requests", "1",
                "--username", "u", "--password", "p",
            )  # fmt: skip

    def test_mix(self) -> None:
        self.assertEqual(
            loadtest.parse_mix("api_dense=3, item_page=1"), {"api_dense": 3.0, "item_page": 1.0}
        )
        for bad in ("nope=1", "api_dense=x", "api_dense=0", "api_dense=-1"):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                loadtest.parse_mix(bad)

    def test_stability_queries_are_all_different(self) -> None:
        corpus = loadtest.Corpus([(1, "다음 중 옳은 것은?"), (2, "$x^2-5x+6=0$의 두 근의 합은?")])
        next_query = loadtest.unique_queries(corpus, Random(1))
        queries = [next_query() for _ in range(300)]
        self.assertEqual(len(set(queries)), 300)
        self.assertTrue(all(q.strip() for q in queries))


class LiveLoadTests(LiveServerTestCase):
    """The client against Django's live server on the test database (hash64 test space)."""

    def setUp(self) -> None:
        super().setUp()
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        cache.clear()  # the token endpoint's per-address rate counters
        self.addCleanup(cache.clear)
        make_user("teacher", Role.TEACHER)
        items = make_bank()
        items.append(make_item("FIG-1", stem="그림의 도형", choices=[], images=[png_bytes()]))
        embedded_space(items)

    def run_load(self, **kwargs) -> loadtest.LoadReport:
        kwargs.setdefault("warmup", 0)
        return loadtest.run_load(
            self.live_server_url, username="teacher", password=PASSWORD, timeout=60, **kwargs
        )

    def test_load_run_computes_figures_with_no_errors(self) -> None:
        report = self.run_load(users=4, requests=40)
        overall = report.overall
        self.assertEqual(report.users, 4)
        self.assertEqual(report.login_errors, [])
        self.assertEqual(overall.requests, 40)
        self.assertEqual(overall.errors, 0, overall.error_kinds)
        self.assertTrue(0 < overall.p50_ms <= overall.p95_ms <= overall.p99_ms <= overall.max_ms)
        self.assertGreater(overall.throughput, 0)
        self.assertEqual(sum(f.requests for f in report.scenarios.values()), 40)
        self.assertLessEqual(set(report.scenarios), {*loadtest.SCENARIOS, "similar_panel"})
        data = report.as_dict()
        self.assertEqual(data["overall"]["requests"], 40)
        self.assertEqual(data["overall"]["error_rate"], 0)

    def test_every_scenario_answers(self) -> None:
        for name in loadtest.SCENARIOS:
            with self.subTest(scenario=name):
                report = self.run_load(users=2, requests=4, mix={name: 1})
                self.assertEqual(report.overall.requests, 4)
                self.assertEqual(report.overall.errors, 0, report.overall.error_kinds)
                self.assertIn(name, report.scenarios)
                server = report.scenarios[name].server_mean_ms
                if name in ("api_dense", "api_hybrid"):  # the API's own timings, averaged
                    self.assertTrue({"embed", "dense", "load", "engine"} <= set(server), server)
                    self.assertEqual("keyword" in server, name == "api_hybrid")
                else:
                    self.assertEqual(server, {})

    def test_wrong_password_stops_the_run(self) -> None:
        with self.assertRaises(loadtest.LoadTestError):
            loadtest.run_load(
                self.live_server_url, username="teacher", password="wrong", requests=1
            )

    def test_stability_counts_an_injected_failure(self) -> None:
        def payload(query: str, index: int) -> dict:
            # Request 7 asks for a mode that does not exist: the server answers 400.
            return {"text": query, "mode": "bogus" if index == 7 else "dense", "k": 5}

        lines: list[str] = []
        report = loadtest.run_stability(
            self.live_server_url,
            username="teacher",
            password=PASSWORD,
            count=20,
            payload=payload,
            progress_every=10,
            log=lines.append,
        )
        self.assertEqual(report.requests, 20)
        self.assertEqual(report.failed, 1)
        self.assertEqual(report.failures, {"HTTP 400": 1})
        self.assertEqual(report.latency.requests, 20)
        self.assertEqual(report.latency.errors, 1)
        self.assertEqual(len(lines), 2)  # progress after 10 and 20
        self.assertIn("20/20 requests, 1 failed", lines[-1])

    def test_stability_with_no_failure(self) -> None:
        report = loadtest.run_stability(
            self.live_server_url, username="teacher", password=PASSWORD, count=20
        )
        self.assertEqual((report.requests, report.failed), (20, 0))
        self.assertTrue(report.latency.p50_ms > 0)
        self.assertIn("embed", report.latency.server_mean_ms)
