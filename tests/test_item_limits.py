"""One set of item limits (issue 15, item 3) for the form, the API and the import.

Before, the import had none (a 30M-character stem imported and blocked keyword search), the API
allowed 100 choices of 2,000 characters and 100-character tags, the form 10 choices and
50-character tags: an item created one way could not always be edited another.
"""

from __future__ import annotations

import re

from django.urls import reverse
from django.utils import translation

from itembank import limits
from itembank.models import Item
from tests.itembank.test_import import ImportTestCase, jsonl, record
from tests.itembank.test_item_edit import form_data

HANGUL = re.compile("[가-힣]")


def largest(external_id: str = "MAX-1") -> dict:
    """A record at every limit."""
    return record(
        external_id,
        stem="가" * limits.STEM_MAX,
        choices=[f"{n}" + "나" * (limits.CHOICE_MAX - 1) for n in range(limits.CHOICES_MAX)],
        explanation="다" * limits.EXPLANATION_MAX,
        tags=[f"{n:02d}" + "라" * (limits.TAG_MAX - 2) for n in range(limits.TAGS_MAX)],
        answer="1",
    )


OVER = {
    "stem": {"stem": "가" * (limits.STEM_MAX + 1)},
    "explanation": {"explanation": "다" * (limits.EXPLANATION_MAX + 1)},
    "choices": {"choices": [f"{n}" for n in range(limits.CHOICES_MAX + 1)]},
    "tags": {"tags": [f"t{n}" for n in range(limits.TAGS_MAX + 1)]},
}
OVER_LONG_ITEM = {
    "choices": {"choices": ["가", "나" * (limits.CHOICE_MAX + 1)]},
    "tags": {"tags": ["라" * (limits.TAG_MAX + 1)]},
}


class ImportLimitTests(ImportTestCase):
    def test_an_over_long_field_refuses_the_whole_file_naming_line_and_field(self) -> None:
        for field, values in [*OVER.items(), *OVER_LONG_ITEM.items()]:
            with self.subTest(field=field):
                path = self.write("items.jsonl", jsonl([record("OK-1"), record("BAD-2", **values)]))
                with translation.override("ko"):  # the import speaks the caller's language
                    errors = self.assert_refused(path, 2, field)
                message = next(e.message for e in errors if (e.line, e.field) == (2, field))
                self.assertRegex(message, HANGUL)
                self.assertFalse(Item.objects.filter(external_id="OK-1").exists())

    def test_the_largest_item_imports_and_is_editable_by_form_and_api(self) -> None:
        path = self.write("items.jsonl", jsonl([largest()]))
        self.assertEqual(self.run_import(path, user=self.admin).created, 1)
        item = Item.objects.get(external_id="MAX-1")
        self.login(self.teacher)
        r = self.client.post(
            reverse("item-edit", args=[item.pk]), form_data(item, unit="폼에서 고침")
        )
        self.assertEqual(r.status_code, 302, r.context and r.context["form"].errors)
        body = self.client.get(f"/api/items/{item.pk}/").json()
        body["source"] = "API에서 고침"
        r = self.client.put(f"/api/items/{item.pk}/", body, content_type="application/json")
        self.assertEqual(r.status_code, 200, r.content[:500])
        item.refresh_from_db()
        self.assertEqual((item.unit, item.source), ("폼에서 고침", "API에서 고침"))
        self.assertEqual(len(item.stem), limits.STEM_MAX)


class ApiAndFormLimitTests(ImportTestCase):
    def test_the_api_and_the_form_refuse_what_the_import_refuses(self) -> None:
        self.login(self.teacher)
        for field, values in [*OVER.items(), *OVER_LONG_ITEM.items()]:
            with self.subTest(field=field, via="api"):
                body = {k: v for k, v in record(f"API-{field}", **values).items() if v is not None}
                del body["images"]
                r = self.client.post("/api/items/", body, content_type="application/json")
                self.assertEqual(r.status_code, 400, r.content[:300])
                self.assertIn(field, r.json())
            with self.subTest(field=field, via="form"):
                data = {**record(f"FORM-{field}", **values), "status": "active"}
                del data["images"]
                data["tags"] = ", ".join(data["tags"])
                r = self.client.post(reverse("item-create"), data)
                self.assertEqual(r.status_code, 200)
                self.assertIn(field, r.context["form"].errors)
        self.assertFalse(Item.objects.exists())
