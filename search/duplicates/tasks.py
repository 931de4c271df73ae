"""Celery task of duplicate review (default queue): a thin wrapper around `scan.run_scan`.

Scans are sent by name through `itembank.jobs.enqueue` (`DuplicateScan.task_name`), so the
services never import this module."""

from __future__ import annotations

from celery import shared_task

from . import scan


@shared_task(name="duplicates.run_scan")
def run_scan(scan_id: int) -> None:
    scan.run_scan(scan_id)
