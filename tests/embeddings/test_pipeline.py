import io
import tempfile
from unittest import mock

from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from embeddings import pipeline
from embeddings.models import EmbeddingFailure, ItemEmbedding
from itembank.models import Item
from itembank.services import save_item
from tests.base import BaseTestCase, make_item, png_bytes
from tests.embeddings.hashing_backend import HashingBackend, make_space


class PipelineTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.space = make_space()

    def items(self, n: int, subject: str = "수학", prefix: str = "MATH") -> list[Item]:
        return [
            make_item(f"{prefix}-{i:06d}", subject=subject, stem=f"{prefix} 문항 {i} 번 {i * 13}")
            for i in range(n)
        ]

    def test_embeds_with_the_hash_it_was_computed_from(self) -> None:
        items = self.items(5)
        result = pipeline.embed_items(self.space, [i.pk for i in items], batch_size=2)
        self.assertEqual((result.embedded, result.failed, result.unchanged), (5, 0, 0))
        rows = {e.item_id: e for e in ItemEmbedding.objects.filter(space=self.space)}
        self.assertEqual(len(rows), 5)
        for item in items:
            row = rows[item.pk]
            self.assertEqual(row.content_hash, item.content_hash)
            self.assertEqual(row.model_revision, "hash-v1-16")
            self.assertEqual(len(row.embedding), 16)
            self.assertAlmostEqual(sum(x * x for x in row.embedding), 1.0, places=2)
        self.assertFalse(pipeline.stale_or_missing(self.space).exists())

    def test_upsert_is_idempotent(self) -> None:
        items = self.items(3)
        ids = [i.pk for i in items]
        pipeline.embed_items(self.space, ids)
        before = dict(ItemEmbedding.objects.values_list("item_id", "updated_at"))
        with mock.patch.object(HashingBackend, "embed", wraps=None) as embed:
            again = pipeline.embed_items(self.space, ids)
        embed.assert_not_called()  # nothing stale: no model call at all
        self.assertEqual((again.embedded, again.unchanged), (0, 3))
        forced = pipeline.embed_items(self.space, ids, force=True)
        self.assertEqual((forced.embedded, forced.unchanged), (0, 3))  # same hash and revision
        self.assertEqual(dict(ItemEmbedding.objects.values_list("item_id", "updated_at")), before)

    def test_stale_after_edit_and_reembedded(self) -> None:
        item, other = self.items(2)
        pipeline.embed_items(self.space, [item.pk, other.pk])
        old = ItemEmbedding.objects.get(item=item).embedding
        item.answer = "1"  # not what the model sees: stays current
        save_item(item)
        self.assertFalse(pipeline.stale_or_missing(self.space).exists())
        item.stem = "완전히 다른 문제입니다 $x^2$"
        save_item(item)
        self.assertEqual(list(pipeline.stale_or_missing(self.space)), [item])
        self.assertEqual(list(pipeline.stale(self.space)), [item])
        self.assertEqual(pipeline.coverage_total(self.space).stale, 1)
        result = pipeline.embed_items(self.space, [item.pk, other.pk])
        self.assertEqual((result.embedded, result.unchanged), (1, 1))
        item.refresh_from_db()
        row = ItemEmbedding.objects.get(item=item)
        self.assertEqual(row.content_hash, item.content_hash)
        self.assertNotEqual(row.embedding, old)

    def test_item_edited_while_embedding_stays_stale(self) -> None:
        (item,) = self.items(1)
        computed_from = item.content_hash
        original = HashingBackend.embed

        def embed_then_edit(backend, inputs, batch_size=16):
            out = original(backend, inputs, batch_size)
            edited = Item.objects.get(pk=item.pk)
            edited.stem = "임베딩 중에 고친 문항"
            save_item(edited)
            return out

        with mock.patch.object(HashingBackend, "embed", embed_then_edit):
            pipeline.embed_items(self.space, [item.pk])
        item.refresh_from_db()
        self.assertEqual(ItemEmbedding.objects.get(item=item).content_hash, computed_from)
        self.assertNotEqual(item.content_hash, computed_from)
        self.assertEqual(list(pipeline.stale_or_missing(self.space)), [item])

    def test_failures_recorded_per_item_and_cleared(self) -> None:
        items = self.items(4)
        bad = items[1]
        bad.stem = "문항 고장"
        save_item(bad)
        space = make_space("picky", options={"fail_text": "고장"})
        result = pipeline.embed_items(space, [i.pk for i in items], batch_size=4)
        self.assertEqual((result.embedded, result.failed), (3, 1))
        failure = EmbeddingFailure.objects.get(space=space)
        self.assertEqual(failure.item_id, bad.pk)
        self.assertIn("ValueError: cannot embed text containing '고장'", failure.error)
        self.assertEqual(failure.attempts, 1)
        pipeline.embed_items(space, [bad.pk])
        failure.refresh_from_db()
        self.assertEqual(failure.attempts, 2)
        cov = pipeline.coverage_total(space)
        self.assertEqual((cov.embedded, cov.failed, cov.missing), (3, 1, 0))
        # Fixed by an edit: embeds, and the failure is gone.
        bad.refresh_from_db()
        bad.stem = "문항 고침"
        save_item(bad)
        result = pipeline.embed_items(space, [bad.pk])
        self.assertEqual(result.embedded, 1)
        self.assertFalse(EmbeddingFailure.objects.exists())

    def test_empty_item_fails_with_reason(self) -> None:
        (item,) = self.items(1)
        Item.objects.filter(pk=item.pk).update(stem="  ", choices=[])
        result = pipeline.embed_items(self.space, [item.pk])
        self.assertEqual(result.failed, 1)
        self.assertIn("empty item", EmbeddingFailure.objects.get().error)

    def test_undecodable_image_fails_only_that_item(self) -> None:
        with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media):
            good = make_item("IMG-1", images=[png_bytes("red")])
            broken = make_item("IMG-2", images=[png_bytes("blue")])
            path = broken.images.get().file.path
            with open(path, "wb") as fh:
                fh.write(b"\x89PNG\r\n\x1a\n this is not a picture")
            space = make_space("multi", modalities=["text", "image"])
            result = pipeline.embed_items(space, [good.pk, broken.pk])
        self.assertEqual((result.embedded, result.failed), (1, 1))
        failure = EmbeddingFailure.objects.get()
        self.assertEqual(failure.item, broken)
        self.assertIn("image cannot be decoded", failure.error)

    def test_backend_that_cannot_load_fails_the_batch(self) -> None:
        items = self.items(3)
        space = make_space("broken", options={"fail_load": True}, model_path="/models/missing")
        result = pipeline.embed_items(space, [i.pk for i in items])
        self.assertEqual((result.embedded, result.failed), (0, 3))
        errors = set(EmbeddingFailure.objects.values_list("error", flat=True))
        self.assertEqual(
            errors,
            {"model could not be loaded: BackendError: model weights not found in /models/missing"},
        )
        self.assertEqual(pipeline.coverage_total(space).failed, 3)

    def test_out_of_memory_halves_the_batch(self) -> None:
        items = self.items(5)
        space = make_space("small-gpu", options={"oom": True})
        result = pipeline.embed_items(space, [i.pk for i in items], batch_size=5)
        self.assertEqual((result.embedded, result.failed), (5, 0))

    def test_wrong_dimension_fails_the_batch(self) -> None:
        items = self.items(2)
        space = make_space("mismatch", dimensions=8)
        with mock.patch.object(
            HashingBackend,
            "embed",
            lambda self, inputs, batch_size=16: __import__("numpy").ones(
                (len(inputs), 4), dtype="float32"
            ),
        ):
            result = pipeline.embed_items(space, [i.pk for i in items])
        self.assertEqual(result.failed, 2)
        self.assertIn("space stores 8 dimensions", EmbeddingFailure.objects.first().error)
        self.assertFalse(ItemEmbedding.objects.exists())

    def test_sweep_selection_backs_off_failed_items(self) -> None:
        (item,) = self.items(1)
        space = make_space("picky", options={"fail_text": "MATH"})
        pipeline.embed_items(space, [item.pk])
        self.assertEqual(list(pipeline.stale_or_missing(space)), [item])
        self.assertFalse(pipeline.stale_or_missing(space, retry_failed=False).exists())
        EmbeddingFailure.objects.update(last_failed_at="2000-01-01T00:00Z")
        self.assertTrue(pipeline.stale_or_missing(space, retry_failed=False).exists())
        EmbeddingFailure.objects.update(attempts=pipeline.MAX_ATTEMPTS)
        self.assertFalse(pipeline.stale_or_missing(space, retry_failed=False).exists())

    def test_coverage_per_subject(self) -> None:
        math = self.items(4)
        korean = self.items(3, subject="국어", prefix="KOR")
        pipeline.embed_items(self.space, [math[0].pk, math[1].pk, math[2].pk, korean[0].pk])
        math[1].stem = "고친 문항"
        save_item(math[1])
        space_fail = self.space
        pipeline.record_failures(space_fail, {korean[1].pk: (korean[1].content_hash, "boom")})
        rows = {c.subject: c for c in pipeline.coverage(self.space)}
        self.assertEqual(
            (
                rows["수학"].total,
                rows["수학"].embedded,
                rows["수학"].stale,
                rows["수학"].failed,
                rows["수학"].missing,
            ),
            (4, 2, 1, 0, 1),
        )
        self.assertEqual(
            (
                rows["국어"].total,
                rows["국어"].embedded,
                rows["국어"].stale,
                rows["국어"].failed,
                rows["국어"].missing,
            ),
            (3, 1, 0, 1, 1),
        )
        total = pipeline.coverage_total(self.space)
        self.assertEqual(
            (total.total, total.embedded, total.stale, total.failed, total.missing), (7, 3, 1, 1, 2)
        )
        # Another space sees none of it.
        other = make_space("other")
        self.assertEqual(pipeline.coverage_total(other).missing, 7)


class EmbedItemsCommandTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.space = make_space()

    def run_command(self, *args: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        with translation.override("en"):
            call_command("embed_items", "--space", self.space.name, *args, stdout=out, stderr=err)
        return out.getvalue() + err.getvalue()

    def test_embeds_filters_and_resumes(self) -> None:
        math = [make_item(f"MATH-{i}", stem=f"수학 {i}") for i in range(5)]
        kor = [make_item(f"KOR-{i}", subject="국어", stem=f"국어 {i}") for i in range(3)]
        output = self.run_command("--subject", "국어", "--batch-size", "2")
        self.assertIn("items/s", output)
        self.assertIn("3/3", output)
        self.assertEqual(ItemEmbedding.objects.count(), 3)
        # "Interrupted" after two math items: the rerun does only the rest.
        pipeline.embed_items(self.space, [math[0].pk, math[1].pk])
        with mock.patch.object(pipeline, "embed_items", wraps=pipeline.embed_items) as spy:
            output = self.run_command("--batch-size", "2")
        done = [pk for call in spy.call_args_list for pk in call.args[1]]
        self.assertEqual(sorted(done), sorted(i.pk for i in math[2:]))
        self.assertIn("Embedded 3", output)
        self.assertEqual(ItemEmbedding.objects.count(), 8)
        self.assertIn("Nothing to do", self.run_command())
        # --stale-only re-embeds edited items only.
        kor[0].stem = "고친 국어 문항"
        save_item(kor[0])
        Item.objects.filter(pk=math[0].pk).delete()
        make_item("NEW-1", stem="새 문항")
        output = self.run_command("--stale-only")
        self.assertIn("Embedded 1", output)
        self.assertEqual(
            list(pipeline.stale_or_missing(self.space).values_list("external_id", flat=True)),
            ["NEW-1"],
        )

    def test_status_filter_and_unknown_space(self) -> None:
        make_item("A-1")
        make_item("A-2", status="retired")
        self.run_command("--status", "retired")
        self.assertEqual(
            list(ItemEmbedding.objects.values_list("item__external_id", flat=True)), ["A-2"]
        )
        from django.core.management.base import CommandError

        with self.assertRaises(CommandError):
            call_command("embed_items", "--space", "nope", stdout=io.StringIO())
