"""The Korean catalogue is complete and its compiled .mo matches the .po."""

from pathlib import Path

import polib
import pytest
from django.utils import translation

KO = Path(__file__).resolve().parent.parent / "locale" / "ko" / "LC_MESSAGES"


@pytest.mark.parametrize("name", ["django"])
def test_korean_catalogue_complete_and_compiled(name: str) -> None:
    po = polib.pofile(str(KO / f"{name}.po"))
    untranslated = [e.msgid for e in po if not e.obsolete and not e.translated()]
    assert untranslated == [], f"run scripts/i18n.py and translate: {untranslated[:20]}"
    mo = polib.mofile(str(KO / f"{name}.mo"))
    compiled = {(e.msgctxt, e.msgid): (e.msgstr, dict(e.msgstr_plural)) for e in mo}
    for entry in po:
        if entry.obsolete:
            continue
        key = (entry.msgctxt, entry.msgid)
        assert key in compiled, f".mo is stale (missing {entry.msgid!r}); run scripts/i18n.py"


def test_korean_is_the_default_language() -> None:
    with translation.override("ko"):
        assert translation.gettext("Subject") != "Subject"
