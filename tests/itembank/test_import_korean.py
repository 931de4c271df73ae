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

from itembank.models import ImportJob
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
