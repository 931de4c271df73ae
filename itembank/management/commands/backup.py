"""python manage.py backup DIR [--keep N] [--pg-bin DIR]

Writes DIR/itembank-YYYYMMDDTHHMMSSZ/ (database.dump, media.tar, manifest.json); see
itembank.backup. Nothing is left behind when it fails.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from itembank import backup


class Command(BaseCommand):
    help = _("Back up the database (items, vectors, labels, users, …) and the media files.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, help=_("Where the backup folder is written."))
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            help=_("Then delete all but the newest N backups in the directory."),
        )
        parser.add_argument(
            "--pg-bin", default=None, help=_("Directory of the PostgreSQL client programs.")
        )

    def handle(self, *args, directory: Path, keep: int | None, pg_bin: str | None, **options):
        if keep is not None and keep < 1:
            raise CommandError(_("--keep must be at least 1."))
        try:
            result = backup.create_backup(directory, keep=keep, pg_bin=pg_bin)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("Backup written to %(path)s (%(mib).1f MiB in %(seconds).1f s).")
            % {"path": result.path, "mib": result.bytes / 2**20, "seconds": result.seconds}
        )
        for line in backup.summary(result.manifest):
            self.stdout.write(line)
        for old in result.pruned:
            self.stdout.write(_("Deleted the old backup %(path)s.") % {"path": old})
