"""The job framework (itembank.jobs): sending after commit, claiming a job once, failing jobs
whose worker died, sending jobs queued while the broker was down, read-only status pages, and
one JSON shape for every kind of job."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from kombu.exceptions import OperationalError

from itembank import jobs
from itembank.models import ImportJob
from search.duplicates.models import DuplicateScan
from search.evaluation.models import EvaluationRun, GroundTruthSet
from search.review.models import SamplingJob
from tests.base import BaseTestCase

Status = jobs.Job.Status
SEND = "itembank.tasks.run_import_job.apply_async"


class JobTestCase(BaseTestCase):
    def import_job(self, **fields) -> ImportJob:
        return ImportJob.objects.create(
            file=ContentFile(b"", name="items.jsonl"),
            original_name="items.jsonl",
            created_by=self.admin,
            **fields,
        )

    def one_of_each(self) -> list[jobs.Job]:
        gt = GroundTruthSet.objects.create(name="gt")
        return [
            self.import_job(),
            DuplicateScan.objects.create(created_by=self.admin),
            EvaluationRun.objects.create(gt_set=gt, mode="dense", created_by=self.admin),
            SamplingJob.objects.create(name="c", gt_set=gt, created_by=self.admin),
        ]


class SendingTests(JobTestCase):
    def test_enqueue_sends_only_once_the_transaction_commits(self) -> None:
        job = self.import_job()
        with mock.patch(SEND) as send, self.captureOnCommitCallbacks() as callbacks:
            jobs.enqueue(job)
            send.assert_not_called()  # a rolled-back job is never sent
        self.assertEqual(len(callbacks), 1)
        with mock.patch(SEND) as send:
            callbacks[0]()
        send.assert_called_once_with(args=[job.pk], queue="default", retry=False)
        job.refresh_from_db()
        self.assertEqual(job.status, Status.QUEUED)
        self.assertIsNotNone(job.sent_at)

    def test_every_job_is_sent_by_its_task_name(self) -> None:
        names = [job.task_name for job in self.one_of_each()]
        self.assertEqual(
            names,
            [
                "itembank.run_import_job",
                "duplicates.run_scan",
                "evaluation.run",
                "review.sample_campaign",
            ],
        )
        for name in names:  # each is a task of this code base, found without importing it here
            self.assertEqual(jobs._registered(name).name, name)
        # A name no module here registers still goes to the broker, by name.
        with (
            mock.patch("itembank.jobs._registered", return_value=None),
            mock.patch("itembank.celery.app.send_task") as send_task,
            self.captureOnCommitCallbacks(execute=True),
        ):
            job = self.import_job()
            jobs.enqueue(job)
        send_task.assert_called_once_with(
            "itembank.run_import_job", args=[job.pk], queue="default", retry=False
        )

    def test_broker_down_leaves_it_queued_and_send_queued_sends_it_when_back(self) -> None:
        job = self.import_job()
        down = mock.patch(SEND, side_effect=OperationalError("connection refused"))
        with down, self.assertLogs("itembank.jobs"), self.captureOnCommitCallbacks(execute=True):
            jobs.enqueue(job)  # never runs it inline
        job.refresh_from_db()
        self.assertEqual((job.status, job.sent_at, job.started_at), (Status.QUEUED, None, None))
        self.assertTrue(job.waiting_for_queue)
        with down, self.assertLogs("itembank.jobs"):
            self.assertEqual(jobs.send_queued(), 0)  # still down: tried again next minute
        with mock.patch(SEND) as send:
            self.assertEqual(jobs.send_queued(), 1)
            self.assertEqual(jobs.send_queued(), 0)  # sent now: not again
        send.assert_called_once_with(args=[job.pk], queue="default", retry=False)
        job.refresh_from_db()
        self.assertFalse(job.waiting_for_queue)
        # A message sent long ago and still not taken (lost with the broker) is sent again.
        ImportJob.objects.filter(pk=job.pk).update(
            sent_at=timezone.now() - jobs.stale_after() - timedelta(seconds=1)
        )
        with mock.patch(SEND) as send:
            self.assertEqual(jobs.send_queued(), 1)


class LifeCycleTests(JobTestCase):
    def test_start_claims_a_job_once(self) -> None:
        job = self.import_job()
        self.assertTrue(jobs.start(job))
        self.assertEqual(job.status, Status.RUNNING)
        again = ImportJob.objects.get(pk=job.pk)  # a second delivery of the message
        self.assertFalse(jobs.start(again))
        # Its worker died: once the heartbeat is stale, a redelivery may take it over.
        ImportJob.objects.filter(pk=job.pk).update(
            heartbeat_at=timezone.now() - jobs.stale_after() - timedelta(seconds=1)
        )
        self.assertTrue(jobs.start(again))
        self.assertTrue(jobs.succeed(again, created_count=1))
        self.assertFalse(jobs.start(again))  # finished: never run again
        self.assertFalse(jobs.fail(again, "late"))
        again.refresh_from_db()
        self.assertEqual(
            (again.status, again.created_count, again.percent), (Status.SUCCEEDED, 1, 100)
        )

    def test_an_import_is_not_rerun_after_failing_but_a_scan_is(self) -> None:
        job, scan = self.import_job(), DuplicateScan.objects.create()
        for each in (job, scan):
            jobs.start(each)
            jobs.fail(each, "boom")
        self.assertFalse(jobs.start(job))
        self.assertTrue(jobs.start(scan))  # it only ever writes rows of its own

    def test_progress_is_the_heartbeat_and_stops_with_the_job(self) -> None:
        job = self.import_job()
        jobs.start(job)
        ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=None)
        self.assertTrue(jobs.progress(job, 3, 10, "reading"))
        job.refresh_from_db()
        self.assertEqual((job.done, job.total, job.message, job.percent), (3, 10, "reading", 30))
        self.assertIsNotNone(job.heartbeat_at)
        jobs.fail(job, "stopped")
        self.assertFalse(jobs.progress(job, 4, 10))
        job.refresh_from_db()
        self.assertEqual(job.done, 3)

    def test_run_fails_the_job_with_the_exception(self) -> None:
        job = self.import_job()

        def broken(job: ImportJob) -> None:
            raise RuntimeError("disk full")

        with self.assertLogs("itembank.jobs", "ERROR"):
            job = jobs.run(ImportJob, job.pk, broken)
        self.assertEqual((job.status, job.error), (Status.FAILED, "disk full"))
        self.assertIsNotNone(job.finished_at)
        self.assertIsNone(jobs.run(ImportJob, 999999, broken))


class FailStaleTests(JobTestCase):
    def test_jobs_without_a_heartbeat_are_failed_with_the_reason(self) -> None:
        old = timezone.now() - jobs.stale_after() - timedelta(minutes=1)
        stale = self.one_of_each()
        fresh = self.import_job()
        for job in stale:
            type(job).objects.filter(pk=job.pk).update(
                status=Status.RUNNING, started_at=old, heartbeat_at=old
            )
        type(fresh).objects.filter(pk=fresh.pk).update(
            status=Status.RUNNING, started_at=old, heartbeat_at=timezone.now()
        )
        queued = self.import_job()
        # The reason is in the site's language (Korean), whatever the caller's language.
        with (
            self.assertLogs("itembank.jobs", "WARNING"),
            translation.override("en"),
            mock.patch(SEND) as send,
        ):
            self.assertEqual(jobs.sweep(), {"failed": 4, "sent": 1})
        send.assert_called_once_with(args=[queued.pk], queue="default", retry=False)
        for job in stale:
            job.refresh_from_db()
            self.assertEqual(job.status, Status.FAILED)
            with translation.override("ko"):
                self.assertEqual(job.error, str(type(job).interrupted_error))
            self.assertTrue(job.error.startswith("중단됨: "), job.error)
        fresh.refresh_from_db()
        queued.refresh_from_db()
        self.assertEqual(fresh.status, Status.RUNNING)
        self.assertEqual(queued.status, Status.QUEUED)
        self.assertEqual(jobs.fail_stale(), 0)

    def test_the_beat_runs_the_sweep_every_minute(self) -> None:
        from django.conf import settings

        entry = settings.CELERY_BEAT_SCHEDULE["itembank-sweep-jobs"]
        self.assertEqual((entry["task"], entry["schedule"]), ("itembank.tasks.sweep_jobs", 60.0))


class ReadOnlyPagesTests(JobTestCase):
    WRITES = ("INSERT", "UPDATE", "DELETE")

    def test_status_pages_and_api_never_write(self) -> None:
        old = timezone.now() - jobs.stale_after() - timedelta(minutes=1)
        job, scan, run, sampling = self.one_of_each()
        for each in (job, scan, run, sampling):
            type(each).objects.filter(pk=each.pk).update(
                status=Status.RUNNING, started_at=old, heartbeat_at=old
            )
        self.login(self.admin)
        urls = [
            reverse("item-import"),
            reverse("item-import-job", args=[job.pk]),
            reverse("duplicate-report"),
            reverse("duplicate-scan", args=[scan.pk]),
            reverse("duplicate-scan-api-list"),
            reverse("duplicate-scan-api-detail", args=[scan.pk]),
            reverse("evaluation:dashboard"),
            reverse("evaluation:run-detail", args=[run.pk]),
            reverse("review-sampling", args=[sampling.pk]),
            reverse("review-campaigns"),
            reverse("import-job-api-detail", args=[job.pk]),
            reverse("evaluation-run-api-detail", args=[run.pk]),
            reverse("review-api-sampling", args=[sampling.pk]),
        ]
        for url in urls:
            with self.subTest(url), CaptureQueriesContext(connection) as queries:
                self.assertEqual(self.client.get(url).status_code, 200)
            writes = [
                q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(self.WRITES)
            ]
            self.assertEqual(writes, [], url)
        for each in (job, scan, run, sampling):
            each.refresh_from_db()
            self.assertEqual(each.status, Status.RUNNING)  # only the beat fails it


class JsonShapeTests(JobTestCase):
    KEYS = [
        "id",
        "kind",
        "status",
        "status_label",
        "done",
        "total",
        "percent",
        "message",
        "error",
        "waiting_for_queue",
        "created_by",
        "created_at",
        "sent_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
    ]

    def test_one_shape_for_every_job(self) -> None:
        shapes = [jobs.job_json(job) for job in self.one_of_each()]
        self.assertEqual([list(shape) for shape in shapes], [self.KEYS] * 4)
        self.assertEqual(
            [shape["kind"] for shape in shapes], ["import", "scan", "evaluation", "sampling"]
        )
        for shape in shapes:
            self.assertEqual(shape["status"], "queued")
            self.assertEqual(shape["created_by"], "admin")
            self.assertEqual(shape["percent"], 0)

    def test_every_job_api_is_the_job_shape_and_its_own_fields(self) -> None:
        job, scan, run, sampling = self.one_of_each()
        self.login(self.admin)
        own = {
            reverse("import-job-api-detail", args=[job.pk]): {
                "original_name",
                "created_count",
                "updated_count",
                "unchanged_count",
                "errors",
            },
            reverse("duplicate-scan-api-detail", args=[scan.pk]): {
                "space",
                "phase",
                "settings",
                "pair_count",
                "group_count",
            },
            reverse("evaluation-run-api-detail", args=[run.pk]): {
                "gt_set",
                "label",
                "space_name",
                "mode",
                "alpha",
                "rerank",
                "k",
                "sweep",
                "metrics",
            },
            reverse("review-api-sampling", args=[sampling.pk]): {"name", "campaign", "pair_count"},
        }
        for (url, fields), each in zip(own.items(), (job, scan, run, sampling), strict=True):
            with self.subTest(url):
                data = self.client.get(url).json()
                self.assertEqual(list(data)[: len(self.KEYS)], self.KEYS)
                self.assertEqual(set(data) - set(self.KEYS), fields)
                self.assertEqual({k: data[k] for k in self.KEYS}, jobs.job_json(each))
