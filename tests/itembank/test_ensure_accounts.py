import io
from unittest import mock

from django.core.management import call_command
from django.test import TestCase, override_settings

from itembank.models import Role, User


class EnsureAccountsTestCase(TestCase):
    def run_command(self, **env: str) -> str:
        out = io.StringIO()
        with mock.patch.dict("os.environ", env):
            call_command("ensure_accounts", stdout=out)
        return out.getvalue()

    def test_demo_accounts_with_printed_passwords(self) -> None:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp, override_settings(DATA_DIR=tmp):
            out = self.run_command(ITEMBANK_PRODUCTION="0")
        self.assertEqual(User.objects.get(username="teacher").role, Role.TEACHER)
        self.assertEqual(User.objects.get(username="reviewer").role, Role.REVIEWER)
        admin = User.objects.get(username="admin")
        self.assertEqual(admin.role, Role.ADMIN)
        password = out.split("admin")[1].split("/")[1].split()[0]
        self.assertTrue(admin.check_password(password))

    def test_production_makes_only_the_admin_and_never_prints_its_password(self) -> None:
        out = self.run_command(ITEMBANK_PRODUCTION="1", ITEMBANK_ADMIN_PASSWORD="s3cret-Admin-pw")
        self.assertTrue(User.objects.get(username="admin").check_password("s3cret-Admin-pw"))
        self.assertFalse(User.objects.filter(username__in=["teacher", "reviewer"]).exists())
        self.assertNotIn("s3cret-Admin-pw", out)
        self.assertIn("password from the environment", out)
