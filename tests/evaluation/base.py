"""A small bank for the evaluation tests: two subjects, the three POC categories (an item with a
figure, items with LaTeX, text-only items), embedded in a space of the hashing test backend."""

from __future__ import annotations

from embeddings import pipeline
from search import keyword
from tests.base import BaseTestCase, make_item, png_bytes
from tests.embeddings.hashing_backend import make_space

BANK = {
    "M-1": ("수학", "한 변의 길이가 8 cm인 정사각형의 넓이는 몇 $cm^2$입니까?", ["$16$", "$64$"]),
    "M-2": ("수학", "한 변의 길이가 8cm 인 정사각형의 넓이는 몇 $cm^{2}$ 인가요?", ["16", "64"]),
    "M-3": ("수학", "삼각형의 세 내각의 크기의 합은 몇 도입니까?", ["$90$", "$180$"]),
    "M-4": ("수학", "그림과 같은 삼각형의 세 내각의 합을 구하시오.", ["90도", "180도"]),
    "S-1": ("과학", "광합성에 필요한 물질로 옳은 것을 모두 고른 것은?", ["물", "산소"]),
    "S-2": ("과학", "식물이 광합성을 할 때 필요한 물질을 모두 고르시오.", ["물", "이산화 탄소"]),
    "S-3": ("과학", "지구의 자전 때문에 나타나는 현상은?", ["낮과 밤", "계절 변화"]),
}


class BankTestCase(BaseTestCase):
    with_vectors = False

    @classmethod
    def setUpTestData(cls) -> None:
        cls.items = {}
        for ext, (subject, stem, choices) in BANK.items():
            images = [png_bytes("blue")] if ext == "M-4" else None
            cls.items[ext] = make_item(
                ext, subject=subject, stem=stem, choices=choices, images=images, school_level=""
            )
        if cls.with_vectors:
            cls.space = make_space("eval-hash", dimensions=64, make_default=True)
            pipeline.embed_items(cls.space, [i.pk for i in cls.items.values()])
            keyword.refresh()

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()
        keyword.reset_index()

    def setUp(self) -> None:
        super().setUp()
        keyword.reset_index()
