"""Error pages (400, 403, CSRF failure, 404, 500) are the app's, in the user's language, with a
way back home — not Django's bare English ones. DEBUG is off in tests, as in production."""

from __future__ import annotations

from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from tests.base import BaseTestCase

HOME = 'href="/"'


class ErrorPageTests(BaseTestCase):
    def assert_page(self, response, status: int, *texts: str) -> str:
        self.assertFalse(settings.DEBUG)
        self.assertEqual(response.status_code, status)
        html = response.content.decode()
        for text in texts:
            self.assertIn(text, html)
        self.assertIn(HOME, html)
        return html

    def test_404_in_korean_inside_the_layout(self) -> None:
        self.login(self.teacher)
        html = self.assert_page(
            self.client.get("/no-such-page/"), 404, "페이지를 찾을 수 없습니다", 'lang="ko"'
        )
        self.assertIn('class="topbar"', html)  # the app's layout: menu, language switch
        self.assertNotIn("Not Found", html)

    def test_404_in_english_when_chosen(self) -> None:
        response = self.client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
        self.assert_page(response, 404, "Page not found", 'lang="en"')

    def test_403_in_korean_and_english(self) -> None:
        self.login(self.teacher)
        url = reverse("ops-dashboard")
        html = self.assert_page(self.client.get(url), 403, "이 페이지를 열 수 없습니다")
        self.assertNotIn("403 Forbidden", html)
        self.assertIn('class="topbar"', html)
        response = self.client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        self.assert_page(response, 403, "You cannot open this page")

    @override_settings(ROOT_URLCONF="tests.itembank.error_urls")
    def test_500_standalone_in_korean_and_english(self) -> None:
        client = Client(raise_request_exception=False)
        client.force_login(self.teacher)
        html = self.assert_page(client.get("/broken/"), 500, "문제가 생겼습니다", 'lang="ko"')
        self.assertNotIn("Server Error", html)
        self.assertNotIn("<style", html)  # the Content-Security-Policy forbids <style>
        response = client.get("/broken/", HTTP_ACCEPT_LANGUAGE="en")
        self.assert_page(response, 500, "Something went wrong", 'lang="en"')

    def test_400_in_korean_and_english(self) -> None:
        # a Host header outside ALLOWED_HOSTS is refused with Django's 400 handler
        html = self.assert_page(
            self.client.get("/", HTTP_HOST="evil.example"), 400, "요청을 이해할 수 없습니다"
        )
        self.assertNotIn("Bad Request", html)
        response = self.client.get("/", HTTP_HOST="evil.example", HTTP_ACCEPT_LANGUAGE="en")
        self.assert_page(response, 400, "The request could not be understood")

    def test_csrf_failure_in_korean_and_english(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.teacher)
        html = self.assert_page(client.post(reverse("logout")), 403, "양식을 보낼 수 없습니다")
        self.assertNotIn("CSRF verification failed", html)
        response = client.post(reverse("logout"), HTTP_ACCEPT_LANGUAGE="en")
        self.assert_page(response, 403, "The form could not be sent", "reload the page")
