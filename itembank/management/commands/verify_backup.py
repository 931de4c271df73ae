"""python manage.py verify_backup BACKUP_DIR|BACKUPS_DIR [--pg-bin DIR]

Proves a backup restores: checksums, a restore into a scratch database on the configured server
(dropped afterwards), row counts and HNSW indexes against the manifest, a similar-item search in
every restored space, and the media archive against the restored image rows. Given a directory
of backups it checks the newest. Exit status 1 when any check fails.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from itembank import backup


class Command(BaseCommand):
    help = _("Check that a backup restores, in a scratch database that is dropped afterwards.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "backup", type=Path, help=_("A backup folder, or a folder of backups (the newest).")
        )
        parser.add_argument(
            "--pg-bin", default=None, help=_("Directory of the PostgreSQL client programs.")
        )

    def handle(self, *args, **options) -> None:
        try:
            path = backup.resolve_backup(options["backup"])
            self.stdout.write(_("Checking %(path)s …") % {"path": path})
            report = backup.verify_backup(path, pg_bin=options["pg_bin"])
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        for check in report.checks:
            self.stdout.write(check.line())
        if not report.ok:
            raise CommandError(
                _("The backup %(path)s failed %(count)d check(s).")
                % {"path": path, "count": len(report.failures)}
            )
        self.stdout.write(_("The backup %(path)s restores and checks out.") % {"path": path})
