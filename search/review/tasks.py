"""Celery task of expert review (default queue): a thin wrapper around
`sampling.run_sampling_job`, sent by name through `itembank.jobs.enqueue`."""

from __future__ import annotations

from celery import shared_task

from . import sampling


@shared_task(name="review.sample_campaign")
def sample_campaign(job_id: int) -> None:
    sampling.run_sampling_job(job_id)
