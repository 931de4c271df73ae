"""Production settings (ITEMBANK_PRODUCTION=1): `manage.py check --deploy` is clean, the app
refuses to start without a real secret, DEBUG off and a database URL, secrets come from the
environment only, and the site is HTTPS-only while `./dev run` keeps plain http.

Each case runs Django in a subprocess, since settings are read once per process."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

ROOT = settings.BASE_DIR
HOST = "itembank.example.kr"
# What a test prints from inside the subprocess's configured Django.
PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name, None) for name in %r}, default=str))
"""


# The test run's own switches (the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE), not a deployment's.
TEST_SWITCHES = {
    "DJANGO_DEBUG",
    "PYTEST_VERSION",
    "ITEMBANK_TEST_DB",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "ITEMBANK_BEHIND_TLS_PROXY",
}


def production_env(**overrides: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in TEST_SWITCHES and not key.startswith(("ITEMBANK_SSL", "ITEMBANK_HSTS"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "itembank.settings",
            "ITEMBANK_PRODUCTION": "1",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
            "DJANGO_ALLOWED_HOSTS": HOST,
            "DATABASE_URL": os.environ.get("DATABASE_URL", "postgresql://itembank@db/itembank"),
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180
    )


def probe(env: dict[str, str], *names: str) -> dict:
    result = run(["-c", PROBE % (names,)], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_under_production_settings() -> None:
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_flags_a_plain_http_deployment() -> None:
    """The check is not blind: switching the HTTPS redirect off is reported."""
    env = production_env(ITEMBANK_SSL_REDIRECT="0")
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": "short-but-secret"}, "at least 50 characters"),
        (
            {"DJANGO_SECRET_KEY": "insecure-development-key-do-not-use-in-production"},
            "DJANGO_SECRET_KEY must be set",
        ),
        ({"DJANGO_DEBUG": "1"}, "DJANGO_DEBUG must be off"),
        ({"DATABASE_URL": None}, "DATABASE_URL must be set"),
    ],
    ids=["no-secret", "short-secret", "development-secret", "debug", "no-database-url"],
)
def test_production_refuses_to_start_without_its_secrets(overrides: dict, message: str) -> None:
    result = run(["manage.py", "check"], production_env(**overrides))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_secrets_come_from_the_environment() -> None:
    env = production_env(
        DATABASE_URL="postgresql://itembank:db-pass-from-env@db:5432/itembank",
        ITEMBANK_LLM_API_KEY="llm-key-from-env",
        ITEMBANK_METRICS_TOKEN="metrics-token-from-env",
    )
    values = probe(env, "SECRET_KEY", "DATABASES", "ITEMBANK_LLM_API_KEY", "ITEMBANK_METRICS_TOKEN")
    assert values["SECRET_KEY"] == env["DJANGO_SECRET_KEY"]
    assert values["DATABASES"]["default"]["PASSWORD"] == "db-pass-from-env"
    assert values["ITEMBANK_LLM_API_KEY"] == "llm-key-from-env"
    assert values["ITEMBANK_METRICS_TOKEN"] == "metrics-token-from-env"

    # Without them in the environment there is nothing to fall back on: empty, never a default.
    env = production_env(ITEMBANK_LLM_API_KEY=None, ITEMBANK_METRICS_TOKEN=None)
    env["DATABASE_URL"] = "postgresql://itembank@db:5432/itembank"
    values = probe(env, "DATABASES", "ITEMBANK_LLM_API_KEY", "ITEMBANK_METRICS_TOKEN")
    assert not values["DATABASES"]["default"]["PASSWORD"]
    assert values["ITEMBANK_LLM_API_KEY"] == ""
    assert values["ITEMBANK_METRICS_TOKEN"] == ""


def test_production_is_https_only() -> None:
    values = probe(
        production_env(),
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "X_FRAME_OPTIONS",
        "SECURE_PROXY_SSL_HEADER",
    )
    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_PROXY_SSL_HEADER": None,
    }
    behind_proxy = probe(
        production_env(ITEMBANK_BEHIND_TLS_PROXY="1", ITEMBANK_SSL_REDIRECT="0"),
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_SSL_REDIRECT",
    )
    assert behind_proxy == {
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_SSL_REDIRECT": False,
    }


REQUESTS = """
import django
django.setup()
from django.test import Client
client = Client(SERVER_NAME=%r)
plain = client.get("/accounts/login/")
print("plain", plain.status_code, plain.headers.get("Location"))
secure = client.get("/accounts/login/", secure=True)
print("secure", secure.status_code, secure.headers.get("Strict-Transport-Security"))
proxied = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
print("proxied", proxied.status_code)
health = client.get("/healthz/")
print("health", health.status_code)
"""


def test_production_redirects_to_https_and_sends_hsts() -> None:
    result = run(["-c", REQUESTS % HOST], production_env(ITEMBANK_BEHIND_TLS_PROXY="1"))
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())
    assert lines["plain"] == f"301 https://{HOST}/accounts/login/"
    assert lines["secure"] == "200 max-age=31536000; includeSubDomains; preload"
    assert lines["proxied"] == "200"  # the TLS proxy's X-Forwarded-Proto counts as https
    assert not lines["health"].startswith("301")  # the container's probe speaks plain http


def test_development_settings_keep_plain_http() -> None:
    """What `./dev run` gets: DEBUG on, no secret needed, no HTTPS redirect or secure cookies."""
    env = production_env(ITEMBANK_PRODUCTION=None, DJANGO_SECRET_KEY=None, DJANGO_DEBUG="1")
    values = probe(env, "DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "SECRET_KEY")
    assert values["DEBUG"] is True
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SECRET_KEY"] == "insecure-development-key-do-not-use-in-production"
