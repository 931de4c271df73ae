"""Type-check the apps with mypy against a baseline that may only shrink.

    .venv/bin/python scripts/mypy_baseline.py            # check (tests/test_types.py runs this)
    .venv/bin/python scripts/mypy_baseline.py --update   # rewrite mypy-baseline.txt

mypy's settings live in pyproject.toml ([tool.mypy]). The service modules listed in its strict
override must be clean: their errors are never accepted into the baseline. Every other error is
recorded in mypy-baseline.txt as `path:code:message` (line numbers dropped, so edits elsewhere in a
file do not churn it). The check fails when mypy reports an error the baseline does not hold, and
when baseline entries no longer occur (then `--update` records the shrink). mypy's incremental
cache (.mypy_cache/) makes a warm run take seconds.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "mypy-baseline.txt"
# The Django apps that are type-checked; one not (yet) in the tree is skipped.
APPS = ("itembank", "embeddings", "search", "monitoring")
UPDATE_COMMAND = ".venv/bin/python scripts/mypy_baseline.py --update"

_ERROR = re.compile(
    r"^(?P<path>[^:]+\.pyi?):(?P<line>\d+): error: (?P<message>.*?)(?:  \[(?P<code>[a-z-]+)\])?$"
)
_SUMMARY = re.compile(r"^(Success: no issues found|Found \d+ errors?) in \d+ (source )?files?")


@dataclass
class Outcome:
    errors: list[str]  # normalised, one per error mypy reported
    strict: list[str]  # the raw lines of errors in strict modules
    output: str


def targets() -> list[str]:
    return [app for app in APPS if (ROOT / app).is_dir()]


def strict_modules() -> list[str]:
    """The modules of pyproject.toml's override that sets disallow_untyped_defs."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    modules: list[str] = []
    for override in config["tool"]["mypy"].get("overrides", []):
        if override.get("disallow_untyped_defs"):
            module = override["module"]
            modules += [module] if isinstance(module, str) else module
    return modules


def _module_of(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def normalise(path: str, code: str | None, message: str) -> str:
    # Messages that point at another line ("defined on line 12") would churn like line numbers.
    message = re.sub(r"\bline \d+\b", "line N", message)
    return f"{path}:{code or 'misc'}:{message}"


def run_mypy() -> Outcome:
    command = [sys.executable, "-m", "mypy", *targets()]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    strict = set(strict_modules())
    errors: list[str] = []
    strict_errors: list[str] = []
    unexpected: list[str] = []
    for line in proc.stdout.splitlines():
        match = _ERROR.match(line)
        if match:
            errors.append(normalise(match["path"], match["code"], match["message"]))
            if _module_of(match["path"]) in strict:
                strict_errors.append(line)
        elif ": note: " not in line and not _SUMMARY.match(line):
            unexpected.append(line)
    if proc.returncode not in (0, 1) or proc.stderr.strip() or unexpected:
        raise SystemExit(f"mypy did not run cleanly (exit {proc.returncode}):\n{output}")
    return Outcome(errors=errors, strict=strict_errors, output=output)


def read_baseline() -> Counter[str]:
    if not BASELINE.exists():
        return Counter()
    lines = BASELINE.read_text(encoding="utf-8").splitlines()
    return Counter(line for line in lines if line and not line.startswith("#"))


def check(outcome: Outcome) -> list[str]:
    """The problems to report; empty when mypy agrees with the baseline."""
    problems: list[str] = []
    if outcome.strict:
        problems.append(
            "Errors in the strict service modules (never baselined; fix them):\n  "
            + "\n  ".join(outcome.strict)
        )
    current = Counter(outcome.errors)
    baseline = read_baseline()
    new = current - baseline
    gone = baseline - current
    if new:
        problems.append(
            "New mypy errors (not in mypy-baseline.txt; fix them):\n  "
            + "\n  ".join(sorted(new.elements()))
            + "\n\nmypy's output:\n"
            + outcome.output
        )
    if gone:
        problems.append(
            f"{sum(gone.values())} baseline entries no longer occur; record the shrink with "
            f"`{UPDATE_COMMAND}`:\n  " + "\n  ".join(sorted(gone.elements()))
        )
    return problems


def update(outcome: Outcome) -> None:
    if outcome.strict:
        raise SystemExit(
            "Errors in the strict service modules cannot be baselined; fix them first:\n  "
            + "\n  ".join(outcome.strict)
        )
    header = [
        "# mypy errors accepted for now (path:code:message); may only shrink.",
        f"# Regenerate with: {UPDATE_COMMAND}",
    ]
    BASELINE.write_text("\n".join([*header, *sorted(outcome.errors)]) + "\n", encoding="utf-8")
    print(f"{BASELINE.name}: {len(outcome.errors)} errors recorded")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite mypy-baseline.txt")
    args = parser.parse_args(argv)
    outcome = run_mypy()
    if args.update:
        update(outcome)
        return 0
    problems = check(outcome)
    for problem in problems:
        print(problem, end="\n\n")
    if not problems:
        print(f"mypy: {len(outcome.errors)} errors, all in {BASELINE.name}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
