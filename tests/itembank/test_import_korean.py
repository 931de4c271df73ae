"""The import page in Korean: particles fit the names in error messages, JSON syntax errors
are explained in Korean with line and column, and the Korean labels the UI shows are accepted
as values."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from itembank.models import ImportJob, Item
from tests.base import BaseTestCase
from tests.itembank.test_import_page import ITEM, eager_tasks


class ImportKoreanTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.url = reverse("item-import")
        media = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, media, ignore_errors=True)
        override = override_settings(MEDIA_ROOT=str(media))
        override.enable()
        self.addCleanup(override.disable)
        self.login(self.admin)

    def import_file(self, name: str, data: bytes) -> ImportJob:
        with eager_tasks(self):
            self.client.post(self.url, {"file": SimpleUploadedFile(name, data)})
        return ImportJob.objects.latest("pk")

    def status_html(self, job: ImportJob, **headers: str) -> str:
        response = self.client.get(reverse("item-import-job", args=[job.pk]), **headers)
        return response.content.decode()

    def test_error_particles_fit_the_name(self) -> None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            record = {**ITEM, "images": ["f/없는그림.png", "f/b1.png"]}
            archive.writestr("items.jsonl", json.dumps(record, ensure_ascii=False) + "\n")
        job = self.import_file("bank.zip", buf.getvalue())
        self.assertEqual(job.status, ImportJob.Status.FAILED)
        html = self.status_html(job)
        self.assertIn("“f/없는그림.png”가 압축 파일 안에 없습니다", html)  # png: 피엔지
        self.assertNotIn("이(가)", html)

    def test_json_syntax_error_in_korean_with_line_and_column(self) -> None:
        good = json.dumps(ITEM, ensure_ascii=False)
        data = f'{good}\n{{"external_id": "UP-2", "stem": "닫히지 않음}}\n'.encode()
        job = self.import_file("bad.jsonl", data)
        self.assertEqual(job.status, ImportJob.Status.FAILED)
        html = self.status_html(job)
        self.assertIn("올바른 JSON이 아닙니다(2번째 줄, 33번째 글자)", html)
        self.assertIn("큰따옴표로 닫히지 않았습니다", html)
        self.assertNotIn("Unterminated", html)

    def test_json_list_syntax_error_in_english_when_chosen(self) -> None:
        data = b'[\n  {"external_id": "UP-1",\n   "subject" "x"}\n]'
        with eager_tasks(self):
            self.client.post(
                self.url,
                {"file": SimpleUploadedFile("bad.json", data)},
                HTTP_ACCEPT_LANGUAGE="en",
            )
        job = ImportJob.objects.get()
        html = self.status_html(job, HTTP_ACCEPT_LANGUAGE="en")
        self.assertIn("Not valid JSON at line 3, column 14: a colon is missing", html)

    def test_korean_labels_of_choices_are_accepted(self) -> None:
        records = [
            {**ITEM, "item_type": "객관식", "difficulty": "보통", "school_level": "중등"},
            {**ITEM, "external_id": "UP-2", "item_type": "Short answer", "difficulty": "hard"},
            {**ITEM, "external_id": "UP-3", "subject": "Mathematics", "item_type": "서술형"},
        ]
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
        job = self.import_file("labels.jsonl", data)
        self.assertEqual(job.status, ImportJob.Status.SUCCEEDED, job.errors)
        stored = {
            item.external_id: (item.item_type, item.difficulty, item.subject)
            for item in Item.objects.all()
        }
        self.assertEqual(
            stored,
            {
                "UP-1": ("multiple_choice", "medium", "수학"),
                "UP-2": ("short_answer", "hard", "수학"),
                "UP-3": ("essay", "", "수학"),
            },
        )

    def test_an_unknown_label_is_still_refused(self) -> None:
        job = self.import_file("x.jsonl", json.dumps({**ITEM, "difficulty": "아주 쉬움"}).encode())
        self.assertEqual(job.status, ImportJob.Status.FAILED)
        self.assertEqual([e["field"] for e in job.errors], ["difficulty"])

    def test_failed_status_is_styled_as_failed(self) -> None:
        job = self.import_file("x.jsonl", b"{oops}\n")
        html = self.status_html(job)
        self.assertIn('class="badge badge-job-failed"', html)
        self.assertIn('class="card import-job import-job-failed"', html)
        css = (Path(__file__).resolve().parents[2] / "static/css/app.css").read_text()
        self.assertRegex(css, r"\.badge-job-failed \{[^}]*var\(--danger\)")
        page = self.client.get(self.url).content.decode()
        self.assertIn('<section class="card">', page)  # the form sits in a card
