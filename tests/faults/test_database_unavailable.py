"""DatabaseUnavailableMiddleware without a real outage: views (plain and DRF) and an inner
middleware raising the errors a database that went away raises. The real restart is in
test_postgres_restart.py."""

from __future__ import annotations

from unittest import mock

from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError
from django.test import Client, SimpleTestCase, override_settings

from itembank.middleware import RETRY_AFTER

KOREAN = "데이터베이스에 일시적으로 연결할 수 없습니다"


@override_settings(ROOT_URLCONF="tests.faults.urls")
class DatabaseUnavailableTestCase(SimpleTestCase):
    def assert_page(self, response, text: str) -> None:
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response["Retry-After"], str(RETRY_AFTER))
        self.assertTrue(response["Content-Type"].startswith("text/html"))
        self.assertContains(response, text, status_code=503)
        self.assertNotContains(response, "Traceback", status_code=503)

    def test_connection_refused_is_a_korean_503_page(self) -> None:
        with self.assertLogs("itembank.middleware", "WARNING") as logs:
            response = self.client.get("/refused/")
        self.assert_page(response, KOREAN)
        self.assertContains(response, 'lang="ko"', status_code=503)
        self.assertEqual(response["Content-Language"], "ko")
        self.assertEqual(len(logs.records), 1)  # once, with the path
        self.assertIn("GET /refused/", logs.output[0])
        self.assertIn("Connection refused", logs.output[0])

    def test_english_on_request(self) -> None:
        with self.assertLogs("itembank.middleware", "WARNING"):
            response = self.client.get("/refused/", HTTP_ACCEPT_LANGUAGE="en")
        self.assert_page(response, "The database cannot be reached at the moment.")
        self.assertNotContains(response, KOREAN, status_code=503)

    def test_server_shutting_down_and_closed_connection(self) -> None:
        for url in ("/shutting-down/", "/closed/"):
            with self.subTest(url), self.assertLogs("itembank.middleware", "WARNING"):
                self.assert_page(self.client.get(url), KOREAN)

    def test_api_and_json_clients_get_json(self) -> None:
        with self.assertLogs("itembank.middleware", "WARNING"):
            response = self.client.get("/api/refused/")  # a DRF view
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response["Retry-After"], str(RETRY_AFTER))
        self.assertEqual(
            response.json(), {"detail": f"{KOREAN}. {RETRY_AFTER}초 후 다시 시도하세요."}
        )
        with self.assertLogs("itembank.middleware", "WARNING"):
            response = self.client.get(
                "/refused/", HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="en"
            )
        self.assertEqual(response.status_code, 503)
        self.assertEqual(
            response.json(),
            {"detail": f"The database is temporarily unavailable; try again in {RETRY_AFTER} "
                       "seconds."},
        )  # fmt: skip

    def test_other_database_errors_stay_errors(self) -> None:
        with self.assertRaises(OperationalError):  # a deadlock is a bug to see, not an outage
            self.client.get("/deadlock/")
        response = Client(raise_request_exception=False).get("/deadlock/")
        self.assertEqual(response.status_code, 500)

    def test_failure_inside_an_inner_middleware(self) -> None:
        # SessionMiddleware saves the session after the view; Django turns its error into a
        # 500 before the response reaches this middleware, which replaces it.
        client = Client(raise_request_exception=False)
        with (
            mock.patch.object(
                SessionStore, "save", side_effect=OperationalError("the connection is lost")
            ),
            self.assertLogs("itembank.middleware", "WARNING") as logs,
        ):
            response = client.get("/session/")
        self.assert_page(response, KOREAN)
        self.assertIn("GET /session/", logs.output[0])
