"""Recording verdicts on pairs (`services.record_decision`), changing and undoing them."""

from __future__ import annotations

from itembank.models import ItemRevision, ItemStatus
from search.duplicates import services
from search.duplicates.models import PairDecision
from tests.duplicates.base import DuplicatesTestCase, make_text_item

Kind = PairDecision.Kind


class RecordDecisionTests(DuplicatesTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.a = make_text_item("A-1", "첫째 문항")
        self.b = make_text_item("B-1", "둘째 문항")
        self.c = make_text_item("C-1", "셋째 문항")

    def test_duplicate_retires_the_other_item_with_history(self) -> None:
        decision = services.record_decision(
            self.b, self.a, Kind.DUPLICATE, user=self.admin, keeper=self.b, note="같은 문항"
        )
        self.assertEqual((decision.item_a_id, decision.item_b_id), (self.a.pk, self.b.pk))
        self.a.refresh_from_db()
        self.b.refresh_from_db()
        self.assertEqual(self.a.status, ItemStatus.RETIRED)
        self.assertEqual(self.b.status, ItemStatus.ACTIVE)
        revision = self.a.revisions.filter(action=ItemRevision.Action.STATUS).get()
        self.assertEqual(revision.via, "duplicates")
        self.assertEqual(revision.user, self.admin)
        self.assertEqual(decision.retired_item, self.a)
        self.assertEqual(decision.decided_by, self.admin)

    def test_changing_and_undoing_restore_the_retired_item(self) -> None:
        services.record_decision(self.a, self.b, Kind.DUPLICATE, user=self.admin, keeper=self.a)
        self.b.refresh_from_db()
        self.assertEqual(self.b.status, ItemStatus.RETIRED)
        changed = services.record_decision(self.a, self.b, Kind.VARIANT, user=self.admin)
        self.b.refresh_from_db()
        self.assertEqual(self.b.status, ItemStatus.ACTIVE)
        self.assertEqual(PairDecision.objects.count(), 1)
        self.assertEqual(list(services.linked_items(self.a)), [self.b])
        self.assertEqual(list(services.linked_items(self.b)), [self.a])
        services.record_decision(self.a, self.b, Kind.DUPLICATE, user=self.admin, keeper=self.b)
        self.a.refresh_from_db()
        self.assertEqual(self.a.status, ItemStatus.RETIRED)
        services.undo_decision(PairDecision.objects.get(pk=changed.pk), user=self.admin)
        self.a.refresh_from_db()
        self.assertEqual(self.a.status, ItemStatus.ACTIVE)
        self.assertFalse(PairDecision.objects.exists())

    def test_undo_keeps_an_item_retired_before_the_decision(self) -> None:
        from itembank.services import set_status

        set_status([self.b], ItemStatus.DRAFT)
        decision = services.record_decision(
            self.a, self.b, Kind.DUPLICATE, user=self.admin, keeper=self.a
        )
        self.assertEqual(decision.retired_from, ItemStatus.DRAFT)
        services.undo_decision(decision, user=self.admin)
        self.b.refresh_from_db()
        self.assertEqual(self.b.status, ItemStatus.DRAFT)

    def test_enemy_and_variant_lists(self) -> None:
        services.record_decision(self.a, self.b, Kind.ENEMY, user=self.reviewer)
        services.record_decision(self.c, self.a, Kind.VARIANT, user=self.reviewer)
        self.assertEqual(list(services.enemy_items(self.a)), [self.b])
        self.assertEqual(list(services.linked_items(self.a)), [self.c])
        self.assertEqual(list(services.enemy_items(self.c)), [])

    def test_bad_input_is_refused_and_changes_nothing(self) -> None:
        cases = [
            ((self.a, self.a, Kind.NOT_DUPLICATE), {}, "two different items"),
            ((self.a, self.b, "same"), {}, "Unknown decision"),
            ((self.a, self.b, Kind.DUPLICATE), {}, "which of the two items to keep"),
            ((self.a, self.b, Kind.DUPLICATE), {"keeper": self.c}, "one of the two items"),
            ((self.a, self.b, Kind.ENEMY), {"keeper": self.a}, "Only a duplicate"),
            ((self.a, 999999, Kind.ENEMY), {}, "does not exist"),
            ((self.a, self.b, Kind.ENEMY), {"note": "x" * 2001}, "2,000"),
        ]
        for args, kwargs, message in cases:
            with self.subTest(message=message):
                with self.assertRaisesMessage(services.DecisionError, message):
                    services.record_decision(*args, user=self.admin, **kwargs)
        self.assertFalse(PairDecision.objects.exists())
        self.assertEqual(
            set(type(self.a).objects.values_list("status", flat=True)), {ItemStatus.ACTIVE}
        )

    def test_keeping_a_retired_item_is_refused(self) -> None:
        services.record_decision(self.a, self.b, Kind.DUPLICATE, user=self.admin, keeper=self.a)
        with self.assertRaisesMessage(services.DecisionError, "is retired"):
            services.record_decision(self.b, self.c, Kind.DUPLICATE, user=self.admin, keeper=self.b)
        self.c.refresh_from_db()
        self.assertEqual(self.c.status, ItemStatus.ACTIVE)

    def test_roles(self) -> None:
        self.assertTrue(services.can_decide(self.admin, Kind.DUPLICATE))
        self.assertFalse(services.can_decide(self.reviewer, Kind.DUPLICATE))
        for kind in (Kind.VARIANT, Kind.ENEMY, Kind.NOT_DUPLICATE):
            self.assertTrue(services.can_decide(self.reviewer, kind))
            self.assertFalse(services.can_decide(self.teacher, kind))
        self.assertFalse(services.can_change_decisions(self.reviewer))
        self.assertFalse(services.can_view_duplicates(self.teacher))
