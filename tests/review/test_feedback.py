"""Final verdicts feed the expert ground truth and the duplicate scan; undoing takes them back."""

from __future__ import annotations

from search.duplicates.models import PairDecision
from search.duplicates.services import decision_for, record_decision
from search.evaluation.groundtruth import expert_set, set_pair
from search.evaluation.models import GroundTruthPair
from search.review import services
from tests.review.base import ReviewTestCase


class FeedbackTestCase(ReviewTestCase):
    def relevance(self, q: int, c: int) -> int | None:
        return (
            GroundTruthPair.objects.filter(
                gt_set=expert_set(), query=self.items[q], relevant=self.items[c]
            )
            .values_list("relevance", flat=True)
            .first()
        )

    def label_all(self, campaign, user, value, **kwargs) -> None:
        while (label := services.open_pair(campaign, user)) is not None:
            services.submit(campaign, label.pair, user, label=value, **kwargs)

    def test_one_reviewer_similar_and_duplicate_with_default_and_given_grades(self) -> None:
        campaign = self.campaign(n=1, pairs=[(0, 1), (3, 4), (5, 6)])
        pairs = list(campaign.pairs.order_by("position"))
        services.submit(campaign, pairs[0], self.reviewer, label="similar")
        services.submit(campaign, pairs[1], self.reviewer, label="duplicate")
        services.submit(campaign, pairs[2], self.reviewer, label="similar", grade=0)
        self.assertEqual(self.relevance(0, 1), 1)
        self.assertEqual(self.relevance(3, 4), 3)
        self.assertEqual(self.relevance(5, 6), 1)  # grade 0 clamps to 1
        services.submit(campaign, pairs[0], self.reviewer, label="similar", grade=2)
        self.assertEqual(self.relevance(0, 1), 2)

    def test_not_similar_removes_and_is_respected_by_the_duplicate_scan(self) -> None:
        set_pair(expert_set(), self.items[0], self.items[5], 2)
        campaign = self.campaign(n=1, pairs=[(0, 5)])
        pair = campaign.pairs.get()
        services.submit(campaign, pair, self.reviewer, label="not_similar")
        self.assertIsNone(self.relevance(0, 5))
        decision = decision_for(self.items[0].pk, self.items[5].pk)
        self.assertEqual((decision.kind, decision.note), ("not_duplicate", "expert review"))
        self.assertEqual(services.expert_labels(), (set(), {(self.items[0].pk, self.items[5].pk)}))
        # undo: the earlier relevance comes back, the not-duplicate verdict goes
        services.undo_last(campaign, self.reviewer)
        self.assertEqual(self.relevance(0, 5), 2)
        self.assertIsNone(decision_for(self.items[0].pk, self.items[5].pk))
        self.assertEqual(services.expert_labels(), (set(), set()))

    def test_an_earlier_duplicate_verdict_is_left_alone(self) -> None:
        record_decision(self.items[0], self.items[5], "variant", user=self.admin)
        campaign = self.campaign(n=1, pairs=[(0, 5)])
        services.submit(campaign, campaign.pairs.get(), self.reviewer, label="not_similar")
        self.assertEqual(decision_for(self.items[0].pk, self.items[5].pk).kind, "variant")
        services.undo_last(campaign, self.reviewer)
        self.assertEqual(PairDecision.objects.get().kind, "variant")

    def test_two_reviewers_must_agree(self) -> None:
        campaign = self.campaign(n=2, pairs=[(0, 1), (3, 4)])
        one, two = campaign.pairs.order_by("position")
        services.submit(campaign, one, self.reviewer, label="similar", grade=2)
        self.assertIsNone(self.relevance(0, 1))  # only one of two
        services.submit(campaign, one, self.reviewer2, label="similar", grade=3)
        self.assertEqual(self.relevance(0, 1), 2)  # median of (2, 3), rounded down
        services.submit(campaign, two, self.reviewer, label="similar")
        services.submit(campaign, two, self.reviewer2, label="not_similar")
        self.assertIsNone(self.relevance(3, 4))  # a conflict: nothing written
        self.assertEqual(list(services.conflicts(campaign)), [two])
        self.assertEqual(services.expert_labels(), ({(self.items[0].pk, self.items[1].pk)}, set()))

    def test_adjudication_decides_and_can_be_changed(self) -> None:
        campaign = self.campaign(n=2, pairs=[(3, 4)])
        pair = campaign.pairs.get()
        services.submit(campaign, pair, self.reviewer, label="similar")
        services.submit(campaign, pair, self.reviewer2, label="not_similar")
        outcome = services.adjudicate(campaign, pair, self.admin, label="duplicate")
        self.assertEqual(outcome.sync, "applied")
        self.assertEqual(self.relevance(3, 4), 3)
        outcome = services.adjudicate(campaign, pair, self.admin, label="not_similar", note="no")
        self.assertIsNone(self.relevance(3, 4))
        self.assertEqual(decision_for(self.items[3].pk, self.items[4].pk).kind, "not_duplicate")
        # a reviewer changing their mind does not override the adjudication
        services.undo_last(campaign, self.reviewer)
        self.assertIsNone(self.relevance(3, 4))
        self.assertEqual(services.expert_labels()[1], {(self.items[3].pk, self.items[4].pk)})

    def test_undo_of_an_agreed_pair_takes_it_out_again(self) -> None:
        campaign = self.campaign(n=1, pairs=[(0, 1)])
        services.submit(campaign, campaign.pairs.get(), self.reviewer, label="duplicate")
        self.assertEqual(self.relevance(0, 1), 3)
        services.undo_last(campaign, self.reviewer)
        self.assertIsNone(self.relevance(0, 1))

    def test_deleted_item_during_adjudication_keeps_the_decision(self) -> None:
        campaign = self.campaign(n=2, pairs=[(3, 4)])
        pair = campaign.pairs.get()
        services.submit(campaign, pair, self.reviewer, label="similar")
        services.submit(campaign, pair, self.reviewer2, label="not_similar")
        self.items[4].delete()
        pair.refresh_from_db()
        outcome = services.adjudicate(campaign, pair, self.admin, label="similar")
        self.assertEqual(outcome.sync, "deleted")
        self.assertEqual(pair.adjudication.label, "similar")
        self.assertEqual(pair.labels.count(), 2)
        self.assertIn("R-0004", services.deleted_message(pair))
