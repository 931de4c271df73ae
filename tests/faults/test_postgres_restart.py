"""PostgreSQL restarts while teachers search: requests fail cleanly — a 503 with Retry-After, a
Korean error page (English on request), a JSON error for the API, never a 500 or a traceback —
and the same web process answers normally again once the database is back.

Everything is real and private to the test: a PostgreSQL cluster of its own (tests.faults
.postgres; the shared test server is never stopped), migrated and seeded by `manage.py`, and the
app under gunicorn with the production settings that matter here (DEBUG off, persistent
connections with health checks: CONN_MAX_AGE=60, conn_health_checks). Searches are keyword
(BM25) searches, which read the database on every request and need no model.

What makes it so: itembank.middleware.DatabaseUnavailableMiddleware (unit-tested in
test_database_unavailable.py), and Django closing a connection that failed at the start of the
next request.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import SimpleTestCase

from scripts.devstack import ROOT, Gunicorn, free_port
from tests.embeddings.worker import wait_for
from tests.faults.base import LIMIT
from tests.faults.postgres import PostgresCluster

PASSWORD = "correct horse battery staple"
QUERY = "이차방정식 근의 합"
KOREAN = "데이터베이스에 일시적으로 연결할 수 없습니다"
ENGLISH = "The database cannot be reached at the moment."

SEED = f"""
from rest_framework.authtoken.models import Token
from itembank.models import Item, Role, User
from itembank.services import save_item

user = User.objects.create_user("teacher", "t@school.example", {PASSWORD!r}, role=Role.TEACHER)
for n in range(6):
    item = Item(
        external_id=f"PG-{{n}}", subject="수학", school_level="중등", grade=3, unit="이차방정식",
        stem=f"이차방정식 $x^2-{{n + 3}}x+{{n + 2}}=0$ 의 두 근의 합은? ({{n}})",
        choices=["$1$", "$2$", "$3$"], answer="1",
    )
    item.full_clean()
    save_item(item, user=user, via="test")
print("TOKEN=" + Token.objects.create(user=user).key)
"""


@dataclass
class Answer:
    kind: str  # "page" or "api"
    status: int
    retry_after: str | None
    content_type: str
    body: str


class Browser:
    """A teacher talking HTTP to the app: a session cookie for pages, a token for the API."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(self, path: str, *, data: dict | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read().decode(errors="replace")

    def login(self) -> None:
        status, _headers, html = self.request("/accounts/login/")
        assert status == 200, html[:2000]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        status, _headers, html = self.request(
            "/accounts/login/",
            data={"username": "teacher", "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        assert status == 200, html[:2000]  # the redirect after login was followed
        assert any(cookie.name == "sessionid" for cookie in self.cookies), html[:2000]

    def search(self, kind: str, language: str | None = None) -> Answer:
        query = urllib.parse.urlencode({"text": QUERY, "mode": "bm25"})
        headers = {"Accept-Language": language} if language else {}
        if kind == "api":
            headers["Authorization"] = f"Token {self.token}"
            path = f"/api/search/?{query}"
        else:
            path = f"/search/?{query}"
        status, response_headers, body = self.request(path, headers=headers)
        return Answer(
            kind,
            status,
            response_headers.get("Retry-After"),
            response_headers.get("Content-Type", ""),
            body,
        )


@pytest.mark.worker
class PostgresRestartTestCase(SimpleTestCase):
    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory(prefix="faults-pg-")
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        self.cluster = PostgresCluster(self.tmp)
        self.cluster.init()
        self.cluster.start()
        self.addCleanup(self.cluster.cleanup)
        url = self.cluster.create_database("itembank_faults")
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # no broker: none is needed
            "DJANGO_DEBUG": "0",
            "ITEMBANK_DATA_DIR": str(self.tmp / "data"),
            "MEDIA_ROOT": str(self.tmp / "media"),
            "PYTHONPATH": str(ROOT),
        }
        for name in ("ITEMBANK_TEST_DB", "DATABASE_CONN_MAX_AGE", "ITEMBANK_PRODUCTION"):
            env.pop(name, None)
        self.env = env
        self.manage("migrate", "--noinput", "-v", "0")
        seeded = self.manage("shell", "-c", SEED)
        self.token = re.search(r"TOKEN=(\w+)", seeded).group(1)

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=LIMIT * 2,
        )
        self.assertEqual(result.returncode, 0, result.stderr[-4000:])
        return result.stdout

    def start_web(self) -> tuple[subprocess.Popen, str]:
        log = open(self.tmp / "web.log", "w")
        self.addCleanup(log.close)
        server = Gunicorn(
            workers=1, threads=4, timeout=60, base_env=self.env, start_timeout=LIMIT, output=log
        )
        try:
            self.enterContext(server)
        except RuntimeError as exc:
            self.fail(f"{exc}\n{self.web_log()}")
        assert server.process is not None
        return server.process, server.url

    def web_log(self) -> str:
        path = self.tmp / "web.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def assert_works(self, answer: Answer) -> None:
        self.assertEqual(answer.status, 200, answer.body[:2000])
        if answer.kind == "api":
            hits = json.loads(answer.body)["results"]
            self.assertTrue(hits)
            self.assertTrue(all(hit["item"]["external_id"].startswith("PG-") for hit in hits))
        else:
            self.assertIn("PG-", answer.body)

    def assert_unavailable(self, answer: Answer, text: str) -> None:
        self.assertEqual(answer.status, 503, answer.body[:2000])
        self.assertEqual(answer.retry_after, "30")
        self.assertNotIn("Traceback", answer.body)
        if answer.kind == "api":
            self.assertTrue(answer.content_type.startswith("application/json"))
            self.assertIn(text, json.loads(answer.body)["detail"])
        else:
            self.assertTrue(answer.content_type.startswith("text/html"))
            self.assertIn(text, answer.body)

    def test_requests_fail_cleanly_while_the_database_restarts(self) -> None:
        web, base = self.start_web()
        teacher = Browser(base, self.token)
        teacher.login()
        for kind in ("page", "api"):
            self.assert_works(teacher.search(kind))

        # Searches keep coming, from another thread, the whole time.
        answers: list[Answer] = []
        stop = threading.Event()

        def keep_searching() -> None:
            other = Browser(base, self.token)
            other.opener = teacher.opener  # the same session
            while not stop.is_set():
                for kind in ("page", "api"):
                    answers.append(other.search(kind))
                time.sleep(0.05)

        searching = threading.Thread(target=keep_searching, daemon=True)
        searching.start()
        self.addCleanup(stop.set)

        self.cluster.stop("fast")
        # Korean by default, English on request; JSON for the API.
        self.assert_unavailable(teacher.search("page"), KOREAN)
        self.assert_unavailable(teacher.search("page", "en"), ENGLISH)
        self.assert_unavailable(teacher.search("api"), KOREAN)
        self.assert_unavailable(teacher.search("api", "en"), "temporarily unavailable")
        self.assertTrue(wait_for(lambda: sum(a.status == 503 for a in answers) >= 4, LIMIT))

        self.cluster.start()  # same data directory, same port
        self.assertTrue(
            wait_for(lambda: teacher.search("page").status == 200, LIMIT), self.web_log()
        )
        for kind in ("page", "api"):
            self.assert_works(teacher.search(kind))
        seen = len(answers)
        self.assertTrue(wait_for(lambda: len(answers) >= seen + 4, LIMIT))
        stop.set()
        searching.join(LIMIT)

        # Recovered without a restart: the same gunicorn process answered all along.
        self.assertIsNone(web.poll())
        statuses = [a.status for a in answers]
        self.assertEqual(set(statuses) - {200, 503}, set(), statuses)
        self.assertIn(503, statuses)
        self.assertEqual(statuses[-4:], [200] * 4, statuses)
        for answer in answers:
            if answer.status == 503:
                self.assert_unavailable(answer, KOREAN)
        log = self.web_log()
        self.assertNotIn("Internal Server Error", log)
        self.assertNotIn("Service Unavailable: /", log)  # logged once, by the middleware
        self.assertIn("database unavailable during GET /search/", log)
