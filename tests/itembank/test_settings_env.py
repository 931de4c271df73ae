"""Settings from the environment (itembank.env): a value that is not understood stops the
start-up with a message naming the variable and what it accepts; good values are parsed; and
every variable the code reads is in the README's one "Settings" table."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from itembank.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_path,
    env_str,
    env_time_zone,
)

ROOT = Path(settings.BASE_DIR)


def environ(**values: str):
    return mock.patch.dict(os.environ, values)


@pytest.mark.parametrize("value", ["ture", "2", "enabled", "y es"])
def test_a_switch_it_does_not_understand_is_refused(value: str) -> None:
    with environ(ITEMBANK_X=value), pytest.raises(ImproperlyConfigured) as caught:
        env_bool("ITEMBANK_X")
    message = str(caught.value)
    assert f"ITEMBANK_X={value!r}" in message
    assert "1/true/yes/on" in message and "0/false/no/off" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[("1", True), ("true", True), (" Yes ", True), ("ON", True)],
        *[("0", False), ("false", False), ("No", False), ("off", False)],
    ],
)
def test_switches(value: str, expected: bool) -> None:
    with environ(ITEMBANK_X=value):
        assert env_bool("ITEMBANK_X", not expected) is expected


def test_unset_or_empty_means_the_default() -> None:
    with mock.patch.dict(os.environ):
        os.environ.pop("ITEMBANK_X", None)
        assert env_bool("ITEMBANK_X", True) is True
        assert env_int("ITEMBANK_X", 7) == 7
        assert env_str("ITEMBANK_X", "d") == "d"
        assert env_list("ITEMBANK_X", "a, b") == ["a", "b"]
    with environ(ITEMBANK_X=""):
        assert env_bool("ITEMBANK_X") is False
        assert env_float("ITEMBANK_X", 2.5) == 2.5
        assert env_list("ITEMBANK_X") == []
        assert env_path("ITEMBANK_X", "/srv/data") == Path("/srv/data")


@pytest.mark.parametrize("value", ["five", "2e2", "1.5", "0x10", "12 items"])
def test_a_whole_number_it_does_not_understand_is_refused(value: str) -> None:
    with environ(ITEMBANK_N=value), pytest.raises(ImproperlyConfigured) as caught:
        env_int("ITEMBANK_N", 5)
    assert f"ITEMBANK_N={value!r}" in str(caught.value)
    assert "a whole number" in str(caught.value)


def test_numbers() -> None:
    with environ(ITEMBANK_N=" 42 "):
        assert env_int("ITEMBANK_N", 5) == 42
    with environ(ITEMBANK_N="1_000"):
        assert env_int("ITEMBANK_N", 5) == 1000
    with environ(ITEMBANK_N="0.25"):
        assert env_float("ITEMBANK_N", 1.0) == 0.25
    for bad in ("nan", "inf", "soon"):
        with environ(ITEMBANK_N=bad), pytest.raises(ImproperlyConfigured, match="ITEMBANK_N"):
            env_float("ITEMBANK_N", 1.0)
    with environ(ITEMBANK_N="0"), pytest.raises(ImproperlyConfigured) as caught:
        env_int("ITEMBANK_N", 5, minimum=1)
    assert "at least 1" in str(caught.value)
    with environ(ITEMBANK_N="-3"), pytest.raises(ImproperlyConfigured, match="at least 0"):
        env_float("ITEMBANK_N", 5, minimum=0)


def test_lists_and_choices() -> None:
    with environ(DJANGO_ALLOWED_HOSTS=" a.example.kr, ,b.example.kr,"):
        assert env_list("DJANGO_ALLOWED_HOSTS") == ["a.example.kr", "b.example.kr"]
    with environ(LOG_LEVEL="warning"):
        assert env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING")) == "WARNING"
    with environ(LOG_FORMAT="xml"), pytest.raises(ImproperlyConfigured) as caught:
        env_choice("LOG_FORMAT", "plain", ("plain", "json"))
    assert "LOG_FORMAT='xml'" in str(caught.value) and "plain, json" in str(caught.value)


def test_time_zone() -> None:
    # Times are shown in Korea's time unless the deployment says otherwise.
    assert settings.TIME_ZONE == "Asia/Seoul" and settings.USE_TZ
    with environ(ITEMBANK_TIME_ZONE=""):
        assert env_time_zone("ITEMBANK_TIME_ZONE", "Asia/Seoul") == "Asia/Seoul"
    with environ(ITEMBANK_TIME_ZONE="Europe/Berlin"):
        assert env_time_zone("ITEMBANK_TIME_ZONE", "Asia/Seoul") == "Europe/Berlin"
    for wrong in ("Asia/Soeul", "KST+9", "../etc"):
        with environ(ITEMBANK_TIME_ZONE=wrong), pytest.raises(ImproperlyConfigured) as caught:
            env_time_zone("ITEMBANK_TIME_ZONE", "Asia/Seoul")
        assert f"ITEMBANK_TIME_ZONE={wrong!r}" in str(caught.value)


def start(**values: str) -> subprocess.CompletedProcess:
    """A fresh Django start-up with these variables (settings are read once per process)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "itembank.settings", **values}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_app_refuses_to_start_with_a_misspelt_switch_or_number() -> None:
    done = start(ITEMBANK_PRODUCTION="ture")
    assert done.returncode != 0
    assert "ImproperlyConfigured: ITEMBANK_PRODUCTION='ture' is not understood" in done.stderr
    done = start(ITEMBANK_LOGIN_FAILURE_LIMIT="five")
    assert done.returncode != 0
    assert "ITEMBANK_LOGIN_FAILURE_LIMIT='five'" in done.stderr
    done = start(ITEMBANK_LOGIN_FAILURE_LIMIT="3", ITEMBANK_BEHIND_TLS_PROXY="yes")
    assert done.returncode == 0, done.stderr
    assert "started" in done.stdout


# Reads of the environment in the product code: through itembank.env or os.environ directly.
READ = re.compile(
    r"""(?:\benv_[a-z]+\(|os\.environ\.get\(|os\.getenv\(|os\.environ\[|stored_password\([^,]+,)"""
    r"""\s*["']([A-Z][A-Z0-9_]+)["']"""
)
# benchmarks/ is not the product: its only variables pass a config file to its own Locust process.
SKIPPED = {
    ".venv",
    ".data",
    "tests",
    "benchmarks",
    "node_modules",
    "staticfiles",
    "static",
    "test-artifacts",
}


def product_sources() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*.py")
        if not SKIPPED & set(path.relative_to(ROOT).parts)
        and path != ROOT / "itembank" / "env.py"  # the readers themselves (and an example)
    ]


def readme_settings_table() -> set[str]:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def test_every_variable_read_is_in_the_readme_settings_table() -> None:
    read: dict[str, str] = {}
    for path in product_sources():
        for name in READ.findall(path.read_text("utf-8")):
            read.setdefault(name, str(path.relative_to(ROOT)))
    assert {"ITEMBANK_PRODUCTION", "DATABASE_URL", "LOG_LEVEL", "ITEMBANK_ADMIN_PASSWORD"} <= set(
        read
    )
    table = readme_settings_table()
    missing = {name: where for name, where in read.items() if name not in table}
    assert missing == {}, "add these to the README's Settings table"


def test_settings_read_the_environment_only_through_itembank_env() -> None:
    source = (ROOT / "itembank" / "settings.py").read_text("utf-8")
    assert "os.environ" not in source and "getenv" not in source
    assert len(re.findall(r"\benv_[a-z]+\(", source)) >= 30
