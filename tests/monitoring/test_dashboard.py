"""GET /ops/: admins only; coverage per space, queues and workers, failures with reasons,
search latency percentiles and disk use, from the real database."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django_celery_results.models import TaskResult

from itembank.celery import app
from tests.embeddings.worker import broker
from tests.monitoring.base import CLOSED_BROKER, EN, MonitoringTestCase, add_timings


class DashboardTests(MonitoringTestCase):
    url = reverse("ops-dashboard")

    def test_admins_only(self) -> None:
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("login"), response["Location"])
        for user in (self.teacher, self.reviewer):
            self.login(user)
            self.assertEqual(self.client.get(self.url).status_code, 403)
        self.login(self.admin)
        self.assertEqual(self.client.get(self.url).status_code, 200)

    def test_nav_links_to_it_for_admins_only(self) -> None:
        self.login(self.teacher)
        self.assertNotContains(self.client.get(reverse("item-list")), f'href="{self.url}"')
        self.login(self.admin)
        self.assertContains(self.client.get(reverse("item-list")), f'href="{self.url}"')

    def test_coverage_of_each_space(self) -> None:
        self.login(self.admin)
        response = self.client.get(self.url, **EN)
        (space,) = response.context["snap"].spaces
        self.assertEqual(
            (space.total, space.embedded, space.stale, space.failed, space.missing),
            (5, 2, 1, 1, 1),
        )
        self.assertContains(response, "40.0%")  # 2 of 5 embedded
        self.assertContains(response, "hash16")
        self.assertEqual(response.context["snap"].items, {"draft": 1, "active": 4, "retired": 0})

    def test_search_latency_percentiles(self) -> None:
        # 10, 20, ..., 200 ms in the last hour: percentile_cont(0.95) = 10 + 0.95·190 = 190.5
        add_timings([10 * i for i in range(1, 21)], mode="hybrid")
        add_timings([5000], mode="dense", ago=timedelta(hours=3))  # in the day, not the hour
        add_timings([1], mode="bm25", ok=False)  # counted as an error, not in the percentiles
        self.login(self.admin)
        response = self.client.get(self.url, **EN)
        hour, day = response.context["snap"].latency
        self.assertEqual((hour.overall.count, hour.overall.errors), (21, 1))
        self.assertAlmostEqual(hour.overall.p95, 190.5)
        self.assertEqual(day.overall.count, 22)
        self.assertEqual({r.group: r.count for r in hour.by_mode}, {"hybrid": 20, "bm25": 1})
        self.assertIsNone(next(r for r in hour.by_mode if r.group == "bm25").p95)
        self.assertContains(response, "190.5")
        self.assertContains(response, "4.8%")  # 1 error in 21 searches
        self.assertContains(response, "Mode hybrid")

    def test_failures_with_reasons(self) -> None:
        TaskResult.objects.create(
            task_id="f00d",
            task_name="embeddings.tasks.embed_items_task",
            status="FAILURE",
            result='{"exc_type": "RuntimeError", "exc_message": ["CUDA out of memory"]}',
        )
        TaskResult.objects.create(task_id="ok", task_name="x", status="SUCCESS", result="1")
        self.login(self.admin)
        response = self.client.get(self.url, **EN)
        failures = response.context["snap"].failures
        self.assertEqual((failures.embedding_total, failures.tasks_total), (1, 1))
        self.assertContains(response, "image cannot be decoded")
        self.assertContains(response, "RuntimeError: CUDA out of memory")
        self.assertContains(
            response,
            reverse(
                "admin:embeddings_embeddingfailure_change", args=[failures.embedding_recent[0].pk]
            ),
        )

    def test_disk_use(self) -> None:
        self.login(self.admin)
        response = self.client.get(self.url, **EN)
        rows = {(d.relation, d.kind): d for d in response.context["snap"].disk}
        index = rows[(self.space.index_name, "index")]
        self.assertEqual(index.space, "hash16")
        self.assertGreater(index.bytes, 0)
        self.assertGreater(rows[("embeddings_itemembedding", "total")].bytes, index.bytes - 1)
        self.assertGreater(rows[("database", "total")].bytes, 0)
        self.assertContains(response, "HNSW index of hash16")

    def test_queues_and_broker_down(self) -> None:
        self.login(self.admin)
        with broker(CLOSED_BROKER):
            response = self.client.get(self.url, **EN)
        self.assertEqual(response.status_code, 200)
        self.assertFalse(response.context["snap"].heartbeat.reachable)
        self.assertEqual(response.context["snap"].queues, {"gpu": None, "default": None})
        self.assertContains(response, 'id="ops-broker-down"')
        self.assertContains(response, "Broker unreachable")

    def test_queue_depths(self) -> None:
        import redis

        client = redis.Redis.from_url(app.conf.broker_url)
        client.delete("gpu", "default")
        self.addCleanup(client.delete, "gpu", "default")
        client.lpush("default", "a", "b", "c")
        self.login(self.admin)
        response = self.client.get(self.url, **EN)
        self.assertEqual(response.context["snap"].queues["default"], 3)
        self.assertTrue(response.context["snap"].heartbeat.reachable)
        self.assertContains(response, "No worker answers")

    def test_htmx_refresh_gets_the_body_only(self) -> None:
        self.login(self.admin)
        page = self.client.get(self.url)
        self.assertContains(page, 'hx-trigger="every 30s"')
        self.assertContains(page, "css/monitoring.css")
        part = self.client.get(self.url, HTTP_HX_REQUEST="true")
        self.assertContains(part, 'id="ops-body"')
        self.assertNotContains(part, "<html")

    def test_korean_by_default(self) -> None:
        self.login(self.admin)
        response = self.client.get(self.url)
        self.assertContains(response, "운영 현황")
