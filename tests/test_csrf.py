"""CSRF: every state-changing page refuses a POST without the token, every POST form our
pages render carries it, htmx sends it from base.html's hx-headers, and the API asks for it of
session-authenticated callers only (token callers are CSRF-exempt by design)."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from django.test import Client
from rest_framework.authtoken.models import Token

from tests.test_permissions import EXPECTED, MatrixTestCase, walk_named_urls

UNSAFE = ("post", "put", "patch", "delete")


class FormFinder(HTMLParser):
    """Collects each <form method=post> with the names of its inputs, and the body's
    hx-headers."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.hx_headers: str | None = None
        self._open: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "body":
            self.hx_headers = attributes.get("hx-headers")
        elif tag == "form":
            self._open = {
                "method": (attributes.get("method") or "get").lower(),
                "action": attributes.get("action") or "",
                "inputs": set(),
            }
            self.forms.append(self._open)
        elif tag in ("input", "button", "select", "textarea") and self._open is not None:
            self._open["inputs"].add(attributes.get("name"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def parse(html: str) -> FormFinder:
    finder = FormFinder()
    finder.feed(html)
    return finder


class CsrfTests(MatrixTestCase):
    def csrf_client(self, role: str = "admin") -> Client:
        client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
        if role != "anonymous":
            client.force_login(self.users[role])
        return client

    def unsafe_urls(self, api: bool) -> list[tuple[str, str, str]]:
        """(method, url, name) of every state-changing endpoint, web pages or the API."""
        out = []
        for name, url in walk_named_urls(self.world):
            row = EXPECTED[name]
            if url.startswith("/api/") != api:
                continue
            for method in UNSAFE:
                if getattr(row, method) is not None:
                    out.append((method, url, name))
        return out

    def test_every_state_changing_page_needs_the_token(self) -> None:
        targets = self.unsafe_urls(api=False)
        self.assertGreater(len(targets), 20)
        # The admin's forms too: adding a user, deleting an item, a changelist action.
        item = self.world.item.pk
        targets += [
            ("post", "/admin/itembank/user/add/", "admin add"),
            ("post", f"/admin/itembank/item/{item}/delete/", "admin delete"),
            ("post", "/admin/itembank/item/", "admin action"),
            ("post", "/admin/logout/", "admin logout"),
        ]
        names = {name for _method, _url, name in targets}
        self.assertTrue({"login", "logout", "set_language", "item-create"} <= names)
        problems = []
        for method, url, name in targets:
            role = "anonymous" if name == "login" else "admin"
            response = getattr(self.csrf_client(role), method)(url, {})
            if response.status_code != 403 or b"The form could not be sent" not in response.content:
                problems.append(f"{method.upper()} {url} ({name}): {response.status_code}")
        self.assertEqual(problems, [])

    def test_login_needs_the_token(self) -> None:
        client = self.csrf_client("anonymous")
        response = client.post("/accounts/login/", {"username": "teacher", "password": "x"})
        self.assertEqual(response.status_code, 403)
        self.assertNotIn("_auth_user_id", client.session)

    def test_every_post_form_carries_the_token(self) -> None:
        pages = [url for url, _name in self.form_pages()]
        self.assertGreater(len(pages), 25)
        problems = []
        seen_forms = 0
        for url, role in self.form_pages():
            client = self.csrf_client(role)
            response = client.get(url)
            if response.status_code != 200:
                problems.append(f"GET {url} as {role}: {response.status_code}")
                continue
            if "html" not in response.headers.get("Content-Type", ""):
                continue
            for form in parse(response.content.decode()).forms:
                if form["method"] != "post":
                    continue
                seen_forms += 1
                if "csrfmiddlewaretoken" not in form["inputs"]:
                    problems.append(f"{url}: form to {form['action']!r} has no CSRF token")
        self.assertGreater(seen_forms, 30)
        self.assertEqual(problems, [])

    def test_htmx_sends_the_token_from_hx_headers(self) -> None:
        client = self.csrf_client("teacher")
        page = client.get("/items/new/")
        headers = json.loads(parse(page.content.decode()).hx_headers or "{}")
        self.assertEqual(set(headers), {"X-CSRFToken"})
        # The duplicate check is an htmx-style POST with the header only, no form field.
        url = "/search/check/"
        self.assertEqual(client.post(url, {}).status_code, 403)
        response = client.post(url, {}, HTTP_X_CSRFTOKEN=headers["X-CSRFToken"])
        self.assertEqual(response.status_code, 200)

    def test_session_api_calls_need_the_token(self) -> None:
        targets = self.unsafe_urls(api=True)
        self.assertGreater(len(targets), 10)
        problems = []
        for method, url, name in targets:
            client = self.csrf_client("admin")
            response = getattr(client, method)(url, {}, content_type="application/json")
            detail = response.json().get("detail", "") if response.status_code == 403 else ""
            if name == "api-token":
                continue  # sign-in: no session to ride on, and no token yet
            if not detail.startswith("CSRF Failed"):
                problems.append(f"{method.upper()} {url}: {response.status_code} {detail}")
        self.assertEqual(problems, [])

    def test_token_api_calls_are_exempt(self) -> None:
        key = Token.objects.create(user=self.users["admin"]).key
        client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {key}")
        response = client.post(
            "/api/items/",
            {"external_id": "CSRF-1", "subject": "수학", "stem": "토큰으로 만든 문항"},
            content_type="application/json",
        )
        self.assertEqual(response.status_code, 201, response.content)
        response = client.post("/api/search/", {"text": "계산"}, content_type="application/json")
        self.assertEqual(response.status_code, 200)
