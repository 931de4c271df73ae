"""python manage.py export_items PATH.zip|PATH.jsonl [--subject ...] [--status ...]"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from itembank.exporting import ExportFailed, export_items
from itembank.models import Item, ItemStatus, Subject


class Command(BaseCommand):
    help = (
        "Export items as JSON Lines: PATH.zip holds items.jsonl and images/; PATH.jsonl is "
        "written with an images folder beside it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--subject", action="append", choices=Subject.values, help="repeat for several"
        )
        parser.add_argument(
            "--status", action="append", choices=ItemStatus.values, help="repeat for several"
        )

    def handle(
        self,
        *args,
        path: Path,
        subject: list[str] | None = None,
        status: list[str] | None = None,
        **options,
    ) -> None:
        started = time.monotonic()
        items = Item.objects.all()
        if subject:
            items = items.filter(subject__in=subject)
        if status:
            items = items.filter(status__in=status)
        try:
            result = export_items(path, items)
        except ExportFailed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("%(items)d items and %(images)d images written to %(path)s in %(seconds).1f s.")
            % {
                "items": result.items,
                "images": result.images,
                "path": path,
                "seconds": time.monotonic() - started,
            }
        )
