"""The admins' import page (/manage/import/): roles, upload, background task, broker down."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from kombu.exceptions import OperationalError

from itembank import jobs
from itembank.celery import app as celery_app
from itembank.models import ImportJob, Item
from itembank.tasks import run_import_job
from tests.base import BaseTestCase, png_bytes


def upload(name: str, records: list[dict]) -> SimpleUploadedFile:
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@contextmanager
def eager_tasks(test: BaseTestCase) -> Iterator[None]:
    """Run Celery tasks in-process (CELERY_TASK_ALWAYS_EAGER), as a worker would, when the
    request's transaction commits (jobs are sent on commit; a TestCase never commits)."""
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with test.captureOnCommitCallbacks(execute=True):
            yield
    finally:
        celery_app.conf.task_always_eager = saved


EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ITEM = {"external_id": "UP-1", "subject": "수학", "stem": "발문 $x$"}


class ImportPageTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.url = reverse("item-import")
        media = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, media, ignore_errors=True)
        override = override_settings(MEDIA_ROOT=str(media))
        override.enable()
        self.addCleanup(override.disable)

    def test_anonymous_is_sent_to_login(self) -> None:
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("login"), response["Location"])

    def test_teacher_and_reviewer_are_refused(self) -> None:
        for user in (self.teacher, self.reviewer):
            self.login(user)
            self.assertEqual(self.client.get(self.url).status_code, 403)
            response = self.client.post(self.url, {"file": upload("a.jsonl", [ITEM])})
            self.assertEqual(response.status_code, 403)
        self.assertFalse(ImportJob.objects.exists())

    def test_admin_sees_the_form(self) -> None:
        self.login(self.admin)
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'type="file"')

    def test_upload_runs_as_a_task(self) -> None:
        self.login(self.admin)
        with eager_tasks(self):
            response = self.client.post(self.url, {"file": upload("bank.jsonl", [ITEM])})
        self.assertRedirects(response, self.url)
        job = ImportJob.objects.get()
        self.assertEqual(job.status, ImportJob.Status.SUCCEEDED)
        self.assertIsNotNone(job.sent_at)
        self.assertEqual((job.created_count, job.created_by), (1, self.admin))
        self.assertEqual(job.percent, 100)
        self.assertEqual(Item.objects.get().author, self.admin)
        page = self.client.get(self.url)
        self.assertContains(page, "bank.jsonl")
        status = self.client.get(reverse("item-import-job", args=[job.pk]))
        self.assertEqual(status.status_code, 200)
        self.assertNotContains(status, "hx-trigger")  # finished: stops polling

    def test_task_is_sent_to_the_default_queue(self) -> None:
        self.login(self.admin)
        with (
            mock.patch.object(run_import_job, "apply_async") as apply_async,
            self.captureOnCommitCallbacks(execute=True),
        ):
            self.client.post(self.url, {"file": upload("bank.jsonl", [ITEM])})
        job = ImportJob.objects.get()
        apply_async.assert_called_once()
        self.assertEqual(apply_async.call_args.kwargs["args"], [job.pk])
        self.assertEqual(apply_async.call_args.kwargs["queue"], "default")
        self.assertEqual(job.status, ImportJob.Status.QUEUED)
        status = self.client.get(reverse("item-import-job", args=[job.pk]))
        self.assertContains(status, "hx-trigger")  # still polling
        self.assertContains(status, "<progress")
        run_import_job(job.pk)  # the worker's side
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.SUCCEEDED)

    def test_broker_unreachable_keeps_the_job_queued_for_the_beat(self) -> None:
        # Behaviour changed (issue 10): the import no longer runs inside the upload request.
        self.login(self.admin)
        with (
            mock.patch.object(
                run_import_job, "apply_async", side_effect=OperationalError("connection refused")
            ),
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(
                self.url, {"file": upload("bank.jsonl", [ITEM])}, follow=True, **EN
            )
        job = ImportJob.objects.get()
        self.assertEqual((job.status, job.sent_at), (ImportJob.Status.QUEUED, None))
        self.assertFalse(Item.objects.exists())
        self.assertTrue(job.file.storage.exists(job.file.name))  # the upload is kept
        self.assertContains(response, "starts when the queue is back")
        # The queue is back: the beat's sweep sends it, and a worker runs it.
        with eager_tasks(self):
            self.assertEqual(jobs.send_queued(), 1)
        job.refresh_from_db()
        self.assertEqual(job.status, ImportJob.Status.SUCCEEDED)
        self.assertTrue(Item.objects.filter(external_id="UP-1").exists())

    def test_failed_import_lists_errors(self) -> None:
        self.login(self.admin)
        bad = [ITEM, {**ITEM, "external_id": "UP-2", "subject": "체육"}]
        with eager_tasks(self):
            self.client.post(self.url, {"file": upload("bad.jsonl", bad)})
        job = ImportJob.objects.get()
        self.assertEqual(job.status, ImportJob.Status.FAILED)
        self.assertEqual([(e["line"], e["field"]) for e in job.errors], [(2, "subject")])
        self.assertFalse(Item.objects.exists())
        status = self.client.get(reverse("item-import-job", args=[job.pk]))
        self.assertContains(status, "체육")

    def test_zip_upload_with_images(self) -> None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr("items.jsonl", json.dumps({**ITEM, "images": ["f/a.png"]}) + "\n")
            archive.writestr("f/a.png", png_bytes())
        self.login(self.admin)
        with eager_tasks(self):
            self.client.post(self.url, {"file": SimpleUploadedFile("bank.zip", buf.getvalue())})
        self.assertEqual(ImportJob.objects.get().status, ImportJob.Status.SUCCEEDED)
        self.assertEqual(Item.objects.get().image_count, 1)

    def test_wrong_file_type_is_refused_by_the_form(self) -> None:
        self.login(self.admin)
        response = self.client.post(self.url, {"file": SimpleUploadedFile("a.exe", b"MZ")})
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["form"].errors)
        self.assertFalse(ImportJob.objects.exists())

    def test_status_partial_is_admin_only(self) -> None:
        job = ImportJob.objects.create(original_name="x.jsonl", file="imports/x/x.jsonl")
        url = reverse("item-import-job", args=[job.pk])
        self.login(self.teacher)
        self.assertEqual(self.client.get(url).status_code, 403)
