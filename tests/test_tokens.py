"""API tokens end with the password: a new password or a deactivated account deletes the user's
token (signing in again gives a new one), and a user can revoke their own token."""

from __future__ import annotations

from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.base import PASSWORD, BaseTestCase


@override_settings(AXES_ENABLED=False)
class TokenRotationTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        cache.clear()  # the token endpoint's rate-throttle counters
        self.addCleanup(cache.clear)

    def sign_in(self, password: str = PASSWORD) -> str:
        r = APIClient().post(
            reverse("api-token"), {"username": "teacher", "password": password}, format="json"
        )
        self.assertEqual(r.status_code, 200, r.content)
        return r.json()["token"]

    def items_with(self, token: str) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client.get(reverse("item-api-list")).status_code

    def test_a_password_change_ends_the_token(self) -> None:
        old = self.sign_in()
        self.assertEqual(self.items_with(old), 200)
        self.teacher.set_password("a-new-long-password-2")
        self.teacher.save()
        self.assertEqual(self.items_with(old), 401)
        new = self.sign_in("a-new-long-password-2")
        self.assertNotEqual(new, old)
        self.assertEqual(self.items_with(new), 200)

    def test_deactivation_ends_the_token(self) -> None:
        old = self.sign_in()
        self.teacher.is_active = False
        self.teacher.save()
        self.assertFalse(Token.objects.filter(key=old).exists())
        self.assertEqual(self.items_with(old), 401)

    def test_saving_without_a_new_password_keeps_it(self) -> None:
        token = self.sign_in()
        self.teacher.first_name = "민수"
        self.teacher.save()
        self.assertEqual(self.items_with(token), 200)

    def test_a_user_revokes_their_token(self) -> None:
        token = self.sign_in()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        self.assertEqual(client.delete(reverse("api-token")).status_code, 204)
        self.assertEqual(self.items_with(token), 401)
        self.assertNotEqual(self.sign_in(), token)
        self.assertEqual(APIClient().delete(reverse("api-token")).status_code, 401)
