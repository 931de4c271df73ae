"""`seed_scale`: a large bank from the demo templates — valid, deterministic, distinct, bounded
figures — written, embedded into the default space and tokenised, and resumable."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from io import StringIO

from django.core.management import call_command
from django.test import SimpleTestCase, TestCase, override_settings

from benchmarks import scale
from embeddings.models import EmbeddingSpace, ItemEmbedding
from embeddings.services import default_space
from itembank.demo import figures
from itembank.demo.generator import signature, subject_quotas
from itembank.models import Item, ItemImage, ItemRevision, ItemType
from search.models import ItemKeywords


def draft_signature(fields: dict) -> str:
    from itembank.demo.base import Draft

    return signature(Draft("", "", 1, "", "", fields["stem"], choices=tuple(fields["choices"])))


class PlanTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.bank = scale.plan(3000, seed=5, figure_pool=40)

    def test_same_seed_same_bank_other_seed_other_bank(self) -> None:
        again = scale.plan(3000, seed=5, figure_pool=40)
        self.assertEqual([i.fields for i in again.items], [i.fields for i in self.bank.items])
        self.assertEqual([i.figure for i in again.items], [i.figure for i in self.bank.items])
        other = scale.plan(3000, seed=6, figure_pool=40)
        self.assertNotEqual([i.fields for i in other.items], [i.fields for i in self.bank.items])

    def test_size_subjects_and_ids(self) -> None:
        items = self.bank.items
        self.assertEqual(len(items), 3000)
        self.assertEqual(Counter(i.fields["subject"] for i in items), Counter(subject_quotas(3000)))
        ids = [i.fields["external_id"] for i in items]
        self.assertEqual(len(set(ids)), 3000)
        self.assertTrue(all(x.startswith(scale.PREFIX) for x in ids))

    def test_items_are_valid(self) -> None:
        for entry in self.bank.items[::15]:
            with self.subTest(id=entry.fields["external_id"]):
                Item(**entry.fields).full_clean(validate_unique=False, validate_constraints=False)

    def test_questions_are_distinct_apart_from_retyped_copies(self) -> None:
        kinds = self.bank.kinds
        self.assertEqual(sum(kinds.values()), 3000)
        # At this size the text subjects' templates already repeat: set items fill the gap.
        self.assertGreater(kinds["set"], 0)
        self.assertGreater(kinds["retyped"], 0)
        self.assertGreater(kinds["single"], kinds["retyped"])
        distinct = [i for i in self.bank.items if i.kind in ("single", "set")]
        signatures = [draft_signature(i.fields) for i in distinct]
        self.assertEqual(len(set(signatures)), len(signatures))

    def test_set_items(self) -> None:
        sets = [i for i in self.bank.items if i.kind == "set"]
        for entry in sets[:50]:
            stem = entry.fields["stem"]
            self.assertTrue(stem.startswith("다음 물음에 답하시오.\n(1) "), stem)
            self.assertIn("\n(2) ", stem)
            self.assertEqual(entry.fields["item_type"], ItemType.SHORT_ANSWER)
            self.assertEqual(entry.fields["choices"], [])
            self.assertTrue(entry.fields["answer"].startswith("(1) "))

    def test_figure_pool_is_bounded(self) -> None:
        with_figure = [i for i in self.bank.items if i.figure]
        self.assertGreater(len(with_figure), 100)
        # Full pool: new drawings only for a kind the pool has none of yet.
        self.assertLessEqual(len(self.bank.figure_specs), 40 + len(figures.DRAWERS))
        self.assertTrue(all(i.figure[0] in self.bank.figure_specs for i in with_figure))


class SeedScaleCommandTests(TestCase):
    def setUp(self) -> None:
        super().setUp()
        media = tempfile.mkdtemp(prefix="itembank-scale-media-")
        self.addCleanup(shutil.rmtree, media, True)
        override = override_settings(MEDIA_ROOT=media)
        override.enable()
        self.addCleanup(override.disable)

    def seed(self) -> str:
        out = StringIO()
        call_command("seed_scale", "--items", "50", "--embed", "--chunk", "20", stdout=out)
        return out.getvalue()

    def assert_complete(self) -> EmbeddingSpace:
        items = Item.objects.filter(external_id__startswith=scale.PREFIX)
        self.assertEqual(items.count(), 50)
        space = default_space()
        self.assertIsNotNone(space)
        self.assertEqual((space.name, space.backend), ("offline-default", "default"))
        current = ItemEmbedding.objects.filter(space=space)
        self.assertEqual(current.count(), 50)
        for item in items:
            vector = current.get(item=item)
            self.assertEqual(vector.content_hash, item.content_hash)
            keywords = ItemKeywords.objects.get(item=item)
            self.assertEqual(keywords.content_hash, item.content_hash)
            self.assertTrue(keywords.tokens)
        self.assertTrue(ItemImage.objects.filter(item__in=items).exists())
        return space

    def test_builds_items_vectors_and_keywords_and_a_rerun_does_nothing(self) -> None:
        output = self.seed()
        self.assertIn("Items: 50 created, 0 chunks already there", output)
        self.assertIn("Vectors: 50 written of 50 missing, 0 failed", output)
        self.assertIn("BM25 tokens: 50 items tokenised", output)
        self.assert_complete()
        revisions = ItemRevision.objects.count()
        self.assertEqual(revisions, 50)
        stamps = dict(ItemEmbedding.objects.values_list("item_id", "updated_at"))

        output = self.seed()
        self.assertIn("Items: 0 created, 3 chunks already there", output)
        self.assertIn("Vectors: 0 written of 0 missing", output)
        self.assertIn("BM25 tokens: 0 items tokenised", output)
        self.assert_complete()
        self.assertEqual(ItemRevision.objects.count(), revisions)
        self.assertEqual(dict(ItemEmbedding.objects.values_list("item_id", "updated_at")), stamps)

    def test_resumes_what_an_interrupted_run_left_out(self) -> None:
        self.seed()
        # In the order they were planned (and written): by the number ending the external ID.
        ids = sorted(
            Item.objects.values_list("external_id", flat=True), key=lambda x: x.rsplit("-", 1)[1]
        )
        Item.objects.filter(external_id__in=ids[-7:]).delete()  # the last chunk, partly
        ItemEmbedding.objects.filter(item__external_id__in=ids[:4]).delete()
        ItemKeywords.objects.filter(item__external_id__in=ids[10:13]).delete()

        output = self.seed()
        self.assertIn("Items: 7 created, 2 chunks already there", output)
        self.assertIn("Vectors: 11 written of 11 missing, 0 failed", output)
        self.assertIn("BM25 tokens: 10 items tokenised", output)
        self.assert_complete()
