"""X-Request-ID: taken from the caller when plausible, made otherwise, answered in the response,
and carried by every log record of the request."""

from __future__ import annotations

import logging
import re

from django.test import TestCase

from itembank import logs


class Capture(logging.Handler):
    """A handler with the context filter, as the console handler of settings.LOGGING has."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(logs.ContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class RequestIdTests(TestCase):
    def capture(self, logger: str) -> Capture:
        handler = Capture()
        logging.getLogger(logger).addHandler(handler)
        self.addCleanup(logging.getLogger(logger).removeHandler, handler)
        return handler

    def test_a_valid_id_is_kept(self) -> None:
        response = self.client.get("/healthz/", HTTP_X_REQUEST_ID="lb-1234.abc_DEF")
        self.assertEqual(response["X-Request-ID"], "lb-1234.abc_DEF")

    def test_a_missing_or_invalid_id_is_replaced(self) -> None:
        made = self.client.get("/healthz/")["X-Request-ID"]
        self.assertRegex(made, r"^[0-9a-f]{32}$")
        for bad in ("x" * 65, "has space", "semi;colon", "<script>", "한글"):
            got = self.client.get("/healthz/", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
            self.assertRegex(got, r"^[0-9a-f]{32}$", bad)
        self.assertNotEqual(self.client.get("/healthz/")["X-Request-ID"], made)

    def test_log_records_of_the_request_carry_it(self) -> None:
        handler = self.capture("django.request")
        response = self.client.get("/no-such-page/", HTTP_X_REQUEST_ID="trace-42")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response["X-Request-ID"], "trace-42")
        (record,) = handler.records
        self.assertEqual(record.request_id, "trace-42")
        self.assertIsNone(record.task_id)
        self.assertIn("/no-such-page/", record.getMessage())

    def test_the_id_is_unbound_after_the_request(self) -> None:
        self.client.get("/healthz/", HTTP_X_REQUEST_ID="gone-after")
        self.assertIsNone(logs.request_id.get())
        handler = self.capture("itembank.test")
        logging.getLogger("itembank.test").warning("outside any request")
        self.assertIsNone(handler.records[0].request_id)

    def test_plain_lines_show_it(self) -> None:
        handler = self.capture("django.request")
        handler.setFormatter(logs.PlainFormatter())
        self.client.get("/no-such-page/", HTTP_X_REQUEST_ID="trace-43")
        line = handler.format(handler.records[0])
        self.assertRegex(line, re.escape("WARNING django.request [req=trace-43] Not Found"))
