"""The database the first `./dev run` leaves behind, for tests that start where a new user does.

`./dev run` migrates (the test database is migrated already), makes the demo accounts, seeds the
demo bank, registers the default space and prepares the demo (`prepare_demo`). Here the accounts
are the tests' users (password `tests.base.PASSWORD`) and the data folder is a temporary one.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from itembank.models import Role, User
from search import keyword
from tests.base import make_user

DEMO_SIZE = 600  # the size `./dev run` seeds: its planted set fills all three strata


def prepare_first_run(cls: type) -> tuple[dict[Role, User], str]:
    """Build the first run's database for the test class `cls` (from setUpClass or
    setUpTestData): its DATA_DIR stays a temporary folder until the class is done. Returns the
    accounts by role and what `prepare_demo` printed."""
    keyword.reset_index()
    data = Path(tempfile.mkdtemp(prefix="itembank-first-run-"))
    cls.addClassCleanup(shutil.rmtree, data, True)
    data_dir = override_settings(DATA_DIR=data)
    data_dir.enable()
    cls.addClassCleanup(data_dir.disable)
    users = {
        role: make_user(username, role)
        for username, role in (
            ("admin", Role.ADMIN),
            ("teacher", Role.TEACHER),
            ("reviewer", Role.REVIEWER),
        )
    }
    out = io.StringIO()
    # manage.py runs the commands in the site's language; a test before this one may have left
    # another active (a request's Accept-Language), and the space's label and the TF-IDF set's
    # description are stored in the language of their making.
    with translation.override(settings.LANGUAGE_CODE):
        call_command("seed_demo", size=DEMO_SIZE, stdout=io.StringIO())
        call_command("spaces", "ensure-default", stdout=io.StringIO())
        call_command("prepare_demo", stdout=out)
    return users, out.getvalue()
