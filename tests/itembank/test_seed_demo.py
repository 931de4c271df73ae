"""The demo bank: deterministic, realistic, valid, and its planted families are what they say."""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

from django.core.management import call_command
from django.test import SimpleTestCase, TestCase, override_settings
from PIL import Image, ImageChops, ImageStat

from itembank.demo import generate, normalized
from itembank.models import Item, ItemStatus, Role, Subject, has_latex
from tests.base import make_user

SIZE = 150
ID_PATTERN = re.compile(r"^(KOR|MATH|ENG|SOC|SCI|HIST)-[EMH]\d{1,2}-\d{4}$")
SIX = {
    Subject.KOREAN,
    Subject.MATH,
    Subject.ENGLISH,
    Subject.SOCIAL,
    Subject.SCIENCE,
    Subject.HISTORY,
}


def read_items(folder: Path) -> list[dict]:
    lines = (folder / "items.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def figure_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "figures").iterdir())}


class GeneratorTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.tmp = Path(tempfile.mkdtemp(prefix="itembank-demo-"))
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.summary = generate(cls.tmp / "a", seed=42, size=SIZE)
        cls.items = read_items(cls.tmp / "a")
        cls.by_id = {item["external_id"]: item for item in cls.items}
        cls.truth = json.loads((cls.tmp / "a" / "ground_truth_planted.json").read_text())
        cls.families = json.loads((cls.tmp / "a" / "families.json").read_text())["families"]

    def test_same_seed_same_bytes_other_seed_other_bank(self) -> None:
        generate(self.tmp / "b", seed=42, size=SIZE)
        generate(self.tmp / "c", seed=43, size=SIZE)
        a, b, c = self.tmp / "a", self.tmp / "b", self.tmp / "c"
        for name in ("items.jsonl", "ground_truth_planted.json", "families.json"):
            self.assertEqual((a / name).read_bytes(), (b / name).read_bytes(), name)
        self.assertEqual(figure_bytes(a), figure_bytes(b))
        self.assertNotEqual((a / "items.jsonl").read_text(), (c / "items.jsonl").read_text())
        self.assertNotEqual(figure_bytes(a), figure_bytes(c))

    def test_regenerating_into_the_same_folder_removes_stale_figures(self) -> None:
        folder = self.tmp / "again"
        generate(folder, seed=1, size=60)
        generate(folder, seed=2, size=60)
        referenced = {img for item in read_items(folder) for img in item["images"]}
        on_disk = {f"figures/{p.name}" for p in (folder / "figures").iterdir()}
        self.assertEqual(on_disk, referenced)

    def test_size_subjects_and_ids(self) -> None:
        self.assertEqual(len(self.items), SIZE)
        self.assertEqual(self.summary.items, SIZE)
        counts = Counter(item["subject"] for item in self.items)
        self.assertEqual(set(counts), SIX)
        largest = {s for s, _ in counts.most_common(2)}
        self.assertEqual(largest, {Subject.MATH, Subject.SCIENCE})
        ids = [item["external_id"] for item in self.items]
        self.assertEqual(len(ids), len(set(ids)))
        for item in self.items:
            self.assertRegex(item["external_id"], ID_PATTERN)
            level = {"초등": "E", "중등": "M", "고등": "H"}[item["school_level"]]
            self.assertIn(f"-{level}{item['grade']}-", item["external_id"])

    def test_every_record_is_a_valid_item(self) -> None:
        types = Counter()
        for item in self.items:
            fields = {k: v for k, v in item.items() if k != "images"}
            Item(**fields).full_clean(validate_unique=False, validate_constraints=False)
            types[item["item_type"]] += 1
            if item["item_type"] == "multiple_choice":
                self.assertEqual(len(item["choices"]), 5, item["external_id"])
                self.assertEqual(len(set(item["choices"])), 5, item["external_id"])
                self.assertIn(item["answer"], {"1", "2", "3", "4", "5"})
            else:
                self.assertEqual(item["choices"], [])
                self.assertTrue(item["answer"])
            self.assertTrue(item["achievement_standard"])
            self.assertRegex(item["source"], r"^20\d\d [12]학기 ")
            self.assertTrue(re.search(r"[가-힣]", item["stem"]), item["external_id"])
        self.assertGreater(types["multiple_choice"], 0.7 * SIZE)
        self.assertGreater(types["short_answer"] + types["essay"], 0)

    def test_latex_figures_and_english_passages(self) -> None:
        with_figure = [i for i in self.items if i["images"]]
        self.assertGreater(len(with_figure), 0.2 * SIZE)
        self.assertLess(len(with_figure), 0.5 * SIZE)
        figure_subjects = Counter(i["subject"] for i in with_figure)
        self.assertGreater(
            figure_subjects[Subject.MATH] + figure_subjects[Subject.SCIENCE], len(with_figure) / 2
        )
        for item in with_figure:
            data = (self.tmp / "a" / item["images"][0]).read_bytes()
            with Image.open(io.BytesIO(data)) as img:
                self.assertIn(img.format, {"PNG", "JPEG"})
                self.assertTrue(300 <= img.width <= 900, (item["external_id"], img.size))
                # a figure, not a blank page: dark ink on white
                self.assertLess(min(img.convert("L").getextrema()), 100)
        math_science = [i for i in self.items if i["subject"] in {"수학", "과학"}]
        latex = [i for i in math_science if has_latex(i["stem"] + "".join(i["choices"]))]
        self.assertGreater(len(latex), 0.8 * len(math_science))
        self.assertTrue(any("$$" in i["stem"] for i in math_science))
        chemistry = re.compile(r"\\mathrm\{[^}$]*[A-Z][a-z]?_\d")  # e.g. \mathrm{H_2O}
        self.assertTrue(any(chemistry.search(i["stem"] + i["explanation"]) for i in self.items))
        english = [i for i in self.items if i["subject"] == "영어"]
        words = re.compile(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+")
        self.assertTrue(all(words.search(i["stem"]) for i in english))

    def test_ground_truth_shape_and_symmetry(self) -> None:
        self.assertEqual(self.truth["name"], "planted")
        self.assertEqual(self.truth["kind"], "planted")
        pairs = self.truth["pairs"]
        self.assertGreaterEqual(len(pairs), SIZE // 5)
        for query, relevant in pairs.items():
            self.assertIn(query, self.by_id)
            self.assertNotIn(query, relevant)
            self.assertTrue(relevant)
            for other, grade in relevant.items():
                self.assertIn(grade, (1, 2))
                self.assertEqual(pairs[other][query], grade, (query, other))

    def test_families_match_the_ground_truth(self) -> None:
        pairs = self.truth["pairs"]
        members_seen: set[str] = set()
        for family in self.families:
            kinds = {m["external_id"]: m["kind"] for m in family["members"]}
            self.assertEqual(list(kinds.values()).count("original"), 1)
            self.assertGreaterEqual(len(kinds), 2)
            self.assertFalse(members_seen & set(kinds))
            members_seen |= set(kinds)
            for query, kind in kinds.items():
                expected = {
                    other: 2 if {kind, other_kind} <= {"original", "duplicate"} else 1
                    for other, other_kind in kinds.items()
                    if other != query
                }
                self.assertEqual(pairs[query], expected)
        self.assertEqual(members_seen, set(pairs))
        # most of the bank is unrelated to every family
        self.assertLess(len(members_seen), 0.6 * SIZE)

    def test_duplicates_are_near_identical(self) -> None:
        count = 0
        for family in self.families:
            original = self.by_id[family["members"][0]["external_id"]]
            for member in family["members"]:
                if member["kind"] != "duplicate":
                    continue
                count += 1
                dup = self.by_id[member["external_id"]]
                self.assertNotEqual(
                    (dup["stem"], dup["choices"]), (original["stem"], original["choices"])
                )
                ratio = SequenceMatcher(
                    None, normalized(original["stem"]), normalized(dup["stem"])
                ).ratio()
                self.assertGreater(ratio, 0.85, (original["stem"], dup["stem"]))
                self.assertEqual(
                    sorted(map(normalized, original["choices"])),
                    sorted(map(normalized, dup["choices"])),
                )
                if original["choices"]:  # the answer follows a reordered choice
                    self.assertEqual(
                        normalized(original["choices"][int(original["answer"]) - 1]),
                        normalized(dup["choices"][int(dup["answer"]) - 1]),
                    )
                self.assertEqual(bool(original["images"]), bool(dup["images"]))
                if original["images"]:
                    a = Image.open(self.tmp / "a" / original["images"][0])
                    b = Image.open(self.tmp / "a" / dup["images"][0])
                    if member["figure"] == "same":
                        self.assertEqual(a.tobytes(), b.tobytes())
                    else:
                        self.assert_same_figure(
                            a.convert("RGB"), b.convert("RGB"), member["figure"]
                        )
        self.assertGreater(count, 5)

    def assert_same_figure(self, a: Image.Image, b: Image.Image, how: str) -> None:
        if how == "border":
            self.assertEqual(b.size, (a.width + 24, a.height + 24))
            self.assertEqual(b.crop((12, 12, 12 + a.width, 12 + a.height)).tobytes(), a.tobytes())
            return
        if how == "resize":
            self.assertEqual(b.size, (round(a.width * 0.85), round(a.height * 0.85)))
            b = b.resize(a.size)
        else:
            self.assertEqual((how, b.size), ("jpeg", a.size))
        diff = ImageChops.difference(a.convert("L"), b.convert("L"))
        self.assertLess(ImageStat.Stat(diff).mean[0], 8, how)

    def test_variants_change_numbers_or_wording(self) -> None:
        count = 0
        for family in self.families:
            original = self.by_id[family["members"][0]["external_id"]]
            for member in family["members"]:
                if member["kind"] != "variant":
                    continue
                count += 1
                variant = self.by_id[member["external_id"]]
                self.assertEqual(variant["subject"], original["subject"])
                before = normalized(original["stem"]) + "|".join(sorted(original["choices"]))
                after = normalized(variant["stem"]) + "|".join(sorted(variant["choices"]))
                self.assertNotEqual(before, after)
                if original["subject"] == "수학":
                    numbers = re.compile(r"\d+")
                    self.assertNotEqual(
                        numbers.findall(original["stem"] + " ".join(original["choices"])),
                        numbers.findall(variant["stem"] + " ".join(variant["choices"])),
                    )
        self.assertGreater(count, 5)


class SeedDemoCommandTests(TestCase):
    def setUp(self) -> None:
        self.teacher = make_user("teacher", Role.TEACHER)
        tmp = tempfile.mkdtemp(prefix="itembank-seed-")
        self.addCleanup(shutil.rmtree, tmp, True)
        override = override_settings(MEDIA_ROOT=str(Path(tmp) / "media"), DATA_DIR=Path(tmp))
        override.enable()
        self.addCleanup(override.disable)
        self.tmp = Path(tmp)

    def test_if_empty_loads_the_bank_once(self) -> None:
        out = io.StringIO()
        call_command("seed_demo", "--if-empty", "--size", "60", stdout=out)
        self.assertIn("Imported the demo bank: 60 created", out.getvalue())
        items = read_items(self.tmp / "demo")
        self.assertEqual(Item.objects.count(), 60)
        self.assertEqual(
            Item.objects.filter(author=self.teacher, status=ItemStatus.ACTIVE).count(), 60
        )
        self.assertEqual(
            Item.objects.filter(image_count__gt=0).count(), sum(1 for i in items if i["images"])
        )
        self.assertTrue(Item.objects.filter(has_latex=True).exists())
        stamp = list(Item.objects.order_by("pk").values_list("pk", "updated_at"))

        again = io.StringIO()
        call_command("seed_demo", "--if-empty", stdout=again)
        self.assertIn("not empty", again.getvalue())
        self.assertEqual(list(Item.objects.order_by("pk").values_list("pk", "updated_at")), stamp)

    def test_output_folder_and_no_import(self) -> None:
        target = self.tmp / "elsewhere"
        call_command(
            "seed_demo",
            "--size",
            "30",
            "--seed",
            "5",
            "--output",
            str(target),
            "--no-import",
            stdout=io.StringIO(),
        )
        self.assertEqual(len(read_items(target)), 30)
        self.assertTrue((target / "ground_truth_planted.json").exists())
        self.assertFalse(Item.objects.exists())
