"""Exact matching: what the text normalisation treats as the same item, and figure hashes."""

from __future__ import annotations

import io
import random
import tempfile

from django.test import SimpleTestCase
from PIL import Image, ImageDraw

from search.duplicates import exact


class NormaliseTests(SimpleTestCase):
    def test_retyping_changes_are_ignored(self) -> None:
        same = [
            ("다음 중 옳은 것은?", "다음 중  옳은 것은"),  # whitespace, punctuation
            (r"$x^{2} + \dfrac{1}{2} = 3$", r"$x^2+\frac{1}{2}=3$"),  # LaTeX spelling, spacing
            (r"$100\,\mathrm{g}$", r"\(100 \mathrm{g}\)"),  # spacing command, delimiters
            ("ＡＢＣ１２３", "abc123"),  # full-width forms, case
            ("“인용”과 ‘따옴표’.", "인용과 따옴표"),
        ]
        for a, b in same:
            with self.subTest(a=a):
                self.assertEqual(exact.normalise(a), exact.normalise(b))

    def test_meaningful_differences_stay(self) -> None:
        different = [
            ("$x-1$", "$x1$"),
            ("$x^2$", "$x^3$"),
            (r"$\frac{1}{2}$", r"$\frac{2}{1}$"),
            ("50%", "50"),
            ("옳은 것은?", "옳지 않은 것은?"),
        ]
        for a, b in different:
            with self.subTest(a=a):
                self.assertNotEqual(exact.normalise(a), exact.normalise(b))

    def test_choice_order_does_not_matter_but_choices_do(self) -> None:
        key = exact.text_key("문제", ["$1$", "$2$", "$3$"])
        self.assertEqual(key, exact.text_key("문제.", ["$3$", "$1$", "$2$"]))
        self.assertNotEqual(key, exact.text_key("문제", ["$1$", "$2$", "$4$"]))
        self.assertNotEqual(key, exact.text_key("문제 $1$", ["$2$", "$3$"]))

    def test_nothing_left_has_no_key(self) -> None:
        self.assertEqual(exact.text_key("  ?! ", []), "")


class FigureHashTests(SimpleTestCase):
    def figure(self, fmt: str = "PNG", size: tuple[int, int] = (200, 150), shift: int = 0) -> str:
        img = Image.new("RGB", (200, 150), "white")
        draw = ImageDraw.Draw(img)
        draw.ellipse((30 + shift, 20, 150 + shift, 130), outline="black", width=4)
        draw.line((0, 140, 200, 10), fill="black", width=3)
        img = img.resize(size)
        buf = io.BytesIO()
        img.save(buf, format=fmt, quality=60)
        handle = tempfile.NamedTemporaryFile(suffix="." + fmt.lower(), delete=False)
        handle.write(buf.getvalue())
        handle.close()
        self.addCleanup(lambda: __import__("os").unlink(handle.name))
        return handle.name

    def test_reencoded_figure_matches_a_different_one_does_not(self) -> None:
        original = exact.image_hash(self.figure())
        jpeg = exact.image_hash(self.figure("JPEG"))
        resized = exact.image_hash(self.figure(size=(120, 90)))
        self.assertLessEqual(exact.hash_distance(original, jpeg), exact.PHASH_DISTANCE)
        self.assertLessEqual(exact.hash_distance(original, resized), exact.PHASH_DISTANCE)
        blank = exact.image_hash(self.figure(shift=40))
        self.assertGreater(exact.hash_distance(original, blank), exact.PHASH_DISTANCE)
        self.assertTrue(exact.figures_match([("s1", original)], [("s2", jpeg)]))
        self.assertFalse(exact.figures_match([("s1", original)], [("s1", original), ("s2", jpeg)]))
        self.assertFalse(exact.figures_match([], []))

    def test_blank_figures_match_only_when_identical(self) -> None:
        blank = "0000000000000000"
        self.assertTrue(exact.degenerate(blank))
        self.assertFalse(exact.figures_match([("red", blank)], [("navy", blank)]))
        self.assertTrue(exact.figures_match([("red", blank)], [("red", blank)]))
        self.assertEqual(exact.bucket_keys(("red", blank)), [("sha", "red")])

    def test_bands_catch_every_near_hash(self) -> None:
        original = exact.image_hash(self.figure())
        rng = random.Random(7)
        for _ in range(300):
            bits = rng.sample(range(64), exact.PHASH_DISTANCE)
            mask = sum(1 << b for b in bits)
            near = format(int(original, 16) ^ mask, "016x")
            self.assertEqual(exact.hash_distance(original, near), exact.PHASH_DISTANCE)
            shared = set(exact.band_keys(original)) & set(exact.band_keys(near))
            self.assertTrue(shared, bits)


def test_decimal_point_is_part_of_the_number() -> None:
    from search.duplicates.exact import normalise

    assert normalise("1.5 보다 큰 수는?") != normalise("15 보다 큰 수는?")
    assert normalise("1,000원입니다.") == normalise("1000원 입니다")
    assert normalise("점 (1,2)") != normalise("점 (12)")
