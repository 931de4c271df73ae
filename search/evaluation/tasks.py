"""Celery task of evaluation (default queue): a thin wrapper around `evaluate.execute`.

Runs are sent by name through `itembank.jobs.enqueue` (`EvaluationRun.task_name`), so
`evaluate` never imports this module."""

from __future__ import annotations

from celery import shared_task

from . import evaluate


@shared_task(name="evaluation.run", acks_late=True, ignore_result=True)
def run_evaluation(run_id: int) -> None:
    evaluate.execute(run_id)
