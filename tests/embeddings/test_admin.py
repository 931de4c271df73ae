import redis
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from embeddings import dispatch, pipeline, services
from embeddings.models import EmbeddingFailure, EmbeddingSpace
from itembank.celery import app
from itembank.services import save_item
from tests.base import BaseTestCase, make_item
from tests.embeddings.hashing_backend import make_space, register


class SpaceAdminTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        register()
        dispatch.broker_pause_reset()
        self.redis = redis.Redis.from_url(app.conf.broker_url)
        self.redis.delete("gpu", "default")
        self.addCleanup(self.redis.delete, "gpu", "default")
        self.login(self.admin)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # assertions read English messages
        self.space = make_space(label="해시 16")
        self.items = [make_item(f"MATH-{i}", stem=f"수학 문항 {i}") for i in range(4)]
        self.items.append(make_item("KOR-1", subject="국어", stem="국어 문항"))
        pipeline.embed_items(self.space, [self.items[0].pk, self.items[1].pk, self.items[4].pk])
        self.items[1].stem = "고친 문항"
        save_item(self.items[1])
        pipeline.record_failures(
            self.space, {self.items[2].pk: (self.items[2].content_hash, "image cannot be decoded")}
        )
        self.changelist = reverse("admin:embeddings_embeddingspace_changelist")

    def action(self, name: str, *spaces: EmbeddingSpace, **extra):
        data = {"action": name, ACTION_CHECKBOX_NAME: [s.pk for s in spaces], **extra}
        return self.client.post(self.changelist, data, follow=True)

    def test_changelist_shows_coverage_and_queue_depths(self) -> None:
        self.redis.lpush("gpu", "x", "y")
        response = self.client.get(self.changelist)
        self.assertEqual(response.status_code, 200)
        row = response.context["cl"].result_list.get(pk=self.space.pk)
        self.assertEqual(
            (row.cov_embedded, row.cov_stale, row.cov_failed, row.cov_missing), (2, 1, 1, 1)
        )
        self.assertEqual(response.context["queue_depths"], {"gpu": 2, "default": 0})
        self.assertContains(response, 'id="embedding-queues"')

    def test_change_page_has_per_subject_coverage(self) -> None:
        url = reverse("admin:embeddings_embeddingspace_change", args=[self.space.pk])
        response = self.client.get(url)
        self.assertEqual(response.status_code, 200)
        rows = {row.subject: row for _, row in response.context["coverage_rows"]}
        self.assertEqual(
            (rows["수학"].embedded, rows["수학"].stale, rows["수학"].failed), (1, 1, 1)
        )
        self.assertEqual((rows["국어"].total, rows["국어"].embedded), (1, 1))
        self.assertEqual(response.context["index_state"], "valid")
        self.assertContains(response, 'id="embedding-coverage"')

    def test_add_space_through_the_admin_builds_its_index(self) -> None:
        url = reverse("admin:embeddings_embeddingspace_add")
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(
                url,
                {
                    "name": "added",
                    "backend": "test-hash",
                    "dimensions": 8,
                    "modalities": ["text"],
                    "dtype": "float32",
                    "device": "cpu",
                    "options": "{}",
                    "enabled": "on",
                },
            )
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
        space = EmbeddingSpace.objects.get(name="added")
        self.assertEqual(services.index_state(space), "valid")

    def test_embed_missing_action_enqueues(self) -> None:
        response = self.action("embed_missing", self.space)
        self.assertContains(response, "queued 1 task")
        self.assertEqual(self.redis.llen("gpu"), 1)

    def test_reembed_all_action_enqueues_every_item(self) -> None:
        self.space.options = {"batch_size": 2}
        self.space.save()
        response = self.action("reembed_all", self.space)
        self.assertContains(response, "queued 3 tasks")
        self.assertEqual(self.redis.llen("gpu"), 3)

    def test_make_default_enable_disable(self) -> None:
        other = make_space("other", enabled=False)
        self.action("make_default", other)
        other.refresh_from_db()
        self.assertTrue(other.is_default and other.enabled)
        self.action("disable", self.space)
        self.space.refresh_from_db()
        self.assertFalse(self.space.enabled)
        response = self.action("disable", other)
        self.assertContains(response, "cannot be disabled")
        self.action("enable", self.space)
        self.space.refresh_from_db()
        self.assertTrue(self.space.enabled)

    def test_drop_asks_for_confirmation(self) -> None:
        response = self.action("drop", self.space)
        self.assertContains(response, "Yes, drop them")
        self.assertTrue(EmbeddingSpace.objects.filter(pk=self.space.pk).exists())
        self.action("drop", self.space, post="yes")
        self.assertFalse(EmbeddingSpace.objects.filter(pk=self.space.pk).exists())
        self.assertEqual(services.index_state(self.space), "missing")

    def test_non_admins_are_kept_out(self) -> None:
        self.login(self.teacher)
        response = self.client.get(self.changelist)
        self.assertEqual(response.status_code, 302)


class FailureAdminTestCase(BaseTestCase):
    def test_failures_are_listed_filterable_and_retried(self) -> None:
        register()
        self.login(self.admin)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        space = make_space()
        other = make_space("other")
        a = make_item("A-1")
        b = make_item("B-1", subject="국어")
        pipeline.record_failures(space, {a.pk: (a.content_hash, "image cannot be decoded")})
        pipeline.record_failures(other, {b.pk: (b.content_hash, "out of memory")})
        url = reverse("admin:embeddings_embeddingfailure_changelist")
        response = self.client.get(url)
        self.assertContains(response, "image cannot be decoded")
        self.assertContains(response, "out of memory")
        response = self.client.get(url, {"space__id__exact": space.pk})
        self.assertContains(response, "image cannot be decoded")
        self.assertNotContains(response, "out of memory")
        client = redis.Redis.from_url(app.conf.broker_url)
        client.delete("gpu")
        self.addCleanup(client.delete, "gpu")
        ids = list(EmbeddingFailure.objects.values_list("pk", flat=True))
        response = self.client.post(
            url, {"action": "retry", ACTION_CHECKBOX_NAME: ids}, follow=True
        )
        self.assertContains(response, "Queued 2 tasks")
        self.assertEqual(client.llen("gpu"), 2)
