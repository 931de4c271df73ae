"""Every empty state says what to do next and links the action, or says who can do it (issue 14),
for each role that sees the page."""

from __future__ import annotations

from django.test import TestCase

from itembank.models import Role
from search.evaluation.models import GroundTruthPair, GroundTruthSet
from tests.base import make_item, make_user


class EmptyStateTests(TestCase):
    def setUp(self) -> None:
        self.teacher = make_user("teacher", Role.TEACHER)
        self.reviewer = make_user("reviewer", Role.REVIEWER)
        self.admin = make_user("admin", Role.ADMIN)

    def page(self, user, url: str):
        self.client.force_login(user)
        response = self.client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(response.status_code, 200, url)
        return response

    def make_set(self) -> GroundTruthSet:
        a, b = make_item("MATH-2-000001"), make_item("MATH-2-000002", stem="다른 문항 $1+1$")
        gt_set = GroundTruthSet.objects.create(name="planted", kind=GroundTruthSet.Kind.PLANTED)
        GroundTruthPair.objects.create(gt_set=gt_set, query=a, relevant=b, relevance=2)
        return gt_set

    def test_review_without_campaigns(self) -> None:
        page = self.page(self.reviewer, "/review/")
        self.assertContains(page, "There are no review campaigns yet.")
        self.assertContains(page, "An administrator creates the campaigns")
        self.assertNotContains(page, 'href="/review/new/"')
        # An admin without a ground-truth set is sent to build one first ...
        page = self.page(self.admin, "/review/")
        self.assertContains(page, "A campaign draws its pairs from a ground-truth set")
        self.assertContains(page, 'href="/evaluation/#manage"')
        # ... and with one, to create the campaign.
        self.make_set()
        page = self.page(self.admin, "/review/")
        self.assertNotContains(page, "A campaign draws its pairs")
        self.assertContains(page, '<a class="btn btn-primary" href="/review/new/">Create the first')

    def test_evaluation_without_sets(self) -> None:
        page = self.page(self.reviewer, "/evaluation/")
        self.assertContains(page, "No ground-truth set yet. An administrator builds them.")
        self.assertContains(page, '<a href="/review/">Go to the review campaigns</a>')
        page = self.page(self.admin, "/evaluation/")
        self.assertContains(page, '<a href="#manage">Build one below.</a>')
        self.assertContains(page, 'id="manage"')

    def test_evaluation_without_runs(self) -> None:
        self.make_set()
        page = self.page(self.reviewer, "/evaluation/")
        self.assertContains(
            page, "No finished run on this set yet. An administrator can start one."
        )
        page = self.page(self.admin, "/evaluation/")
        self.assertContains(page, '<a href="#manage">Start one under “Evaluate” below.</a>')

    def test_items_of_an_empty_bank(self) -> None:
        page = self.page(self.teacher, "/items/")
        self.assertContains(page, 'href="/items/new/"')
        self.assertNotContains(page, 'href="/manage/import/"')
        self.assertNotContains(page, "Teachers and administrators add items")
        page = self.page(self.admin, "/items/")
        self.assertContains(page, 'href="/items/new/"')
        self.assertContains(page, '<a class="btn" href="/manage/import/">Import a file</a>')
        page = self.page(self.reviewer, "/items/")
        self.assertNotContains(page, 'href="/items/new/"')
        self.assertContains(page, "Teachers and administrators add items; they appear here then.")

    def test_items_no_match_for_a_filter(self) -> None:
        make_item()
        for user in (self.teacher, self.reviewer, self.admin):
            page = self.page(user, "/items/?q=없는말")
            self.assertContains(page, "No items match these filters.")
            self.assertContains(page, 'href="/items/">Clear filters</a>')

    def test_search_before_a_query(self) -> None:
        for user in (self.teacher, self.reviewer, self.admin):
            page = self.page(user, "/search/")
            self.assertContains(page, "Type a question or drop a figure above, then press Search.")

    def test_duplicates_before_a_scan(self) -> None:
        page = self.page(self.reviewer, "/duplicates/")
        self.assertContains(page, "No scan has finished yet. An administrator can start one.")
        page = self.page(self.admin, "/duplicates/")
        self.assertContains(page, "Start a scan to find duplicate items.")
        self.assertContains(page, 'id="start-scan"')

    def test_import_without_imports(self) -> None:
        page = self.page(self.admin, "/manage/import/")
        self.assertContains(page, "No imports yet. Upload a file above;")
        for user in (self.teacher, self.reviewer):
            self.client.force_login(user)
            self.assertEqual(
                self.client.get("/manage/import/", HTTP_ACCEPT_LANGUAGE="en").status_code, 403
            )
