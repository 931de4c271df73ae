"""The duplicate report page: roles, pagination, order and filters, starting a scan."""

from __future__ import annotations

from unittest import mock

from django.urls import reverse

from itembank import jobs
from search.duplicates.models import DuplicateGroup, DuplicateScan
from search.duplicates.scan import run_scan
from tests.duplicates.base import DuplicatesTestCase

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


class ReportPageTests(DuplicatesTestCase):
    url = reverse("duplicate-report")

    def test_roles(self) -> None:
        response = self.client.get(self.url)
        self.assertRedirects(response, f"{reverse('login')}?next={self.url}")
        self.login(self.teacher)
        self.assertEqual(self.client.get(self.url).status_code, 403)
        for user in (self.reviewer, self.admin):
            self.login(user)
            self.assertEqual(self.client.get(self.url).status_code, 200)

    def test_nav_link_for_reviewers_only(self) -> None:
        self.login(self.reviewer)
        self.assertContains(self.client.get(reverse("item-list"), **EN), self.url)
        self.login(self.teacher)
        self.assertNotContains(self.client.get(reverse("item-list"), **EN), self.url)

    def test_no_scan_yet(self) -> None:
        self.login(self.admin)
        response = self.client.get(self.url, **EN)
        self.assertContains(response, "No scan has finished yet")
        self.assertContains(response, 'id="start-scan"')
        self.login(self.reviewer)
        self.assertNotContains(self.client.get(self.url, **EN), 'id="start-scan"')

    def make_groups(self) -> DuplicateScan:
        self.near("M", 3)  # 수학
        self.near("S", 2, subject="과학")
        self.near("K", 2, subject="국어")
        self.embed()
        return self.scan()

    def test_lists_groups_ordered_and_filtered(self) -> None:
        scan = self.make_groups()
        groups = DuplicateGroup.objects.filter(scan=scan)
        self.login(self.reviewer)
        response = self.client.get(self.url, **EN)
        self.assertContains(response, "Groups to review: 3")
        shown = [g.pk for g in response.context["page"].object_list]
        by_score = sorted(groups, key=lambda g: (-g.max_score, g.pk))
        self.assertEqual(shown, [g.pk for g in by_score])
        response = self.client.get(self.url, {"order": "subject"}, **EN)
        self.assertEqual(
            [g.subject for g in response.context["page"].object_list], ["과학", "국어", "수학"]
        )
        response = self.client.get(self.url, {"subject": "국어"}, **EN)
        self.assertEqual([g.subject for g in response.context["page"].object_list], ["국어"])
        self.assertContains(response, "data-math")
        group_link = reverse("duplicate-group", args=[response.context["page"][0].pk])
        self.assertContains(response, f"{group_link}?subject=")

    def test_paginated(self) -> None:
        self.make_groups()
        self.login(self.reviewer)
        with mock.patch("search.duplicates.views.PAGE_SIZE", 2):
            first = self.client.get(self.url, **EN)
            second = self.client.get(self.url, {"page": 2}, **EN)
        self.assertEqual(len(first.context["page"].object_list), 2)
        self.assertEqual(len(second.context["page"].object_list), 1)
        self.assertContains(first, "page 1 of 2")

    def test_bad_filters_are_ignored_with_a_message(self) -> None:
        self.make_groups()
        self.login(self.reviewer)
        response = self.client.get(self.url, {"order": "random", "subject": "물리"}, **EN)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "they were ignored")
        self.assertContains(response, "Groups to review: 3")

    def test_admin_starts_a_scan_and_watches_it(self) -> None:
        self.login(self.reviewer)
        start = reverse("duplicate-scan-start")
        self.assertEqual(self.client.post(start).status_code, 403)
        self.assertEqual(self.client.get(start).status_code, 405)
        self.login(self.admin)
        with (
            mock.patch("search.duplicates.tasks.run_scan.apply_async") as queued,
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(start, **EN)
        self.assertRedirects(response, self.url)
        queued.assert_called_once()
        scan = DuplicateScan.objects.get()
        page = self.client.get(self.url, **EN)
        self.assertContains(page, f'hx-get="{reverse("duplicate-scan", args=[scan.pk])}"')
        self.assertContains(page, "<progress")
        self.assertContains(page, 'id="start-scan" disabled')
        status = self.client.get(reverse("duplicate-scan", args=[scan.pk]), **EN)
        self.assertContains(status, "Queued")
        self.assertEqual(self.client.get(reverse("duplicate-scan", args=[999])).status_code, 404)

    def test_queue_down_keeps_the_scan_queued_until_the_beat_sends_it(self) -> None:
        # Behaviour changed (issue 10): the scan no longer runs inside the request.
        self.near("M", 2)
        self.embed()
        self.login(self.admin)
        with (
            mock.patch("search.duplicates.tasks.run_scan.apply_async", side_effect=OSError("down")),
            self.captureOnCommitCallbacks(execute=True),
        ):
            response = self.client.post(reverse("duplicate-scan-start"), follow=True, **EN)
        self.assertContains(response, "starts when the queue is back")
        scan = DuplicateScan.objects.get()
        self.assertEqual(scan.status, DuplicateScan.Status.QUEUED)
        with mock.patch("search.duplicates.tasks.run_scan.apply_async") as queued:
            self.assertEqual(jobs.send_queued(), 1)
        queued.assert_called_once_with(args=[scan.pk], queue="default", retry=False)
        run_scan(scan.pk)  # the worker's side
        response = self.client.get(self.url, **EN)
        self.assertContains(response, "Groups to review: 1")

    def test_failed_scan_is_reported(self) -> None:
        DuplicateScan.objects.create(
            status=DuplicateScan.Status.FAILED, error="out of memory", space=self.space
        )
        self.login(self.reviewer)
        response = self.client.get(self.url, **EN)
        self.assertContains(response, "out of memory")
        self.assertContains(response, "No scan has finished yet")
