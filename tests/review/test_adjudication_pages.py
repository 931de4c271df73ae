"""Adjudication, agreement and export pages (admins)."""

from __future__ import annotations

import csv
import io
import json

from django.urls import reverse

from itembank.models import Role
from search.review import services
from search.review.models import Adjudication, Campaign
from tests.base import make_user
from tests.review.base import ReviewTestCase

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


class AdjudicationPageTestCase(ReviewTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.c = self.campaign(n=2, pairs=[(0, 1), (3, 4), (5, 6)])
        self.one, self.two, self.three = self.c.pairs.order_by("position")
        for pair, a, b in (
            (self.one, "similar", "similar"),
            (self.two, "similar", "not_similar"),
            (self.three, "duplicate", "similar"),
        ):
            services.submit(self.c, pair, self.reviewer, label=a, note=f"r1 {pair.position}")
            services.submit(self.c, pair, self.reviewer2, label=b)
        self.login(self.admin)
        self.url = reverse("review-adjudicate", args=[self.c.pk])

    def test_conflicts_listed_with_every_label(self) -> None:
        page = self.client.get(self.url, **EN)
        self.assertContains(page, "2 pairs have conflicting labels")
        self.assertContains(page, "r1 2")  # the first open conflict is pair 2
        self.assertContains(page, "reviewer2")
        self.assertNotContains(page, "r1 1")  # agreed pairs are not conflicts

    def test_decide_then_next(self) -> None:
        response = self.client.post(
            reverse("review-adjudicate-submit", args=[self.c.pk, self.two.pk]),
            {"label": "not_similar", "grade": "", "note": "different skill"},
            follow=True,
            **EN,
        )
        self.assertContains(response, "Decided: Not similar.")
        self.assertContains(response, "1 pair has conflicting labels")
        self.assertEqual(Adjudication.objects.get(pair=self.two).decided_by, self.admin)

    def test_bad_decisions(self) -> None:
        other = self.campaign("other", pairs=[(7, 8)])
        for pair_id, data, message in [
            (self.two.pk, {"label": "maybe"}, "Pick a label"),
            (self.two.pk, {"label": "similar", "grade": "7"}, "from 0 to 3"),
            (other.pairs.get().pk, {"label": "similar"}, "not part of the campaign"),
        ]:
            response = self.client.post(
                reverse("review-adjudicate-submit", args=[self.c.pk, pair_id]),
                data,
                follow=True,
                **EN,
            )
            self.assertContains(response, message)
        self.assertFalse(Adjudication.objects.exists())
        self.login(self.reviewer)
        response = self.client.post(
            reverse("review-adjudicate-submit", args=[self.c.pk, self.two.pk]), {"label": "similar"}
        )
        self.assertEqual(response.status_code, 403)

    def test_item_deleted_before_the_decision(self) -> None:
        self.items[4].delete()
        response = self.client.post(
            reverse("review-adjudicate-submit", args=[self.c.pk, self.two.pk]),
            {"label": "similar"},
            follow=True,
            **EN,
        )
        self.assertContains(response, "Your decision is saved, but R-0004 has been deleted")
        self.assertEqual(Adjudication.objects.get(pair=self.two).label, "similar")
        page = self.client.get(f"{self.url}?pair={self.two.pk}", **EN)
        self.assertContains(page, "This item has been deleted from the bank.")

    def test_agreement_page_and_expert_results(self) -> None:
        page = self.client.get(reverse("review-agreement", args=[self.c.pk]), **EN)
        report = services.agreement_report(self.c)
        self.assertContains(page, "Fleiss")
        self.assertContains(page, f"{report['krippendorff']['alpha']:.3f}")
        self.assertContains(page, "reviewer · reviewer2")
        self.assertContains(page, "1 pairs marked relevant")  # pair 1: both said similar

    def test_agreement_figures_of_the_campaign(self) -> None:
        report = services.agreement_report(self.c)
        # labels: (s, s), (s, n), (d, s) -> 1 of 3 agree
        self.assertAlmostEqual(report["percent_agreement"], 1 / 3)
        a = ["similar", "similar", "duplicate"]
        b = ["similar", "not_similar", "similar"]
        from search.review.agreement import cohen_kappa, fleiss_kappa, krippendorff_alpha

        self.assertEqual(report["cohen"][0]["kappa"], cohen_kappa(a, b))
        self.assertEqual(report["fleiss"]["raters"], 2)
        self.assertAlmostEqual(
            report["fleiss"]["kappa"], fleiss_kappa(list(zip(a, b, strict=True)))
        )
        self.assertAlmostEqual(
            report["krippendorff"]["alpha"], krippendorff_alpha(list(zip(a, b, strict=True)))
        )
        third = make_user("reviewer3", Role.REVIEWER)
        # A third label needs a third slot (issue 15: slots hold on submit).
        self.c.reviewers_per_pair = 3
        self.c.save(update_fields=["reviewers_per_pair"])
        services.submit(self.c, self.one, third, label="similar")
        report = services.agreement_report(self.c)
        self.assertEqual(len(report["cohen"]), 3)
        self.assertEqual(report["fleiss"]["n"], 2)  # the pairs with two raters

    def test_export_jsonl_csv_json(self) -> None:
        url = reverse("review-export", args=[self.c.pk])
        rows = [
            json.loads(line)
            for line in self.client.get(url + "?format=jsonl").content.decode().splitlines()
        ]
        self.assertEqual(len(rows), 6)
        self.assertEqual(
            {k for k in rows[0]} >= {"reviewer", "label", "seconds_spent", "submitted_at"}, True
        )
        csv_rows = list(
            csv.DictReader(io.StringIO(self.client.get(url + "?format=csv").content.decode()))
        )
        self.assertEqual([r["reviewer"] for r in csv_rows], [r["reviewer"] for r in rows])
        samples = json.loads(self.client.get(url + "?format=json").content)
        self.assertEqual(len(samples), 3)
        self.assertEqual(len(samples[1]["labels"]), 2)
        bad = self.client.get(url + "?format=xml", follow=True, **EN)
        self.assertContains(bad, "Export as jsonl, csv or json.")

    def test_close_and_reopen(self) -> None:
        url = reverse("review-campaign-status", args=[self.c.pk])
        self.client.post(url, {"status": "closed"})
        self.assertEqual(Campaign.objects.get(pk=self.c.pk).status, "closed")
        self.client.post(url, {"status": "bogus"})
        self.assertEqual(Campaign.objects.get(pk=self.c.pk).status, "closed")
        self.client.post(url, {"status": "open"})
        self.assertEqual(Campaign.objects.get(pk=self.c.pk).status, "open")
