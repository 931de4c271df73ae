"""Shared set-up of the duplicate review tests: a default space on the hashing test backend,
items whose vectors are known to be near (about 0.98) or far (below 0.3) apart, and scans run
in-process with explicit thresholds."""

from __future__ import annotations

from embeddings import pipeline
from itembank.models import Item, Subject
from search.duplicates import exact
from search.duplicates.models import DuplicateScan
from search.duplicates.scan import run_scan
from tests.base import BaseTestCase, make_item
from tests.embeddings.hashing_backend import make_space

THRESHOLD = 0.9
WORDS = {"수학": "수학어휘", "과학": "과학어휘", "국어": "국어어휘", "영어": "영어어휘"}


def words(prefix: str, n: int = 40) -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


def make_text_item(external_id: str, stem: str, subject: str = "수학", **fields) -> Item:
    fields.setdefault("item_type", "short_answer")
    fields.setdefault("choices", [])
    fields.setdefault("answer", "1")
    return make_item(external_id, subject=subject, stem=stem, **fields)


class DuplicatesTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.space = make_space("hash64", 64, make_default=True)

    def near(self, prefix: str, n: int, subject: str = "수학", family: str = "") -> list[Item]:
        """n items whose texts share 40 words and differ in one (similarity about 0.98)."""
        base = words(family or WORDS.get(subject, "어휘"))
        return [make_text_item(f"{prefix}-{i}", f"{base} 끝{i}", subject=subject) for i in range(n)]

    def far(self, external_id: str, family: str, subject: str = "수학") -> Item:
        return make_text_item(external_id, words(family), subject=subject)

    def embed(self) -> None:
        ids = list(Item.objects.values_list("pk", flat=True))
        result = pipeline.embed_items(self.space, ids)
        assert result.failed == 0, result.errors

    def scan(self, threshold: float = THRESHOLD, *, space=True, **per_subject) -> DuplicateScan:
        thresholds = {subject: threshold for subject in Subject.values}
        thresholds.update(per_subject)
        scan = DuplicateScan.objects.create(
            space=self.space if space else None,
            settings={
                "thresholds": thresholds,
                "default_threshold": threshold,
                "neighbours": 10,
                "phash_distance": exact.PHASH_DISTANCE,
                "space": self.space.name,
            },
        )
        scan = run_scan(scan.pk)
        self.assertEqual(scan.status, DuplicateScan.Status.SUCCEEDED, scan.error)
        return scan

    @staticmethod
    def pairs(scan: DuplicateScan) -> set[tuple[int, int]]:
        return set(scan.candidates.values_list("item_a", "item_b"))

    @staticmethod
    def pair(a: Item, b: Item) -> tuple[int, int]:
        return (min(a.pk, b.pk), max(a.pk, b.pk))
