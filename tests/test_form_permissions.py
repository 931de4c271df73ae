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
