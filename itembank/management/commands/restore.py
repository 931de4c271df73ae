"""python manage.py restore BACKUP_DIR [--database-url URL] [--media-root PATH] [--force]

Loads a backup made by `backup` into an empty database (the configured one unless
--database-url) and its media files into MEDIA_ROOT (or --media-root), then checks row counts,
HNSW indexes and files against the backup's manifest. Exit status 1 when anything differs.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from itembank import backup


class Command(BaseCommand):
    help = _("Restore a backup into an empty database and media folder, then check it.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", type=Path, help=_("The backup folder."))
        parser.add_argument(
            "--database-url",
            default=None,
            help=_("The database to restore into (default: the configured one)."),
        )
        parser.add_argument("--media-root", type=Path, default=None, help=_("Default: MEDIA_ROOT."))
        parser.add_argument("--no-media", action="store_true", help=_("Restore the database only."))
        parser.add_argument(
            "--force",
            action="store_true",
            help=_("Restore over a database and media folder that are not empty."),
        )
        parser.add_argument(
            "--pg-bin", default=None, help=_("Directory of the PostgreSQL client programs.")
        )

    def handle(self, *args, **options) -> None:
        try:
            target = (
                backup.PgParams.from_url(options["database_url"])
                if options["database_url"]
                else backup.PgParams.configured()
            )
            self.stdout.write(
                _("Restoring %(backup)s into %(db)s …")
                % {"backup": options["backup"], "db": target.describe()}
            )
            report = backup.restore_backup(
                options["backup"],
                target=target,
                media_root=options["media_root"],
                restore_media=not options["no_media"],
                force=options["force"],
                pg_bin=options["pg_bin"],
            )
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        for check in report.checks:
            self.stdout.write(check.line())
        if not report.ok:
            raise CommandError(
                _("The restore does not match the backup: %(count)d check(s) failed.")
                % {"count": len(report.failures)}
            )
        self.stdout.write(_("Restored; every check passed."))
