"""The admin's index names every app and model in Korean, third-party ones included (axes,
celery results, DRF's tokens, Django's users and groups): itembank.third_party."""

from __future__ import annotations

import re
from html import unescape

from tests.base import BaseTestCase


def app_list_text(html: str) -> str:
    """The visible text of the index's app list (the part between content-main and the
    recent-actions sidebar)."""
    match = re.search(r'<div id="content-main">(.*?)<div id="content-related"', html, re.S)
    assert match, "the admin index's app list was not found"
    return unescape(re.sub(r"<[^>]+>", " ", match.group(1)))


class AdminNamesTests(BaseTestCase):
    def test_index_names_every_app_and_model_in_korean(self) -> None:
        self.login(self.admin)
        text = app_list_text(self.client.get("/admin/").content.decode())
        self.assertIn("로그인 제한", text)  # axes
        self.assertIn("로그인 시도", text)
        self.assertIn("작업 결과", text)  # celery results
        self.assertEqual(re.findall(r"[A-Za-z]{2,}", text), [])
        self.assertNotIn("(들)", text)

    def test_index_in_english_keeps_english_names(self) -> None:
        self.login(self.admin)
        response = self.client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
        text = app_list_text(response.content.decode())
        self.assertIn("Access attempts", text)
        self.assertIn("Login throttling", text)
        self.assertIn("Users", text)
