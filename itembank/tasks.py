"""Celery tasks of the item bank: thin wrappers around plain functions."""

from __future__ import annotations

from celery import shared_task

from . import importing


@shared_task(name="itembank.run_import_job")
def run_import_job(job_id: int) -> None:
    importing.run_job(job_id)
