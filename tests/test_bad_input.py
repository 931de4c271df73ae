"""Bad input where text enters the web pages: a NUL character (PostgreSQL cannot store one) is
a form error or a 400 with Django's message, never a 500 (`itembank.text`)."""

from __future__ import annotations

from django.urls import reverse

from itembank.models import Item
from search.duplicates.models import DuplicateGroup, PairDecision
from search.review.models import Label
from tests.base import BaseTestCase, make_item
from tests.duplicates.base import DuplicatesTestCase
from tests.review.base import ReviewTestCase

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
NUL_MESSAGE = "Null characters are not allowed."


class ItemFormNulTests(BaseTestCase):
    def test_nul_in_every_text_field_of_the_item_form(self) -> None:
        item = make_item("NUL-1")
        self.login(self.teacher)
        base = {
            "external_id": item.external_id,
            "status": "active",
            "subject": "수학",
            "item_type": "multiple_choice",
            "stem": item.stem,
            "choices": ["가", "나"],
            "answer": "1",
        }
        for name, value in [
            ("choices", ["가\x00", "나"]),
            ("stem", "발문\x00"),
            ("explanation", "풀이\x00"),
            ("tags", "덧셈, 뺄\x00셈"),
            ("unit", "단원\x00"),
            ("answer", "1\x00"),
            ("source", "출처\x00"),
        ]:
            with self.subTest(field=name):
                for url in (reverse("item-edit", args=[item.pk]), reverse("item-create")):
                    data = {**base, name: value}
                    if url == reverse("item-create"):
                        data["external_id"] = "NUL-NEW"
                    r = self.client.post(url, data, **EN)
                    self.assertEqual(r.status_code, 200)
                    self.assertIn(name, r.context["form"].errors)
                    self.assertContains(r, NUL_MESSAGE)
        self.assertFalse(Item.objects.filter(external_id="NUL-NEW").exists())


class ReviewNoteNulTests(ReviewTestCase):
    def test_nul_in_a_label_note(self) -> None:
        c = self.campaign(n=1)
        self.login(self.reviewer)
        self.client.get(reverse("review-queue", args=[c.pk]) + "?start=1")
        one = c.pairs.get(position=1)
        data = {"pair": one.pk, "action": "submit", "label": "similar", "note": "메모\x00"}
        r = self.client.post(reverse("review-label", args=[c.pk]), data, follow=True, **EN)
        self.assertEqual(r.status_code, 200)
        self.assertIn(NUL_MESSAGE, [str(m) for m in r.context["messages"]])
        self.assertFalse(Label.objects.filter(pair=one, status="submitted").exists())
        # The API says the same, as a 400.
        r = self.client.post(
            reverse("review-api-labels", args=[c.pk]),
            {"pair": one.pk, "label": "similar", "note": "메모\x00"},
            content_type="application/json",
            **EN,
        )
        self.assertEqual(r.status_code, 400, r.content)
        self.assertFalse(Label.objects.filter(pair=one, status="submitted").exists())


class DecisionNoteNulTests(DuplicatesTestCase):
    def test_nul_in_a_decision_note(self) -> None:
        self.near("M", 3)
        self.embed()
        group = DuplicateGroup.objects.get(scan=self.scan())
        self.login(self.admin)
        pair = group.candidates.first()
        r = self.client.post(
            reverse("duplicate-decide", args=[group.pk]),
            {"pair": pair.pk, "action": "variant", "note": "메모\x00"},
            **EN,
        )
        self.assertContains(r, NUL_MESSAGE, status_code=400)
        r = self.client.post(
            reverse("duplicate-not-duplicates", args=[group.pk]),
            {"confirm": "yes", "note": "메모\x00"},
            follow=True,
            **EN,
        )
        self.assertEqual(r.status_code, 200)
        self.assertIn(NUL_MESSAGE, [str(m) for m in r.context["messages"]])
        self.assertFalse(PairDecision.objects.exists())
