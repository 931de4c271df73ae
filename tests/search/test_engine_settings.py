"""SearchSettings: one row, thresholds per subject, edited in the Django admin."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from search.models import SearchSettings
from tests.base import BaseTestCase


class SettingsTestCase(BaseTestCase):
    def test_singleton_and_thresholds(self) -> None:
        settings = SearchSettings.load()
        self.assertEqual(settings.pk, 1)
        self.assertEqual(settings.duplicate_threshold("수학"), 0.92)
        settings.duplicate_thresholds = {"수학": 0.97}
        settings.variant_thresholds = {"과학": 0.7}
        settings.full_clean()
        settings.save()
        again = SearchSettings.load()
        self.assertEqual(again.duplicate_threshold("수학"), 0.97)
        self.assertEqual(again.duplicate_threshold("과학"), 0.92)
        self.assertEqual(again.variant_threshold("과학"), 0.7)
        self.assertEqual(again.variant_threshold("수학"), 0.8)
        SearchSettings().save()  # a second save() still writes row 1
        self.assertEqual(SearchSettings.objects.count(), 1)

    def test_invalid_values(self) -> None:
        for field, value in [
            ("duplicate_thresholds", {"미술": 0.9}),
            ("duplicate_thresholds", {"수학": 1.5}),
            ("duplicate_thresholds", {"수학": "high"}),
            ("duplicate_thresholds", ["수학"]),
            ("alpha", 1.2),
            ("k", 500),
        ]:
            with self.subTest(field=field, value=value):
                settings = SearchSettings.load()
                setattr(settings, field, value)
                with self.assertRaises(ValidationError):
                    settings.full_clean()

    def test_admin_edits_the_one_row(self) -> None:
        self.login(self.admin)
        response = self.client.get("/admin/search/searchsettings/")
        self.assertRedirects(response, "/admin/search/searchsettings/1/change/")
        page = self.client.get("/admin/search/searchsettings/1/change/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "reranker_model_path")
        self.login(self.teacher)
        self.assertNotEqual(
            self.client.get("/admin/search/searchsettings/1/change/").status_code, 200
        )
