"""Celery task of duplicate review (default queue): a thin wrapper around `scan.run_scan`."""

from __future__ import annotations

import logging

from celery import shared_task
from kombu.exceptions import OperationalError

from .models import DuplicateScan

logger = logging.getLogger(__name__)


@shared_task(name="duplicates.run_scan")
def run_scan(scan_id: int) -> None:
    from . import scan

    scan.run_scan(scan_id)


def enqueue_scan(scan: DuplicateScan) -> None:
    """Queue the scan; when the broker cannot be reached, run it now so the request is not lost
    (`in_request` tells the admin so)."""
    try:
        run_scan.apply_async(args=[scan.pk], queue="default", retry=False)
    except (OperationalError, OSError):
        logger.warning("task queue unreachable; running duplicate scan %s in the request", scan.pk)
        DuplicateScan.objects.filter(pk=scan.pk).update(in_request=True)
        from . import scan as scanning

        scanning.run_scan(scan.pk)
