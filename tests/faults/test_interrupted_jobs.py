"""A duplicate scan or an evaluation run is interrupted: the pages and the API never show its
half-written results as complete. It stays "running", then is failed once it reported no progress
for ITEMBANK_STALE_JOB_SECONDS (its partial rows discarded), while the previous complete scan's
groups and the previous run's metrics stay what the pages show.

The scan's worker is SIGKILLed for real, held in the middle of the scan (its candidate pairs
written, its groups not yet) by a table lock the test takes. Its task is acknowledged late, so a
new worker re-runs it from the start and it completes. The evaluation run is interrupted in
this process, by a SystemExit half way through its queries — what a worker's hard shutdown
raises, and which the run's own error handling does not catch.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from unittest import mock

import psycopg
import pytest
import redis
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from itembank import jobs
from itembank.models import Role
from search import runs
from search.duplicates import scan as scanning
from search.duplicates import services
from search.duplicates.models import (
    DuplicateCandidate,
    DuplicateGroup,
    DuplicateScan,
    PairDecision,
)
from search.evaluation import evaluate, groundtruth
from search.evaluation.models import EvaluationRun
from tests.base import BaseTestCase, make_item, make_user
from tests.embeddings.worker import wait_for, worker_database_url
from tests.evaluation.base import BankTestCase
from tests.faults.base import LIMIT, FaultTestCase
from tests.faults.test_worker_killed import WORKER_ENV

Status = DuplicateScan.Status


def twins(prefix: str) -> None:
    """Two items with the same text: an exact duplicate pair, found without any model."""
    stem = f"{prefix} 묶음의 문항: 다음 중 {prefix}에 해당하는 것은?"
    for n in (1, 2):
        make_item(f"{prefix}-{n}", stem=stem, choices=[], item_type="short_answer")


def waiting_on_decisions() -> list[int]:
    """Backends waiting for a lock on the pair-decision table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "JOIN pg_database d ON d.oid = l.database "
            "WHERE d.datname = current_database() AND c.relname = %s AND NOT l.granted",
            [PairDecision._meta.db_table],
        )
        return [row[0] for row in cursor.fetchall()]


def held_advisory_locks(key: int) -> list[int]:
    """Sessions holding an advisory lock of class `key` (the scans' locks)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND granted",
            [key],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.worker
class InterruptedScanTestCase(FaultTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = make_user("admin", Role.ADMIN)
        self.client.force_login(make_user("reviewer", Role.REVIEWER))
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def shown(self) -> tuple[DuplicateScan | None, set[int]]:
        """The scan the report page shows and its groups; the API must list the same groups."""
        response = self.client.get(reverse("duplicate-report"))
        self.assertEqual(response.status_code, 200)
        page_groups = {group.pk for group in response.context["page"].object_list}
        api = self.client.get(reverse("duplicate-group-api-list")).json()
        self.assertEqual({group["id"] for group in api["results"]}, page_groups)
        return response.context["scan"], page_groups

    def test_killed_scan_is_never_shown_as_complete_and_is_rerun(self) -> None:
        twins("가")
        twins("나")
        first = DuplicateScan.objects.create(settings=scanning.scan_settings(None))
        first = scanning.run_scan(first.pk)
        self.assertEqual((first.status, first.group_count), (Status.SUCCEEDED, 2))
        first_groups = set(first.groups.values_list("pk", flat=True))
        twins("다")  # the next scan finds three groups

        worker = self.worker("first", sweep_seconds=3600)
        # Hold the scan where it drops decided pairs: its candidates are written by then.
        with psycopg.connect(worker_database_url()) as blocker:
            blocker.execute(f"LOCK TABLE {PairDecision._meta.db_table} IN ACCESS EXCLUSIVE MODE")
            second, created = services.start_scan(self.admin)
            self.assertTrue(created)
            self.assertTrue(wait_for(waiting_on_decisions, LIMIT), worker.output()[-4000:])
            worker.kill()
            # The dead worker's database session goes too (the kernel would close it soon).
            for pid in waiting_on_decisions():
                blocker.execute("SELECT pg_terminate_backend(%s)", [pid])
            blocker.rollback()

        second.refresh_from_db()
        self.assertEqual((second.status, second.phase), (Status.RUNNING, "grouping"))
        self.assertTrue(DuplicateCandidate.objects.filter(scan=second).exists())  # half-written
        self.assertFalse(DuplicateGroup.objects.filter(scan=second).exists())

        # While it is "running", the complete scan before it is what the page and API show.
        scan, groups = self.shown()
        self.assertEqual((scan, groups), (first, first_groups))
        response = self.client.get(reverse("duplicate-report"))
        self.assertEqual(response.context["active"], second)
        scan_api = reverse("duplicate-scan-api-detail", args=[second.pk])
        self.client.force_login(self.admin)
        self.assertEqual(self.client.get(scan_api).json()["status"], "running")
        # A live scan is not failed before the timeout (15 minutes by default)...
        self.assertEqual(jobs.fail_stale(), 0)
        # ...and a dead one is, by the beat's sweep, once its heartbeat is older than that.
        # Reading the page or the API never fails it (issue 10: no writes from GET).
        with override_settings(ITEMBANK_STALE_JOB_SECONDS=1):
            time.sleep(1.1)
            self.assertEqual(self.client.get(scan_api).json()["status"], "running")
            self.assertEqual(jobs.sweep()["failed"], 1)
        self.assertEqual(self.client.get(scan_api).json()["status"], "failed")
        second.refresh_from_db()
        self.assertEqual(second.error, "중단됨: 검사가 끝나기 전에 워커가 멈췄습니다.")  # Korean
        self.assertFalse(DuplicateCandidate.objects.filter(scan=second).exists())
        response = self.client.get(reverse("duplicate-report"))
        self.assertIsNone(response.context["active"])
        self.assertEqual(response.context["scan"], first)
        self.assertIn(second, list(response.context["recent_scans"]))
        self.assertContains(response, "The scan failed and its partial results were discarded:")
        self.assertEqual(self.shown(), (first, first_groups))

        # The dead scan no longer blocks a new one; and its message, never acknowledged, is
        # delivered again once the visibility timeout passed: a new worker runs both.
        third, created = services.start_scan(self.admin)
        self.assertTrue(created)
        client = redis.Redis.from_url(self.redis.url)
        (unacked,) = [json.loads(raw)[0] for raw in client.hvals("unacked")]
        self.assertEqual(unacked["headers"]["task"], "duplicates.run_scan")
        self.assertEqual(json.loads(base64.b64decode(unacked["body"]))[0], [second.pk])
        self.worker("second", sweep_seconds=3600, env=WORKER_ENV)

        def finished() -> bool:
            statuses = DuplicateScan.objects.filter(pk__in=[second.pk, third.pk])
            return set(statuses.values_list("status", flat=True)) == {Status.SUCCEEDED}

        self.assertTrue(wait_for(finished, LIMIT))
        for done in (second, third):
            done.refresh_from_db()
            self.assertEqual((done.group_count, done.pair_count), (3, 3))
        scan, groups = self.shown()
        self.assertIn(scan, (second, third))
        self.assertEqual(groups, set(scan.groups.values_list("pk", flat=True)))
        self.assertEqual(len(groups), 3)


class ScanGuardsTestCase(BaseTestCase):
    """The two guards of `scan.run_scan` against a scan run twice or failed while it runs."""

    def setUp(self) -> None:
        super().setUp()
        twins("라")
        self.good = scanning.run_scan(
            DuplicateScan.objects.create(settings=scanning.scan_settings(None)).pk
        )
        self.assertEqual(self.good.status, Status.SUCCEEDED)
        twins("마")
        self.scan = DuplicateScan.objects.create(settings=scanning.scan_settings(None))

    def test_a_scan_failed_while_it_runs_never_becomes_complete(self) -> None:
        original = scanning.Scanner.group

        def timed_out_meanwhile(scanner):
            # The worker stalled past the timeout: the beat failed the scan meanwhile.
            self.assertEqual(jobs.fail_stale(older_than=timedelta(0)), 1)
            return original(scanner)

        with mock.patch.object(scanning.Scanner, "group", timed_out_meanwhile):
            scan = scanning.run_scan(self.scan.pk)
        self.assertEqual(scan.status, Status.FAILED)
        self.assertEqual(scan.error, "중단됨: 검사가 끝나기 전에 워커가 멈췄습니다.")
        self.assertFalse(DuplicateCandidate.objects.filter(scan=scan).exists())
        self.assertFalse(DuplicateGroup.objects.filter(scan=scan).exists())
        self.assertEqual(services.latest_scan(), self.good)

    def test_a_second_delivery_does_not_run_a_running_scan(self) -> None:
        with psycopg.connect(worker_database_url(), autocommit=True) as other:
            other.execute(
                "SELECT pg_advisory_lock(%s, %s)", [scanning.SCAN_LOCK, self.scan.pk]
            )  # the first delivery, running in another worker
            with self.assertLogs("search.duplicates.scan", "WARNING"):
                scan = scanning.run_scan(self.scan.pk)
        self.assertEqual(scan.status, Status.QUEUED)
        self.assertFalse(DuplicateCandidate.objects.filter(scan=scan).exists())
        # The lock went with that session (once the server has ended it: on a busy machine
        # that is not at once).
        self.assertTrue(wait_for(lambda: not held_advisory_locks(scanning.SCAN_LOCK), LIMIT))
        scan = scanning.run_scan(self.scan.pk)
        self.assertEqual((scan.status, scan.group_count), (Status.SUCCEEDED, 2))


class InterruptedEvaluationTestCase(BankTestCase):
    with_vectors = True

    def setUp(self) -> None:
        super().setUp()
        self.gt, _ = groundtruth.import_json(
            {"name": "gt", "pairs": {"M-1": ["M-2"], "M-3": ["M-4"], "S-1": ["S-2"], "S-2": []}}
        )
        self.login(self.reviewer)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def dashboard(self):
        response = self.client.get(reverse("evaluation:dashboard"), {"gt": "gt"})
        self.assertEqual(response.status_code, 200)
        return response

    def test_interrupted_run_never_shows_partial_metrics(self) -> None:
        done = evaluate.execute(evaluate.create_run(self.gt, space="eval-hash", mode="dense").pk)
        self.assertEqual(done.status, EvaluationRun.Status.SUCCEEDED)
        metrics = done.metrics

        original = runs.run_queries

        def dying(items, *, progress=None, **kwargs):
            def report_then_die(n: int, total: int) -> None:
                progress(n, total)
                if n == total // 2:
                    raise SystemExit("worker shut down hard")

            return original(items, progress=report_then_die, **kwargs)

        run = evaluate.create_run(self.gt, space="eval-hash", mode="dense")
        with mock.patch.object(runs, "run_queries", dying), self.assertRaises(SystemExit):
            evaluate.execute(run.pk)
        run.refresh_from_db()
        self.assertEqual(run.status, EvaluationRun.Status.RUNNING)
        self.assertTrue(0 < run.done < run.total, (run.done, run.total))  # stopped half way
        self.assertEqual(run.metrics, {})

        response = self.dashboard()
        self.assertEqual([r.pk for r in response.context["runs"]], [done.pk])
        self.assertEqual(response.context["rows"][0]["run"].metrics, metrics)
        self.assertIn(run, response.context["active"])
        detail = self.client.get(reverse("evaluation:run-detail", args=[run.pk]))
        self.assertEqual(detail.context["groups"], [])

        # Past the timeout the run is failed, and the metrics shown are still the complete run's.
        EvaluationRun.objects.filter(pk=run.pk).update(
            heartbeat_at=timezone.now() - timedelta(seconds=5)
        )
        with override_settings(ITEMBANK_STALE_JOB_SECONDS=3600):
            jobs.fail_stale()
            self.dashboard()
            run.refresh_from_db()
            self.assertEqual(run.status, EvaluationRun.Status.RUNNING)
        with override_settings(ITEMBANK_STALE_JOB_SECONDS=1):
            self.dashboard()  # reading never fails it (issue 10): the beat does
            run.refresh_from_db()
            self.assertEqual(run.status, EvaluationRun.Status.RUNNING)
            jobs.fail_stale()
            response = self.dashboard()
        run.refresh_from_db()
        self.assertEqual(run.status, EvaluationRun.Status.FAILED)
        # The reason is stored in the site's language (issue 10: the beat writes it, in Korean).
        self.assertEqual(run.error, "중단됨: 실행이 끝나기 전에 워커가 멈췄습니다.")
        self.assertEqual(run.metrics, {})
        self.assertIn(run, response.context["failed"])
        self.assertEqual([r.pk for r in response.context["runs"]], [done.pk])
        self.assertEqual(response.context["rows"][0]["run"].metrics, metrics)
        self.assertContains(response, "중단됨: 실행이 끝나기 전에 워커가 멈췄습니다.")
