"""Celery tasks of the item bank: thin wrappers around plain functions."""

from __future__ import annotations

from celery import shared_task

from . import importing, jobs


@shared_task(name="itembank.run_import_job")
def run_import_job(job_id: int) -> None:
    importing.run_job(job_id)


@shared_task(name="itembank.tasks.sweep_jobs", ignore_result=True)
def sweep_jobs() -> dict[str, int]:
    """Periodic (CELERY_BEAT_SCHEDULE): fail jobs whose worker died, send jobs never sent."""
    return jobs.sweep()
