"""docs/deploy.md stays honest: every `manage.py` command line in it names a command that exists
and parses with that command's own options, and every variable the compose files require is
explained there."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "deploy.md"
SHELL_STOP = {"&&", "||", ";", "|", ">", ">>", "2>&1", "<"}


def command_lines(text: str) -> list[str]:
    """What follows `manage.py` in fenced code (continuation lines joined) and in inline code."""
    found: list[str] = []
    in_fence = False
    pending = ""
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_fence = not in_fence
            pending = ""
            continue
        if in_fence:
            line = pending + line
            if line.rstrip().endswith("\\"):
                pending = line.rstrip()[:-1] + " "
                continue
            pending = ""
            spans = [line]
        else:
            spans = re.findall(r"`([^`]+)`", line)
        for span in spans:
            found += [m.group(1) for m in re.finditer(r"manage\.py\s+(.+)$", span)]
    return found


def argv(line: str) -> list[str]:
    words = []
    for word in shlex.split(line, comments=True):
        if word in SHELL_STOP or word.startswith((">", "2>")):
            break
        words.append(word)
    return words


def test_the_doc_shows_commands_that_exist_with_options_they_take() -> None:
    commands = get_commands()
    lines = command_lines(DOC.read_text())
    assert len(lines) >= 20  # the extraction found the doc's commands
    seen = set()
    for line in lines:
        name, *args = argv(line)
        assert name in commands, f"docs/deploy.md: no command {name!r}: {line}"
        command = load_command_class(commands[name], name)
        parser = command.create_parser("manage.py", name)
        parser.parse_args(args)  # CommandError on an unknown option or a missing argument
        seen.add(name)
    for name in ("backup", "verify_backup", "restore", "spaces", "embed_items", "evaluate"):
        assert name in seen, name


def test_the_extraction_catches_a_wrong_option() -> None:
    import pytest
    from django.core.management import CommandError

    (line,) = command_lines("```\npython manage.py backup /backups \\\n    --kept 14\n```\n")
    name, *args = argv(line)
    parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)
    with pytest.raises(CommandError, match="--kept"):
        parser.parse_args(args)


def test_every_required_compose_variable_is_explained() -> None:
    doc = DOC.read_text()
    for path in ("docker-compose.yml", "docker-compose.gpu.yml"):
        text = (ROOT / path).read_text()
        for name in set(re.findall(r"\$\{([A-Z_]+):\?", text)):
            assert name in doc, f"{path} requires {name}, docs/deploy.md does not explain it"
