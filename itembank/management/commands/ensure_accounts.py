"""Create the demo accounts (admin, teacher, reviewer) on first start and print how to log in.

Passwords come from ITEMBANK_ADMIN_PASSWORD / ITEMBANK_DEMO_PASSWORD when set; otherwise a random
password is made once and kept in the data folder, so every start prints the same credentials.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from itembank.models import Role, User

ACCOUNTS = [
    ("admin", Role.ADMIN, "관리자"),
    ("teacher", Role.TEACHER, "교사"),
    ("reviewer", Role.REVIEWER, "검토위원"),
]


def stored_password(name: str, env: str) -> str:
    if value := os.environ.get(env):
        return value
    path = Path(settings.DATA_DIR) / f"{name}-password.txt"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(12)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


class Command(BaseCommand):
    help = "Create the demo admin, teacher and reviewer accounts if missing and print them."

    def handle(self, *args, **options) -> None:
        admin_password = stored_password("admin", "ITEMBANK_ADMIN_PASSWORD")
        demo_password = stored_password("demo", "ITEMBANK_DEMO_PASSWORD")
        lines = []
        for username, role, label in ACCOUNTS:
            password = admin_password if role == Role.ADMIN else demo_password
            user, created = User.objects.get_or_create(username=username, defaults={"role": role})
            if created:
                user.set_password(password)
                user.save()
                lines.append(f"  {label:<6} {username:<9} / {password}")
            else:
                lines.append(f"  {label:<6} {username:<9} (existing account; password unchanged)")
        self.stdout.write("Accounts / 계정:\n" + "\n".join(lines))
