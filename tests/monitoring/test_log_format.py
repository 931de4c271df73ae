"""The log formats: JSON (LOG_FORMAT=json) one object a line, plain text with the ids."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import datetime

from django.test import SimpleTestCase

from itembank import logs
from scripts.devstack import ROOT


def record(message: str = "hello %s", args=("world",), exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("itembank.test", logging.ERROR, __file__, 1, message, args, exc_info)


class JsonFormatterTests(SimpleTestCase):
    def test_fields(self) -> None:
        with logs.bound(request_id="r-1", task_id="t-1", task_name="itembank.x"):
            rec = record()
            logs.ContextFilter().filter(rec)
        line = logs.JsonFormatter().format(rec)
        self.assertNotIn("\n", line)
        data = json.loads(line)
        self.assertEqual(
            set(data), {"ts", "level", "logger", "message", "request_id", "task_id", "task", "exc"}
        )
        self.assertEqual(data["message"], "hello world")
        self.assertEqual((data["level"], data["logger"]), ("ERROR", "itembank.test"))
        self.assertEqual((data["request_id"], data["task_id"]), ("r-1", "t-1"))
        self.assertEqual(data["task"], "itembank.x")
        self.assertIsNone(data["exc"])
        self.assertEqual(datetime.fromisoformat(data["ts"]).utcoffset().total_seconds(), 0)

    def test_unbound_ids_are_null(self) -> None:
        data = json.loads(logs.JsonFormatter().format(record()))
        self.assertEqual((data["request_id"], data["task_id"], data["task"]), (None, None, None))

    def test_exception_and_korean_text(self) -> None:
        try:
            raise ValueError("잘못된 값")
        except ValueError:
            rec = record("검색 실패: %s", ("수학",), exc_info=sys.exc_info())
        line = logs.JsonFormatter().format(rec)
        self.assertNotIn("\n", line)
        data = json.loads(line)
        self.assertEqual(data["message"], "검색 실패: 수학")
        self.assertIn("Traceback", data["exc"])
        self.assertIn("ValueError: 잘못된 값", data["exc"])

    def test_ids_bound_at_format_time_without_the_filter(self) -> None:
        with logs.bound(request_id="r-2"):
            data = json.loads(logs.JsonFormatter().format(record()))
        self.assertEqual(data["request_id"], "r-2")


class PlainFormatterTests(SimpleTestCase):
    def test_brackets_only_when_bound(self) -> None:
        formatter = logs.PlainFormatter()
        self.assertRegex(formatter.format(record()), r" ERROR itembank\.test hello world$")
        with logs.bound(request_id="r-3", task_id="t-3", task_name="embeddings.tasks.sweep"):
            line = formatter.format(record())
        self.assertIn("[req=r-3 task=embeddings.tasks.sweep[t-3]] hello world", line)


class SettingsTests(SimpleTestCase):
    """settings.LOGGING as a fresh process applies it."""

    def log_line(self, log_format: str | None) -> str:
        env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
        env.update(DJANGO_SETTINGS_MODULE="itembank.settings", PYTHONIOENCODING="utf-8")
        if log_format:
            env["LOG_FORMAT"] = log_format
        code = (
            "import logging, django; django.setup(); from itembank import logs\n"
            "with logs.bound(request_id='abc123'):\n"
            "    logging.getLogger('itembank.x').warning('공지 %s', 1)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=ROOT,
            capture_output=True,
            encoding="utf-8",
            timeout=120,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stderr.strip().splitlines()[-1]

    def test_json(self) -> None:
        data = json.loads(self.log_line("json"))
        self.assertEqual((data["message"], data["request_id"]), ("공지 1", "abc123"))

    def test_plain_by_default(self) -> None:
        self.assertRegex(self.log_line(None), r" WARNING itembank\.x \[req=abc123\] 공지 1$")
