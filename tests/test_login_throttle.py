"""Login throttling (django-axes): a username is locked on one address after
ITEMBANK_LOGIN_FAILURE_LIMIT failures, on the login page, the admin's login and the API token
endpoint, with a Korean lockout message; the lock lifts after the cool-off or when an admin
deletes it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.base import PASSWORD, BaseTestCase

LOGIN = "/accounts/login/"
TOKEN = "/api/auth/token/"
LIMIT = settings.AXES_FAILURE_LIMIT
LOCKED_KO = "로그인 시도가 너무 많습니다. 15분 후에 다시 시도하세요."


class LoginThrottleTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        cache.clear()  # the token endpoint's rate-throttle counters
        self.addCleanup(cache.clear)

    def fail(self, times: int, path: str = LOGIN, **extra) -> list[int]:
        return [
            self.client.post(
                path, {"username": "teacher", "password": "guess"}, **extra
            ).status_code
            for _ in range(times)
        ]

    def log_in(self, path: str = LOGIN, **extra):
        return self.client.post(path, {"username": "teacher", "password": PASSWORD}, **extra)

    def assert_logged_in(self, yes: bool) -> None:
        self.assertEqual("_auth_user_id" in self.client.session, yes)

    def test_limit_and_cool_off_come_from_the_settings(self) -> None:
        self.assertEqual(LIMIT, 5)
        self.assertEqual(settings.AXES_COOLOFF_TIME, timedelta(minutes=15))
        self.assertEqual(settings.AXES_LOCKOUT_PARAMETERS, [["username", "ip_address"]])

    def test_locked_after_the_limit_with_a_korean_message(self) -> None:
        self.assertEqual(self.fail(LIMIT - 1), [200] * (LIMIT - 1))  # the form's own error
        response = self.client.post(LOGIN, {"username": "teacher", "password": "guess"})
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, LOCKED_KO, status_code=429)
        self.assertContains(response, 'name="csrfmiddlewaretoken"', status_code=429)
        # Now even the right password is refused, and nobody is logged in.
        response = self.log_in()
        self.assertContains(response, LOCKED_KO, status_code=429)
        self.assert_logged_in(False)

    def test_lockout_message_in_english_when_chosen(self) -> None:
        self.fail(LIMIT)
        response = self.log_in(HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(
            response,
            "Too many failed login attempts. Try again in 15 minutes.",
            status_code=429,
        )

    def test_failures_below_the_limit_do_not_lock_and_success_resets_them(self) -> None:
        self.fail(LIMIT - 1)
        self.assertRedirects(self.log_in(), "/items/")
        self.client.logout()
        # The success cleared the count: another LIMIT-1 failures still do not lock.
        self.assertEqual(self.fail(LIMIT - 1), [200] * (LIMIT - 1))
        self.assertRedirects(self.log_in(), "/items/")

    def test_lock_is_per_username_and_address(self) -> None:
        self.fail(LIMIT)
        # The same account from another address, and another account from this one, still work.
        self.assertRedirects(self.log_in(REMOTE_ADDR="10.1.2.3"), "/items/")
        self.client.logout()
        response = self.client.post(LOGIN, {"username": "reviewer", "password": PASSWORD})
        self.assertRedirects(response, "/items/")

    def test_lock_lifts_after_the_cool_off(self) -> None:
        self.fail(LIMIT)
        self.assertEqual(self.log_in().status_code, 429)
        AccessAttempt.objects.update(
            attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
        )
        self.assertRedirects(self.log_in(), "/items/")

    @override_settings(AXES_FAILURE_LIMIT=2)
    def test_limit_setting_is_honoured(self) -> None:
        self.assertEqual(self.fail(2), [200, 429])

    def test_admin_login_is_throttled_too(self) -> None:
        self.fail(LIMIT, path="/admin/login/")
        response = self.client.post("/admin/login/", {"username": "teacher", "password": PASSWORD})
        self.assertContains(response, LOCKED_KO, status_code=429)

    def test_an_admin_unlocks_in_the_admin(self) -> None:
        self.fail(LIMIT)
        attempt = AccessAttempt.objects.get(username="teacher")
        admin_client = self.client_class()
        admin_client.force_login(self.admin)
        listing = admin_client.get("/admin/axes/accessattempt/")
        self.assertContains(listing, "teacher")
        response = admin_client.post(
            f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}
        )
        self.assertEqual(response.status_code, 302)
        self.assertFalse(AccessAttempt.objects.exists())
        self.assertRedirects(self.log_in(), "/items/")

    def test_teachers_cannot_unlock(self) -> None:
        self.fail(LIMIT)
        attempt = AccessAttempt.objects.get(username="teacher")
        other = self.client_class()
        other.force_login(self.reviewer)
        response = other.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith("/admin/login/"))
        self.assertTrue(AccessAttempt.objects.exists())

    def test_force_login_is_not_throttled(self) -> None:
        self.fail(LIMIT)
        self.client.force_login(self.teacher)
        self.assertEqual(self.client.get("/items/").status_code, 200)


class TokenThrottleTests(BaseTestCase):
    """`POST /api/auth/token/` authenticates with the request, so axes counts its failures; its
    own rate throttle (10 a minute) stays on top."""

    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.addCleanup(cache.clear)
        self.api = APIClient()

    def attempt(self, password: str):
        return self.api.post(TOKEN, {"username": "teacher", "password": password})

    def test_token_sign_in_is_locked_after_the_limit(self) -> None:
        for _ in range(LIMIT):
            self.assertEqual(self.attempt("guess").status_code, 400)
        cache.clear()  # not the rate throttle: axes alone refuses now
        response = self.attempt(PASSWORD)
        self.assertEqual(response.status_code, 400)
        self.assertNotIn("token", response.json())
        self.assertFalse(Token.objects.exists())
        self.assertEqual(AccessAttempt.objects.get(username="teacher").failures_since_start, 6)

    def test_web_failures_lock_the_token_endpoint_too(self) -> None:
        for _ in range(LIMIT):
            self.client.post(LOGIN, {"username": "teacher", "password": "guess"})
        self.assertEqual(self.attempt(PASSWORD).status_code, 400)
        self.assertFalse(Token.objects.exists())

    def test_rate_throttle_still_applies(self) -> None:
        for _ in range(10):
            self.assertIn(self.attempt("guess").status_code, (400, 429))
        self.assertEqual(self.attempt(PASSWORD).status_code, 429)

    def test_token_sign_in_works_below_the_limit(self) -> None:
        for _ in range(LIMIT - 1):
            self.attempt("guess")
        response = self.attempt(PASSWORD)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Token.objects.get(user=self.teacher).key, response.json()["token"])


def test_limits_are_read_from_the_environment() -> None:
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://x@localhost/x",
        "ITEMBANK_LOGIN_FAILURE_LIMIT": "3",
        "ITEMBANK_LOGIN_COOLOFF_MINUTES": "40",
    }
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "itembank.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=settings.BASE_DIR,
        check=True,
    )
    assert out.stdout.split() == ["3", "2400"]
