"""GET /healthz/: anonymous; 200 while the database answers (the broker is reported but does
not decide), and the database probe reports a server that does not answer as down."""

from __future__ import annotations

from django.db import connection
from django.db.utils import ConnectionHandler
from django.test import TestCase
from django.urls import reverse

from monitoring import health
from scripts.devstack import free_port
from tests.embeddings.worker import broker
from tests.monitoring.base import CLOSED_BROKER


class HealthzTests(TestCase):
    url = reverse("healthz")

    def test_ok(self) -> None:
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"database": "ok", "broker": "ok"})
        self.assertIn("no-cache", response["Cache-Control"])

    def test_broker_down_is_reported_but_still_200(self) -> None:
        with broker(CLOSED_BROKER):
            response = self.client.get(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"database": "ok", "broker": "down"})

    def test_database_probe(self) -> None:
        self.assertEqual(health.database_status(), "ok")
        # The same server settings on a port nothing listens on: a database that is down.
        down = ConnectionHandler(
            {"default": {**connection.settings_dict, "PORT": str(free_port()), "HOST": "127.0.0.1"}}
        )["default"]
        try:
            self.assertEqual(health.database_status(down), "down")
        finally:
            down.close()

    def test_broker_probe(self) -> None:
        self.assertEqual(health.broker_status(f"redis://127.0.0.1:{free_port()}/0"), "down")
