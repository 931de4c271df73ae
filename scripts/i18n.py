"""Refresh the translation catalogues: extract messages, fill Korean from the fragments, compile.

    .venv/bin/python scripts/i18n.py

1. `makemessages -l ko` extracts every translatable string (needs GNU gettext's xgettext).
2. Korean translations written by hand in `locale/ko/LC_MESSAGES/parts/*.po` fill the empty
   entries of `locale/ko/LC_MESSAGES/django.po` (existing translations are kept).
3. The .mo files are compiled with polib, so no gettext is needed to run the app.
Untranslated entries are listed at the end; tests/test_translations.py fails while any remain.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
KO = ROOT / "locale" / "ko" / "LC_MESSAGES"
IGNORE = [
    ".venv",
    ".data",
    "node_modules",
    "staticfiles",
    "test-artifacts",
    "tests",
    "docs",
    "static/vendor",
]


def extract() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "itembank.settings"}
    ignore = [arg for name in IGNORE for arg in ("--ignore", name)]
    for domain in ("django", "djangojs"):
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "makemessages",
                "-l",
                "ko",
                "-d",
                domain,
                "--no-obsolete",
                *ignore,
            ],
            cwd=ROOT,
            check=True,
            env=env,
        )


def fragments() -> dict[tuple[str, str], polib.POEntry]:
    found: dict[tuple[str, str], polib.POEntry] = {}
    for path in sorted((KO / "parts").glob("*.po")):
        for entry in polib.pofile(str(path)):
            if entry.msgstr or entry.msgstr_plural:
                found[(entry.msgctxt or "", entry.msgid)] = entry
    return found


def fill(po_path: Path, known: dict[tuple[str, str], polib.POEntry]) -> list[str]:
    po = polib.pofile(str(po_path))
    missing = []
    for entry in po:
        if entry.obsolete:
            continue
        source = known.get((entry.msgctxt or "", entry.msgid))
        if source is not None and (not entry.translated() or "fuzzy" in entry.flags):
            if entry.msgid_plural:
                entry.msgstr_plural = dict(source.msgstr_plural) or {0: source.msgstr}
            else:
                entry.msgstr = source.msgstr
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
        if not entry.translated():
            missing.append(entry.msgid)
    po.metadata["Language"] = "ko"
    po.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.save()
    po.save_as_mofile(str(po_path.with_suffix(".mo")))
    return missing


def main() -> int:
    if "--no-extract" not in sys.argv:
        extract()
    known = fragments()
    missing = []
    for name in ("django.po", "djangojs.po"):
        if (KO / name).exists():
            missing += fill(KO / name, known)
    for msgid in missing:
        print(f"untranslated: {msgid!r}")
    print(f"{len(missing)} untranslated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
