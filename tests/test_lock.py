"""requirements.lock, the exact versions ./dev installs, stays in step with pyproject.toml
(scripts/lock.sh re-resolves it)."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _PIN.match(line)
        assert match, f"requirements.lock: not an exact pin: {line!r}"
        found[canonicalize_name(match["name"])] = match["version"]
    return found


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [Requirement(line) for line in lines]


def test_every_dependency_is_pinned_at_an_allowed_version() -> None:
    locked = pins()
    stale = []
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        if name == "torch":  # installed first by ./dev as torch==2.13.0 (a CPU build), apart
            continue
        version = locked.get(name)
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            stale.append(f"{requirement} (locked: {version})")
    assert not stale, "requirements.lock is out of date; run scripts/lock.sh: " + ", ".join(stale)


def test_the_lock_holds_neither_torch_nor_cuda_packages() -> None:
    locked = pins()
    assert "torch" not in locked
    assert not [name for name in locked if name.startswith("nvidia-") or name == "triton"]
