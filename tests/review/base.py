"""A small bank with vectors in a test space, a ground-truth set over it, and campaigns."""

from __future__ import annotations

from embeddings import pipeline
from itembank.models import Item, Role
from search import keyword
from search.evaluation.models import GroundTruthPair, GroundTruthSet
from search.review import sampling
from search.review.models import Campaign
from tests.base import BaseTestCase, make_item, make_user
from tests.embeddings.hashing_backend import make_space

STEMS = [
    "이차방정식 $x^2-5x+6=0$ 의 두 근의 합을 구하시오.",
    "이차방정식 $x^2-7x+12=0$ 의 두 근의 합을 구하시오.",
    "이차방정식 $x^2-9x+20=0$ 의 두 근의 곱을 구하시오.",
    "삼각형 ABC 에서 각 A 의 크기가 60도 일 때 변 BC 의 길이를 구하시오.",
    "삼각형 DEF 에서 각 D 의 크기가 30도 일 때 변 EF 의 길이를 구하시오.",
    "광합성이 일어나는 세포 소기관은 무엇인가?",
    "식물의 광합성에 필요한 물질로 옳은 것은?",
    "다음 중 계산 결과가 가장 큰 것은? $37+25$",
    "다음 중 계산 결과가 가장 작은 것은? $52-17$",
    "분수 $\\frac{3}{4}+\\frac{1}{4}$ 의 값은?",
]

# query index -> relevant indexes: some the search finds, some it cannot
GT = {0: [1, 2, 9], 3: [4, 7], 5: [6, 8], 7: [8, 3]}


def make_bank(stems=STEMS) -> list[Item]:
    return [
        make_item(f"R-{i:04d}", stem=stem, choices=[], unit=f"단원 {i % 3}")
        for i, stem in enumerate(stems)
    ]


def make_gt(items: list[Item], name: str = "gt-test", pairs=GT) -> GroundTruthSet:
    gt_set = GroundTruthSet.objects.create(name=name, kind=GroundTruthSet.Kind.OTHER)
    GroundTruthPair.objects.bulk_create(
        GroundTruthPair(gt_set=gt_set, query=items[q], relevant=items[r])
        for q, rel in pairs.items()
        for r in rel
    )
    return gt_set


class ReviewTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        self.items = make_bank()
        self.space = make_space("hash64", dimensions=64, make_default=True)
        pipeline.embed_items(self.space, [i.pk for i in self.items])
        self.gt = make_gt(self.items)
        self.reviewer2 = make_user("reviewer2", Role.REVIEWER)

    def campaign(
        self, name: str = "c1", n: int = 1, pairs: list[tuple[int, int]] | None = None, **fields
    ) -> Campaign:
        """A campaign over the given (query index, candidate index) pairs."""
        pairs = pairs or [(0, 1), (0, 5), (3, 4), (5, 6)]
        samples = [
            sampling.Sample(
                self.items[q],
                self.items[c],
                "tp" if c in GT.get(q, []) else "fp",
                0.5 + i / 10,
                c in GT.get(q, []),
                i + 1,
            )
            for i, (q, c) in enumerate(pairs)
        ]
        return sampling.create_campaign(
            name, samples, gt_set=self.gt, reviewers_per_pair=n, user=self.admin, **fields
        )
