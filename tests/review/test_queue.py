"""Each reviewer's queue: N independent reviewers per pair, claims, skips, undo, progress."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone, translation

from itembank.models import Role
from search.review import services
from search.review.models import Campaign, Label
from tests.base import make_user
from tests.review.base import ReviewTestCase


class QueueTestCase(ReviewTestCase):
    def test_one_reviewer_per_pair_splits_the_work(self) -> None:
        campaign = self.campaign(n=1)
        first = services.open_pair(campaign, self.reviewer)
        second = services.open_pair(campaign, self.reviewer2)
        self.assertNotEqual(first.pair, second.pair)  # the first is claimed
        self.assertEqual(first.pair.position, 1)
        self.assertEqual(services.open_pair(campaign, self.reviewer), first)  # same draft again
        services.submit(campaign, first.pair, self.reviewer, label="similar")
        self.assertEqual(services.open_pair(campaign, self.reviewer).pair.position, 3)

    def test_a_stale_claim_is_released(self) -> None:
        campaign = self.campaign(n=1, pairs=[(0, 1)])
        claim = services.open_pair(campaign, self.reviewer)
        self.assertIsNone(services.open_pair(campaign, self.reviewer2))
        Label.objects.filter(pk=claim.pk).update(
            updated_at=timezone.now() - timedelta(minutes=services.CLAIM_MINUTES + 1)
        )
        self.assertEqual(services.open_pair(campaign, self.reviewer2).pair, claim.pair)

    def test_two_reviewers_per_pair_both_see_every_pair(self) -> None:
        campaign = self.campaign(n=2)
        third = make_user("reviewer3", Role.REVIEWER)
        for user in (self.reviewer, self.reviewer2):
            seen = []
            while (label := services.open_pair(campaign, user)) is not None:
                seen.append(label.pair.position)
                services.submit(campaign, label.pair, user, label="similar")
            self.assertEqual(seen, [1, 2, 3, 4])
        self.assertIsNone(services.open_pair(campaign, third))  # every pair has its two
        p = services.progress(campaign, self.reviewer)
        self.assertEqual((p.total, p.complete, p.submitted, p.remaining), (4, 4, 4, 0))

    def test_skipped_pairs_are_not_offered_again_but_free_the_slot(self) -> None:
        campaign = self.campaign(n=1, pairs=[(0, 1), (3, 4)])
        label = services.open_pair(campaign, self.reviewer)
        services.skip(campaign, label.pair, self.reviewer)
        self.assertEqual(services.open_pair(campaign, self.reviewer).pair.position, 2)
        self.assertEqual(services.open_pair(campaign, self.reviewer2).pair.position, 1)
        p = services.progress(campaign, self.reviewer)
        self.assertEqual((p.skipped, p.draft, p.done), (1, 1, 1))

    def test_undo_brings_the_last_pair_back_with_its_label(self) -> None:
        campaign = self.campaign(n=1)
        one = services.open_pair(campaign, self.reviewer)
        services.submit(campaign, one.pair, self.reviewer, label="duplicate", grade=3, note="x")
        two = services.open_pair(campaign, self.reviewer)
        services.submit(campaign, two.pair, self.reviewer, label="not_similar")
        undone = services.undo_last(campaign, self.reviewer)
        self.assertEqual(undone.pair, two.pair)
        self.assertEqual((undone.status, undone.label), (Label.Status.DRAFT, "not_similar"))
        self.assertEqual(services.open_pair(campaign, self.reviewer).pair, two.pair)
        again = services.undo_last(campaign, self.reviewer)
        self.assertEqual(
            (again.pair, again.label, again.grade, again.note), (one.pair, "duplicate", 3, "x")
        )
        self.assertEqual(services.open_pair(campaign, self.reviewer).pair, one.pair)
        self.assertIsNone(services.undo_last(campaign, self.reviewer))

    def test_double_submit_updates_the_one_label(self) -> None:
        campaign = self.campaign(n=1)
        label = services.open_pair(campaign, self.reviewer)
        services.submit(campaign, label.pair, self.reviewer, label="similar")
        services.submit(campaign, label.pair, self.reviewer, label="duplicate", grade=2)
        rows = Label.objects.filter(pair=label.pair)
        self.assertEqual(rows.count(), 1)
        self.assertEqual((rows[0].label, rows[0].grade), ("duplicate", 2))

    def test_seconds_spent_is_measured_on_the_server(self) -> None:
        campaign = self.campaign(n=1)
        label = services.open_pair(campaign, self.reviewer)
        Label.objects.filter(pk=label.pk).update(opened_at=timezone.now() - timedelta(seconds=42))
        row = services.submit(campaign, label.pair, self.reviewer, label="similar")
        self.assertGreaterEqual(row.seconds_spent, 42)
        self.assertLess(row.seconds_spent, 60)

    def test_bad_input_changes_nothing(self) -> None:
        campaign = self.campaign(n=1)
        other = self.campaign("c2", pairs=[(5, 6)])
        label = services.open_pair(campaign, self.reviewer)
        foreign = other.pairs.get()
        cases = [
            ({"label": "same"}, "Pick a label"),
            ({"label": ""}, "Pick a label"),
            ({"label": "similar", "grade": 4}, "from 0 to 3"),
            ({"label": "similar", "grade": -1}, "from 0 to 3"),
            ({"label": "similar", "grade": "x"}, "from 0 to 3"),
            ({"label": "similar", "grade": True}, "from 0 to 3"),
            ({"label": "similar", "note": "x" * 2001}, "2,000"),
        ]
        with translation.override("en"):
            for kwargs, message in cases:
                with (
                    self.subTest(kwargs=kwargs),
                    self.assertRaisesMessage(services.ReviewError, message),
                ):
                    services.submit(campaign, label.pair, self.reviewer, **kwargs)
            with self.assertRaisesMessage(services.ReviewError, "not part of the campaign"):
                services.submit(campaign, foreign, self.reviewer, label="similar")
            with self.assertRaisesMessage(services.ReviewError, "not part of the campaign"):
                services.pair_in_campaign(campaign, foreign.pk)
            with self.assertRaisesMessage(services.ReviewError, "There is no pair"):
                services.pair_in_campaign(campaign, 10**8)
        self.assertFalse(Label.objects.filter(status=Label.Status.SUBMITTED).exists())

    def test_closed_campaign_takes_no_labels(self) -> None:
        campaign = self.campaign(n=1)
        label = services.open_pair(campaign, self.reviewer)
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)
        campaign.refresh_from_db()
        self.assertIsNone(services.open_pair(campaign, self.reviewer))
        with translation.override("en"), self.assertRaisesMessage(services.ReviewError, "closed"):
            services.submit(campaign, label.pair, self.reviewer, label="similar")

    def test_deleted_item_pairs_are_not_offered(self) -> None:
        campaign = self.campaign(n=1, pairs=[(0, 1), (3, 4)])
        self.items[1].delete()
        self.assertEqual(services.open_pair(campaign, self.reviewer).pair.position, 2)
        pair = campaign.pairs.get(position=1)
        self.assertEqual(pair.candidate_external_id, "R-0001")  # the pair is kept
        with (
            translation.override("en"),
            self.assertRaisesMessage(services.ReviewError, "has been deleted"),
        ):
            services.submit(campaign, pair, self.reviewer, label="similar")
