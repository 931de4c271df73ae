"""The permission matrix for form *fields*: `tests/test_permissions.py` checks who reaches each
URL; this checks what a role may change through the fields of a page it does reach — the item's
status (teachers move items between draft and active only; retiring and un-retiring are for
admins, `itembank.permissions.can_set_status`), the same through the API, and the duplicate
relations the item form records while saving (`search.authoring`).
"""

from __future__ import annotations

from django.urls import reverse

from itembank.models import Item, ItemRevision, ItemStatus
from tests.base import BaseTestCase, make_item

ACTIVE, DRAFT, RETIRED = ItemStatus.ACTIVE, ItemStatus.DRAFT, ItemStatus.RETIRED


def form_data(item: Item | None, status: str, **overrides) -> dict:
    data = {
        "external_id": item.external_id if item else "MATH-NEW-1",
        "status": status,
        "subject": "수학",
        "item_type": "multiple_choice",
        "stem": item.stem if item else "새 문항의 발문입니다.",
        "choices": list(item.choices) if item else ["가", "나"],
        "answer": "1",
    }
    if item is not None:
        data["version"] = item.version
    data.update(overrides)
    return data


class StatusFieldTests(BaseTestCase):
    """(role, saved status, requested status) → allowed, through the form and the API."""

    # Changes only an admin may make; every other change between the statuses is a teacher's.
    ADMIN_ONLY = {(ACTIVE, RETIRED), (DRAFT, RETIRED), (RETIRED, ACTIVE), (RETIRED, DRAFT)}

    def allowed(self, role: str, current: str | None, new: str) -> bool:
        if current == new or role == "admin":
            return True
        return (current, new) not in self.ADMIN_ONLY and not (current is None and new == RETIRED)

    def test_edit_form(self) -> None:
        for role in ("teacher", "admin"):
            for current in (DRAFT, ACTIVE, RETIRED):
                for new in (DRAFT, ACTIVE, RETIRED):
                    with self.subTest(role=role, current=current, new=new):
                        item = make_item(f"S-{role}-{current}-{new}", status=current)
                        self.login(getattr(self, role))
                        r = self.client.post(
                            reverse("item-edit", args=[item.pk]),
                            form_data(item, new),
                            HTTP_ACCEPT_LANGUAGE="en",
                        )
                        item.refresh_from_db()
                        if self.allowed(role, current, new):
                            self.assertEqual(r.status_code, 302)
                            self.assertEqual(item.status, new)
                        else:
                            self.assertEqual(r.status_code, 200)
                            self.assertIn("status", r.context["form"].errors)
                            self.assertIn("Only administrators", r.content.decode())
                            self.assertEqual(item.status, current)

    def test_create_form(self) -> None:
        for role in ("teacher", "admin"):
            for new in (DRAFT, ACTIVE, RETIRED):
                with self.subTest(role=role, new=new):
                    self.login(getattr(self, role))
                    external_id = f"NEW-{role}-{new}"
                    r = self.client.post(
                        reverse("item-create"), form_data(None, new, external_id=external_id)
                    )
                    created = Item.objects.filter(external_id=external_id).first()
                    if self.allowed(role, None, new):
                        self.assertEqual(r.status_code, 302)
                        self.assertEqual(created.status, new)
                    else:
                        self.assertEqual(r.status_code, 200)
                        self.assertIsNone(created)

    def test_api(self) -> None:
        for role in ("teacher", "admin"):
            for current in (DRAFT, ACTIVE, RETIRED):
                for new in (DRAFT, ACTIVE, RETIRED):
                    with self.subTest(role=role, current=current, new=new):
                        item = make_item(f"A-{role}-{current}-{new}", status=current)
                        self.login(getattr(self, role))
                        r = self.client.patch(
                            reverse("item-api-detail", args=[item.pk]),
                            {"status": new},
                            content_type="application/json",
                        )
                        item.refresh_from_db()
                        if self.allowed(role, current, new):
                            self.assertEqual(r.status_code, 200, r.content)
                            self.assertEqual(item.status, new)
                        else:
                            self.assertEqual(r.status_code, 400, r.content)
                            self.assertIn("status", r.json())
                            self.assertEqual(item.status, current)

    def test_the_services_refuse_what_a_caller_forgot_to_check(self) -> None:
        from django.core.exceptions import PermissionDenied

        from itembank.services import save_item, set_status

        item = make_item("S-SERVICE")
        item.status = RETIRED
        with self.assertRaises(PermissionDenied):
            save_item(item, user=self.teacher)
        with self.assertRaises(PermissionDenied):
            set_status([Item.objects.get(pk=item.pk)], RETIRED, user=self.teacher)
        self.assertEqual(Item.objects.get(pk=item.pk).status, ACTIVE)
        self.assertFalse(
            ItemRevision.objects.filter(item=item, action=ItemRevision.Action.STATUS).exists()
        )


class RelationFieldTests(BaseTestCase):
    """The item form's `duplicate_confirmed` / `duplicate_candidates` / `relation_N` fields:
    only candidates the server offered for this draft, never an existing decision changed, and
    a duplicate (which retires an item) only as an admin."""

    def setUp(self) -> None:
        super().setUp()
        from search import keyword
        from search.duplicates.services import record_decision

        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        self.kept = make_item("DUP-KEPT", stem="삼각형의 세 내각의 합은 몇 도인가?")
        self.retired = make_item("DUP-GONE", stem="삼각형 세 내각의 크기의 합을 구하시오.")
        self.other = make_item("DUP-OTHER", stem="사각형의 네 내각의 합은 몇 도인가?")
        self.never_offered = make_item("DUP-NEVER", stem="원의 넓이를 구하는 공식은?")
        record_decision(self.kept, self.retired, "duplicate", user=self.admin, keeper=self.kept)
        self.login(self.teacher)

    def save_anyway(self, item: Item, candidates: str, **relations) -> None:
        item.refresh_from_db()  # each submit carries the version it edits
        data = form_data(item, item.status, duplicate_confirmed="1")
        data["duplicate_candidates"] = candidates
        data.update({f"relation_{pk}": value for pk, value in relations.items()})
        r = self.client.post(reverse("item-edit", args=[item.pk]), data)
        self.assertEqual(r.status_code, 302)

    def decisions(self) -> set[tuple]:
        from search.duplicates.models import PairDecision

        return {
            (d.item_a_id, d.item_b_id, d.kind, d.decided_by_id) for d in PairDecision.objects.all()
        }

    def test_an_existing_decision_is_never_changed_through_the_form(self) -> None:
        from search.authoring import sign_offer

        before = self.decisions()
        pk = self.retired.pk
        self.save_anyway(self.kept, str(pk), **{str(pk): "variant"})  # unsigned
        # Even an offer the server did sign (the pair was decided after it) changes nothing.
        self.save_anyway(
            self.kept, sign_offer(self.teacher, self.kept.pk, [pk]), **{str(pk): "variant"}
        )
        self.assertEqual(self.decisions(), before)
        self.retired.refresh_from_db()
        self.assertEqual(self.retired.status, RETIRED)

    def test_a_teacher_cannot_retire_through_a_duplicate_relation(self) -> None:
        from search.authoring import sign_offer

        pk = self.never_offered.pk
        self.save_anyway(
            self.other, sign_offer(self.teacher, self.other.pk, [pk]), **{str(pk): "duplicate"}
        )
        self.other.refresh_from_db()
        self.assertEqual(self.other.status, ACTIVE)
        self.assertEqual(len(self.decisions()), 1)

    def test_only_offered_candidates_are_related(self) -> None:
        from search.authoring import sign_offer

        pk = self.never_offered.pk
        relation = {str(pk): "enemy"}
        self.save_anyway(self.other, str(pk), **relation)  # never offered
        self.save_anyway(self.other, sign_offer(self.reviewer, self.other.pk, [pk]), **relation)
        self.save_anyway(self.other, sign_offer(self.teacher, self.kept.pk, [pk]), **relation)
        self.save_anyway(
            self.other, "forged:" + sign_offer(self.teacher, self.other.pk, [pk]), **relation
        )
        self.assertEqual(len(self.decisions()), 1)
        # What the server offered to this teacher for this item is recorded.
        self.save_anyway(self.other, sign_offer(self.teacher, self.other.pk, [pk]), **relation)
        self.assertIn((*sorted((self.other.pk, pk)), "enemy", self.teacher.pk), self.decisions())

    def test_the_offer_comes_from_the_warning(self) -> None:
        import re

        data = form_data(None, ACTIVE, stem=self.other.stem, check_duplicates="1")
        data["choices"] = list(self.other.choices)
        r = self.client.post(reverse("item-create"), data)
        self.assertEqual(r.status_code, 200)
        offer = re.search(r'name="duplicate_candidates" value="([^"]+)"', r.content.decode())
        self.assertIsNotNone(offer)
        data.update(
            duplicate_confirmed="1",
            duplicate_candidates=offer.group(1),
            **{f"relation_{self.other.pk}": "variant"},
        )
        r = self.client.post(reverse("item-create"), data)
        self.assertEqual(r.status_code, 302)
        new = Item.objects.get(external_id="MATH-NEW-1")
        self.assertIn(
            (*sorted((self.other.pk, new.pk)), "variant", self.teacher.pk), self.decisions()
        )
