"""python manage.py import_items PATH [--user USERNAME]"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from itembank.importing import ImportFailed, import_path


class ProgressBar:
    """A plain-text bar on stderr, redrawn at most ten times a second."""

    def __init__(self, stream, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if total < 200 or (now - self.last < 0.1 and done < total):
            return
        self.last = now
        filled = self.width * done // total
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {100 * done // total:3d}%")
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = "Import items from a .jsonl, .json, .csv or .zip file (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--user", help="username recorded as the author and in the history")

    def handle(self, *args, path: Path, user: str | None = None, **options) -> None:
        account = None
        if user:
            try:
                account = get_user_model().objects.get(username=user)
            except get_user_model().DoesNotExist as exc:
                raise CommandError(_("There is no user “%(name)s”.") % {"name": user}) from exc
        bar = ProgressBar(sys.stderr)
        try:
            result = import_path(path, user=account, via="import", progress=bar)
        except ImportFailed as exc:
            bar.finish()
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(
                _("Nothing was imported: %(count)d problem(s) in %(name)s.")
                % {"count": len(exc.errors), "name": path}
            ) from exc
        bar.finish()
        self.stdout.write(
            _(
                "%(total)d items: %(created)d created, %(updated)d updated, "
                "%(unchanged)d unchanged in %(seconds).1f s."
            )
            % {
                "total": result.total,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "seconds": result.seconds,
            }
        )
