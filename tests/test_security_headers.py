"""Security headers: the Content-Security-Policy (django-csp, settings.CONTENT_SECURITY_POLICY)
on pages, API answers and error pages, Django's nosniff / referrer / frame headers, a minimal
Permissions-Policy; and the pages themselves hold nothing the policy would block (inline
scripts, <style> elements, event handler attributes, resources from other hosts)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from csp.utils import build_policy
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.test_permissions import MatrixTestCase

EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


# The policy the hand-written middleware sent before django-csp took over, directive for
# directive (django-csp orders the directives differently from one process to the next).
POLICY = directives(
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class InlineFinder(HTMLParser):
    """What a strict CSP would block in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.htmx_config: str | None = None
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler")
            if name in ("href", "src", "action") and value:
                if value.strip().lower().startswith("javascript:"):
                    self.problems.append(f"<{tag} {name}={value!r}>")
                if name != "href" or tag == "link":
                    if EXTERNAL.match(value):
                        self.problems.append(f"<{tag} {name}={value!r}> from another host")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script" and not attributes.get("src"):
            kind = (attributes.get("type") or "").lower()
            if kind not in ("application/json", "application/ld+json"):
                self._in_inline_script = True
                self.problems.append("inline <script>")
        if tag == "meta" and attributes.get("name") == "htmx-config":
            self.htmx_config = attributes.get("content")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False


def inline_problems(html: str) -> InlineFinder:
    finder = InlineFinder()
    finder.feed(html)
    return finder


class HeaderTests(MatrixTestCase):
    def assert_security_headers(self, response) -> None:
        self.assertEqual(response.headers["Content-Security-Policy"], build_policy())
        self.assertEqual(directives(response.headers["Content-Security-Policy"]), POLICY)
        self.assertEqual(response.headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(response.headers["Referrer-Policy"], "same-origin")
        self.assertIn("camera=()", response.headers["Permissions-Policy"])
        self.assertIn("geolocation=()", response.headers["Permissions-Policy"])

    def test_the_policy_allows_only_this_site(self) -> None:
        policy = directives(build_policy())
        self.assertEqual(policy, POLICY)
        self.assertEqual(policy["default-src"], ["'self'"])
        self.assertEqual(policy["script-src"], ["'self'"])  # no inline script, no eval
        self.assertEqual(policy["style-src"], ["'self'"])
        self.assertEqual(policy["object-src"], ["'none'"])
        self.assertEqual(policy["frame-ancestors"], ["'none'"])
        self.assertEqual(policy["form-action"], ["'self'"])
        for values in policy.values():
            self.assertFalse([v for v in values if "//" in v or v in ("*", "https:", "http:")])

    def test_page_headers(self) -> None:
        response = Client().get("/accounts/login/")
        self.assertEqual(response.status_code, 200)
        self.assert_security_headers(response)
        self.assertEqual(response.headers["X-Frame-Options"], "DENY")

        client = Client()
        client.force_login(self.users["teacher"])
        response = client.get(f"/items/{self.world.item.pk}/")
        self.assertEqual(response.status_code, 200)
        self.assert_security_headers(response)

    def test_api_headers(self) -> None:
        key = Token.objects.create(user=self.users["reviewer"]).key
        response = Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/items/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "application/json")
        self.assert_security_headers(response)

    def test_error_pages_carry_the_headers_too(self) -> None:
        client = Client()
        client.force_login(self.users["teacher"])
        self.assert_security_headers(client.get("/no-such-page/"))  # 404
        self.assert_security_headers(client.get("/manage/import/"))  # 403

    def test_debug_error_pages_go_without_the_policy(self) -> None:
        """Django's technical 404/500 pages (DEBUG, development only) are styled inline."""
        client = Client()
        client.force_login(self.users["teacher"])
        with self.settings(DEBUG=True):
            self.assertNotIn("Content-Security-Policy", client.get("/no-such-page/").headers)
            self.assertIn("Content-Security-Policy", client.get("/items/").headers)

    def test_images_are_served_with_nosniff_and_the_policy(self) -> None:
        client = Client()
        client.force_login(self.users["teacher"])
        image = self.world.image_item.images.get()
        response = client.get(f"/media/{image.file.name}")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "image/png")
        self.assert_security_headers(response)


class InlineContentTests(MatrixTestCase):
    def test_pages_hold_nothing_the_policy_blocks(self) -> None:
        pages = [
            *self.form_pages(),
            ("/api/docs/", "anonymous"),
            (f"/search/?text=%EA%B3%84%EC%82%B0&item={self.world.item.pk}", "teacher"),
            (f"/search/items/{self.world.item.pk}/similar/", "teacher"),  # an htmx fragment
        ]
        problems = []
        checked = 0
        for url, role in pages:
            client = Client()
            if role != "anonymous":
                client.force_login(self.users[role])
            response = client.get(url)
            if "html" not in response.headers.get("Content-Type", ""):
                continue
            checked += 1
            found = inline_problems(response.content.decode())
            problems += [f"{url}: {problem}" for problem in found.problems]
        self.assertGreater(checked, 25)
        self.assertEqual(problems, [])

    def test_htmx_injects_no_style_and_evaluates_nothing(self) -> None:
        client = Client()
        client.force_login(self.users["teacher"])
        found = inline_problems(client.get("/items/").content.decode())
        self.assertEqual(found.htmx_config, '{"includeIndicatorStyles": false, "allowEval": false}')

    def test_api_docs_load_their_start_up_script_as_a_file(self) -> None:
        html = Client().get("/api/docs/").content.decode()
        self.assertIn('<script src="/api/docs/?script="></script>', html)
        self.assertIn("/static/css/swagger.css", html)
        script = Client().get("/api/docs/", {"script": ""})
        self.assertEqual(script.status_code, 200)
        self.assertIn("javascript", script.headers["Content-Type"])
        self.assertIn("SwaggerUIBundle", script.content.decode())

    def test_the_browsable_api_holds_nothing_the_policy_blocks(self) -> None:
        client = Client()
        client.force_login(self.users["teacher"])
        for url in ("/api/items/", f"/api/items/{self.world.item.pk}/"):
            with self.subTest(url=url):
                response = client.get(url, HTTP_ACCEPT="text/html")
                self.assertIn("text/html", response.headers["Content-Type"])
                html = response.content.decode()
                self.assertEqual(inline_problems(html).problems, [])
                self.assertIn("/static/css/api-code.css", html)
