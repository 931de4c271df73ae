"""GET /metrics: Prometheus text format (0.0.4) of the dashboard's figures; a bearer token or an
admin session."""

from __future__ import annotations

from django.test import override_settings
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from tests.embeddings.worker import broker
from tests.monitoring.base import CLOSED_BROKER, MonitoringTestCase, add_timings

TOKEN = "s3cret-scrape-token"


def samples(body: bytes) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a text exposition."""
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


class MetricsAuthTests(MonitoringTestCase):
    url = reverse("metrics")

    def test_anonymous_is_401(self) -> None:
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 401)
        self.assertIn("Bearer", response["WWW-Authenticate"])

    def test_non_admins_are_403(self) -> None:
        for user in (self.teacher, self.reviewer):
            self.login(user)
            self.assertEqual(self.client.get(self.url).status_code, 403)

    def test_admin_session(self) -> None:
        self.login(self.admin)
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")

    @override_settings(ITEMBANK_METRICS_TOKEN=TOKEN)
    def test_bearer_token(self) -> None:
        ok = self.client.get(self.url, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        self.assertEqual(ok.status_code, 200)
        wrong = self.client.get(self.url, HTTP_AUTHORIZATION=f"Bearer {TOKEN}x")
        self.assertEqual(wrong.status_code, 401)
        self.assertEqual(self.client.get(self.url, HTTP_AUTHORIZATION=TOKEN).status_code, 401)

    def test_no_token_configured_means_no_token_works(self) -> None:
        response = self.client.get(self.url, HTTP_AUTHORIZATION="Bearer ")
        self.assertEqual(response.status_code, 401)


class MetricsValuesTests(MonitoringTestCase):
    url = reverse("metrics")

    def setUp(self) -> None:
        super().setUp()
        self.login(self.admin)

    def test_figures(self) -> None:
        add_timings([10 * i for i in range(1, 21)])
        add_timings([3], ok=False)
        got = samples(self.client.get(self.url).content)
        self.assertEqual(got[("itembank_items", (("status", "active"),))], 4)
        self.assertEqual(got[("itembank_items", (("status", "draft"),))], 1)
        space = (("space", "hash16"),)
        for state, count in {"embedded": 2, "stale": 1, "failed": 1, "missing": 1}.items():
            self.assertEqual(got[("itembank_embeddings", (*space, ("state", state)))], count, state)
        hour = (("quantile", "0.95"), ("window", "1h"))
        self.assertAlmostEqual(got[("itembank_search_latency_ms", hour)], 190.5)
        self.assertEqual(got[("itembank_search_requests", (("window", "1h"),))], 21)
        self.assertEqual(got[("itembank_search_errors", (("window", "24h"),))], 1)
        self.assertEqual(got[("itembank_task_failures", (("source", "embedding"),))], 1)
        self.assertEqual(got[("itembank_broker_up", ())], 1)
        self.assertEqual(got[("itembank_workers_up", (("queue", "gpu"),))], 0)
        self.assertIn(("itembank_queue_depth", (("queue", "default"),)), got)
        index = (("kind", "index"), ("relation", self.space.index_name))
        self.assertGreater(got[("itembank_disk_bytes", index)], 0)
        self.assertGreater(
            got[("itembank_disk_bytes", (("kind", "total"), ("relation", "database")))], 0
        )

    def test_broker_down_still_answers(self) -> None:
        with broker(CLOSED_BROKER):
            got = samples(self.client.get(self.url).content)
        self.assertEqual(got[("itembank_broker_up", ())], 0)
        self.assertNotIn(("itembank_queue_depth", (("queue", "gpu"),)), got)
        self.assertEqual(got[("itembank_workers_up", (("queue", "default"),))], 0)

    def test_no_searches_means_no_percentiles(self) -> None:
        got = samples(self.client.get(self.url).content)
        self.assertEqual(got[("itembank_search_requests", (("window", "1h"),))], 0)
        self.assertFalse([key for key in got if key[0] == "itembank_search_latency_ms"])
