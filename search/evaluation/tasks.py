"""Celery task of evaluation (default queue): a thin wrapper around `evaluate.execute`."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="evaluation.run", acks_late=True, ignore_result=True)
def run_evaluation(run_id: int) -> None:
    from . import evaluate

    evaluate.execute(run_id)
