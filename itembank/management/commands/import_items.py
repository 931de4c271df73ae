"""python manage.py import_items PATH [--user USERNAME]"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from itembank.importing import ImportFailed, import_path
from itembank.progress import ProgressBar


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
        # small files import in a blink: no bar for them
        bar = ProgressBar(self.stderr, min_total=200, enabled=options["verbosity"] > 0)
        try:
            result = import_path(path, user=account, via="import", progress=bar)
        except ImportFailed as exc:
            bar.close()
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(
                _("Nothing was imported: %(count)d problem(s) in %(name)s.")
                % {"count": len(exc.errors), "name": path}
            ) from exc
        bar.close()
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
