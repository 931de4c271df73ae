from __future__ import annotations

from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.base import PASSWORD, BaseTestCase, make_item

TOKEN = "/api/auth/token/"


class TokenTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        cache.clear()  # throttle counters
        self.addCleanup(cache.clear)
        self.api = APIClient()

    def test_obtain_token_and_use_it(self) -> None:
        response = self.api.post(TOKEN, {"username": "teacher", "password": PASSWORD})
        self.assertEqual(response.status_code, 200)
        key = response.json()["token"]
        self.assertEqual(Token.objects.get(user=self.teacher).key, key)
        # The same token comes back the second time.
        again = self.api.post(TOKEN, {"username": "teacher", "password": PASSWORD}, format="json")
        self.assertEqual(again.json()["token"], key)

        make_item()
        client = APIClient()
        self.assertIn(client.get("/api/items/").status_code, (401, 403))
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        response = client.get("/api/items/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["count"], 1)

    def test_token_carries_the_role(self) -> None:
        key = Token.objects.create(user=self.reviewer).key
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        response = client.post("/api/items/", {"external_id": "X-1", "subject": "수학"})
        self.assertEqual(response.status_code, 403)

    def test_bad_token_is_401(self) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
        response = client.get("/api/items/")
        self.assertEqual(response.status_code, 401)
        self.assertTrue(response.headers["WWW-Authenticate"].startswith("Token"))

    def test_bad_credentials(self) -> None:
        response = self.api.post(TOKEN, {"username": "teacher", "password": "wrong"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("non_field_errors", response.json())
        response = self.api.post(TOKEN, {"username": "teacher"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("password", response.json())
        self.assertFalse(Token.objects.exists())

    def test_inactive_user_gets_no_token(self) -> None:
        self.teacher.is_active = False
        self.teacher.save()
        response = self.api.post(TOKEN, {"username": "teacher", "password": PASSWORD})
        self.assertEqual(response.status_code, 400)

    def test_throttled_after_ten_attempts_a_minute(self) -> None:
        for _ in range(10):
            response = self.api.post(TOKEN, {"username": "teacher", "password": "guess"})
            self.assertEqual(response.status_code, 400)
        response = self.api.post(TOKEN, {"username": "teacher", "password": PASSWORD})
        self.assertEqual(response.status_code, 429)
        self.assertIn("Retry-After", response.headers)
        self.assertFalse(Token.objects.exists())
