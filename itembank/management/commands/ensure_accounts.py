"""Create the demo accounts (admin, teacher, reviewer) on first start and print how to log in.

Passwords come from ITEMBANK_ADMIN_PASSWORD / ITEMBANK_DEMO_PASSWORD when set; otherwise a random
password is made once and kept in the data folder, so every start prints the same credentials.
A password taken from the environment is never printed. In production (ITEMBANK_PRODUCTION=1)
only the admin account is made: teachers and reviewers get real accounts from an admin.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from itembank.env import env_bool, env_str
from itembank.models import Role, User

FROM_ENV = "(password from the environment / 환경 변수의 비밀번호)"
ACCOUNTS = [
    ("admin", Role.ADMIN, "관리자"),
    ("teacher", Role.TEACHER, "교사"),
    ("reviewer", Role.REVIEWER, "검토위원"),
]


def stored_password(name: str, env: str) -> str:
    if value := env_str(env):
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
        production = env_bool("ITEMBANK_PRODUCTION")
        demo_password = "" if production else stored_password("demo", "ITEMBANK_DEMO_PASSWORD")
        accounts = [a for a in ACCOUNTS if a[1] == Role.ADMIN] if production else ACCOUNTS
        lines = []
        for username, role, label in accounts:
            admin = role == Role.ADMIN
            password = admin_password if admin else demo_password
            env_name = "ITEMBANK_ADMIN_PASSWORD" if admin else "ITEMBANK_DEMO_PASSWORD"
            from_env = env_str(env_name)
            user, created = User.objects.get_or_create(username=username, defaults={"role": role})
            if created:
                user.set_password(password)
                user.save()
                shown = FROM_ENV if from_env else f"/ {password}"
                lines.append(f"  {label:<6} {username:<9} {shown}")
            else:
                lines.append(f"  {label:<6} {username:<9} (existing account; password unchanged)")
        self.stdout.write("Accounts / 계정:\n" + "\n".join(lines))
