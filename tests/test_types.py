"""mypy is part of the test suite: the strict service modules stay clean and the rest may only
shrink against mypy-baseline.txt (scripts/mypy_baseline.py; `--update` records a shrink)."""

import importlib.util
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_spec = importlib.util.spec_from_file_location("mypy_baseline", ROOT / "scripts/mypy_baseline.py")
assert _spec is not None and _spec.loader is not None
mypy_baseline = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = mypy_baseline  # dataclasses look their module up
_spec.loader.exec_module(mypy_baseline)


def test_mypy_agrees_with_the_baseline() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/mypy_baseline.py"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def baseline(monkeypatch, tmp_path):
    path = tmp_path / "mypy-baseline.txt"
    path.write_text("# header\nsearch/views.py:arg-type:one\nsearch/views.py:arg-type:one\n")
    monkeypatch.setattr(mypy_baseline, "BASELINE", path)
    return path


def outcome(*errors: str, strict: tuple[str, ...] = ()):
    return mypy_baseline.Outcome(errors=list(errors), strict=list(strict), output="mypy said so")


def test_an_error_outside_the_baseline_fails(baseline) -> None:
    problems = mypy_baseline.check(
        outcome("search/views.py:arg-type:one", "search/views.py:arg-type:one", "a.py:misc:new")
    )
    assert len(problems) == 1
    assert "a.py:misc:new" in problems[0] and "mypy said so" in problems[0]


def test_a_repeated_error_counts_once_per_occurrence(baseline) -> None:
    problems = mypy_baseline.check(outcome(*["search/views.py:arg-type:one"] * 3))
    assert len(problems) == 1 and "New mypy errors" in problems[0]


def test_entries_that_no_longer_occur_fail_until_the_baseline_is_regenerated(baseline) -> None:
    problems = mypy_baseline.check(outcome("search/views.py:arg-type:one"))
    assert len(problems) == 1
    assert "1 baseline entries no longer occur" in problems[0]
    assert mypy_baseline.UPDATE_COMMAND in problems[0]

    mypy_baseline.update(outcome("search/views.py:arg-type:one"))
    assert mypy_baseline.read_baseline() == Counter({"search/views.py:arg-type:one": 1})
    assert mypy_baseline.check(outcome("search/views.py:arg-type:one")) == []


def test_strict_modules_are_never_baselined(baseline) -> None:
    line = "search/engine.py:12: error: Function is missing a type annotation  [no-untyped-def]"
    strict = outcome("search/engine.py:no-untyped-def:Function is missing", strict=(line,))
    assert any(line in problem for problem in mypy_baseline.check(strict))
    with pytest.raises(SystemExit):
        mypy_baseline.update(strict)


def test_the_service_modules_are_strict() -> None:
    assert {
        "search.engine",
        "search.keyword",
        "embeddings.pipeline",
        "embeddings.services",
        "itembank.services",
        "itembank.importing",
        "itembank.jobs",
    } <= set(mypy_baseline.strict_modules())


def test_normalising_drops_line_numbers() -> None:
    assert mypy_baseline.normalise("a.py", None, 'Name "x" already defined on line 12') == (
        'a.py:misc:Name "x" already defined on line N'
    )
