"""Background jobs: one model, one life cycle, one way to send them to Celery.

Every long piece of work a user starts from a page or the API — an import, a duplicate scan, an
evaluation run (a sweep is a set of runs), the sampling of a review campaign — is a row of a
concrete subclass of `Job`. The row is the truth; the Celery message only says "run job N":

    queued ──start()──▶ running ──succeed()──▶ succeeded
       ▲                   │  └────fail()────▶ failed
       │                   └─ no heartbeat for ITEMBANK_STALE_JOB_SECONDS: fail_stale() ─▶ failed
       └─ never sent (broker down) or sent long ago: send_queued() sends it again

- `enqueue(job)` sends the job's task (by its registered name, so services never import tasks)
  once the transaction that created it commits. When the broker cannot be reached the job stays
  queued with `sent_at` empty, and the page says it will start when the queue is back; a job is
  never run inside a web request.
- The worker's task is a few lines: `run(Model, pk, fn)` claims the job with `start` (a
  conditional UPDATE, so a redelivered message cannot run it twice), calls `fn(job)`, and fails
  the job with the exception's text if `fn` raises. `fn` reports `progress` (which is also the
  heartbeat) and ends with `succeed(job, result fields...)`.
- The beat task `itembank.tasks.sweep_jobs` (CELERY_BEAT_SCHEDULE, every minute) calls
  `fail_stale` — a running job whose worker died is failed with the reason, in Korean, and its
  partial rows discarded (`Job.discard_partial`) — and `send_queued`. Pages and the API only read.

Concrete job models are found through the app registry, so this bottom-layer module never
imports the apps above it. `job_json` is the one JSON shape of every job, in pages and the API.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError
from rest_framework import serializers

from .celery import app

logger = logging.getLogger(__name__)

J = TypeVar("J", bound="Job")

# What a page says about a job that could not be sent (also in templates/jobs/_status.html).
WAITING_FOR_QUEUE = _(
    "The task queue cannot be reached right now; the job is saved and starts when the queue is "
    "back."
)


class Job(models.Model):
    """The fields every background job has. A subclass names its Celery task (`task_name`)
    and keeps its own result fields (counts, metrics, ...)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    # The Celery task that runs the job (its registered name) and the queue it is sent to.
    task_name: ClassVar[str] = ""
    queue: ClassVar[str] = "default"
    # The job's kind in `job_json` ("import", "scan", ...).
    kind: ClassVar[str] = "job"
    # What `fail_stale` records when the worker stopped reporting.
    interrupted_error: ClassVar[str | Promise] = _(
        "Interrupted: the worker stopped before the job finished."
    )
    # Whether a redelivered message may run a failed job again from the start (a job that only
    # writes rows of its own; an interrupted one is then recomputed).
    rerun_failed: ClassVar[bool] = False

    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    done = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    message = models.CharField(_("current step"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True, db_index=True)
    # When the job was last handed to the broker; empty while it never was (broker down).
    sent_at = models.DateTimeField(_("sent to the task queue"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # Written with every step of progress: a running job whose heartbeat is older than
    # ITEMBANK_STALE_JOB_SECONDS lost its worker (`fail_stale`).
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def waiting_for_queue(self) -> bool:
        """Queued but never handed to the broker: it starts when the task queue is back."""
        return self.status == self.Status.QUEUED and self.sent_at is None

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        return min(99, int(100 * self.done / self.total)) if self.total else 0

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @classmethod
    def discard_partial(cls, pk: int) -> None:
        """Delete what a job that failed part way had written (its own rows); nothing here."""


def job_models() -> list[type[Job]]:
    """Every concrete job model of the installed apps."""
    return [m for m in apps.get_models() if issubclass(m, Job) and not m._meta.abstract]


def stale_after() -> timedelta:
    return timedelta(seconds=float(settings.ITEMBANK_STALE_JOB_SECONDS))


def _stale(cutoff: datetime) -> Q:
    return Q(status=Job.Status.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )


# -- sending ------------------------------------------------------------------------------------


def enqueue(job: Job) -> None:
    """Send the job's task once the current transaction commits (at once outside one)."""
    model, pk = type(job), job.pk
    transaction.on_commit(lambda: send(model, pk))


def send(model: type[Job], pk: int) -> bool:
    """Hand job `pk` to the broker now; False (the job stays queued) when it is unreachable."""
    options: dict[str, Any] = {"args": [pk], "queue": model.queue, "retry": False}
    now = timezone.now()
    try:
        task = _registered(model.task_name)
        if task is not None:  # the task object honours task_always_eager and routing
            task.apply_async(**options)
        else:  # a task of another code base: by name only
            app.send_task(model.task_name, **options)
    except (OperationalError, OSError) as exc:
        logger.warning(
            "task queue unreachable; %s %s stays queued until it is back (%s)",
            model._meta.verbose_name,
            pk,
            exc,
        )
        return False
    model._default_manager.filter(pk=pk).update(sent_at=now)  # (an eager task has already run)
    return True


def _registered(name: str) -> Any:
    """The task registered under `name`. A web process imports the apps' tasks modules only when
    it first sends a job (Celery's autodiscovery is lazy; the worker imports them at start)."""
    if name not in app.tasks:
        app.autodiscover_tasks(force=True)
    return app.tasks.get(name)


def send_queued() -> int:
    """Send again the queued jobs that never reached the broker or were sent long ago (their
    message lost); `start` makes a second delivery harmless. Returns how many were sent."""
    cutoff = timezone.now() - stale_after()
    sent = 0
    for model in job_models():
        waiting = model._default_manager.filter(status=Job.Status.QUEUED).filter(
            Q(sent_at__isnull=True) | Q(sent_at__lt=cutoff)
        )
        for pk in waiting.order_by("created_at", "pk").values_list("pk", flat=True):
            if not send(model, pk):
                return sent  # still down: the next sweep tries again
            sent += 1
    if sent:
        logger.info("sent %d queued job(s) to the task queue", sent)
    return sent


# -- the worker's side --------------------------------------------------------------------------


def start(job: Job) -> bool:
    """Claim the job for this worker: queued (or running without a heartbeat, its worker dead)
    becomes running. False when another delivery has it or it is finished."""
    model = type(job)
    now = timezone.now()
    claimable = Q(status=Job.Status.QUEUED) | _stale(now - stale_after())
    if model.rerun_failed:
        claimable |= Q(status=Job.Status.FAILED)
    fields: dict[str, Any] = {
        "status": Job.Status.RUNNING,
        "started_at": now,
        "heartbeat_at": now,
        "finished_at": None,
        "error": "",
        "message": "",
        "done": 0,
        "total": 0,
    }
    if not model._default_manager.filter(claimable, pk=job.pk).update(**fields):
        return False
    for name, value in fields.items():
        setattr(job, name, value)
    return True


def progress(
    job: Job, done: Any = None, total: int | None = None, message: str | Promise | None = None
) -> bool:
    """Record progress (and the heartbeat) of a running job; `done` may be an F() expression.
    False when the job is no longer running (failed as interrupted meanwhile)."""
    fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if done is not None:
        fields["done"] = done
    if total is not None:
        fields["total"] = total
    if message is not None:
        fields["message"] = str(message)[:200]
    return bool(
        type(job)._default_manager.filter(pk=job.pk, status=Job.Status.RUNNING).update(**fields)
    )


class Reporter:
    """A `progress(done, total)` callback for long loops: writes at most every `every` seconds.

    With `own_connection` it writes on a database connection of its own, so the page sees the
    progress (and the heartbeat counts) while the job's own transaction is still open."""

    def __init__(self, job: Job, *, every: float = 0.5, own_connection: bool = False) -> None:
        self.job = job
        self.every = every
        self.own_connection = own_connection
        self.last = 0.0
        self.connection: BaseDatabaseWrapper | None = None

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < self.every and done < total:
            return
        self.last = now
        if not self.own_connection:
            progress(self.job, done, total)
            return
        try:
            if self.connection is None:
                self.connection = connections.create_connection(DEFAULT_DB_ALIAS)
            table = self.connection.ops.quote_name(type(self.job)._meta.db_table)
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET done = %s, total = %s, heartbeat_at = %s "
                    "WHERE id = %s AND status = %s",
                    [done, total, timezone.now(), self.job.pk, Job.Status.RUNNING],
                )
        except DatabaseError:
            logger.warning("could not record the progress of %s %s", type(self.job), self.job.pk)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def succeed(job: Job, **fields: Any) -> bool:
    """Finish a running job with its result fields. False (nothing written) when it is no
    longer running — failed as interrupted meanwhile, so what it computed is partial."""
    fields = {"status": Job.Status.SUCCEEDED, "finished_at": timezone.now(), **fields}
    changed = (
        type(job)._default_manager.filter(pk=job.pk, status=Job.Status.RUNNING).update(**fields)
    )
    if changed:
        for name, value in fields.items():
            if not hasattr(value, "resolve_expression"):
                setattr(job, name, value)
    return bool(changed)


def fail(job: Job, error: str | Promise, **fields: Any) -> bool:
    """Fail a queued or running job with the reason shown to the user."""
    fields = {
        "status": Job.Status.FAILED,
        "error": str(error)[:2000],
        "finished_at": timezone.now(),
        **fields,
    }
    changed = (
        type(job)
        ._default_manager.filter(pk=job.pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
        .update(**fields)
    )
    if changed:
        for name, value in fields.items():
            setattr(job, name, value)
    return bool(changed)


def run(
    model: type[J],
    pk: int,
    fn: Callable[[J], None],
    *,
    expected: tuple[type[Exception], ...] = (),
) -> J | None:
    """The body of a job's task: claim job `pk`, run `fn(job)`, fail the job if `fn` raises
    (logging the traceback unless the exception is one of `expected`). Returns the job as it
    ends, or None when it no longer exists."""
    job = model._default_manager.filter(pk=pk).first()
    if job is None:
        logger.warning("%s %s no longer exists", model._meta.verbose_name, pk)
        return None
    if not start(job):
        logger.warning("%s %s is %s; not started again", model._meta.verbose_name, pk, job.status)
        return job
    try:
        fn(job)
    except Exception as exc:  # the job records every failure; it never looks complete
        if not isinstance(exc, expected):
            logger.exception("%s %s failed", model._meta.verbose_name, pk)
        model.discard_partial(pk)
        fail(job, str(exc) or exc.__class__.__name__)
    job.refresh_from_db()
    return job


# -- the beat -----------------------------------------------------------------------------------


def fail_stale(
    older_than: timedelta | None = None, models_: Iterable[type[Job]] | None = None
) -> int:
    """Fail running jobs whose heartbeat is older than ITEMBANK_STALE_JOB_SECONDS (their worker
    died), with the reason in the site's language (Korean) whoever calls it, and discard their
    partial rows."""
    cutoff = timezone.now() - (stale_after() if older_than is None else older_than)
    failed = 0
    for model in job_models() if models_ is None else models_:
        stale = model._default_manager.filter(_stale(cutoff))
        for pk in stale.values_list("pk", flat=True):
            with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
                # Only if it is still stale now: a live worker may just have reported progress.
                changed = stale.filter(pk=pk).update(
                    status=Job.Status.FAILED,
                    error=str(model.interrupted_error),
                    finished_at=timezone.now(),
                )
                if changed:
                    model.discard_partial(pk)
                    failed += 1
                    logger.warning("%s %s was interrupted; failed", model._meta.verbose_name, pk)
    return failed


def sweep() -> dict[str, int]:
    """What the beat does every minute."""
    return {"failed": fail_stale(), "sent": send_queued()}


# -- one JSON shape -----------------------------------------------------------------------------


class JobSerializer(serializers.Serializer):
    """The state of any job, as every page and API endpoint shows it; a job's own serializer
    subclasses this and adds its result fields."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Job.Status.choices, read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    done = serializers.IntegerField(read_only=True)
    total = serializers.IntegerField(read_only=True)
    percent = serializers.IntegerField(read_only=True)
    message = serializers.CharField(read_only=True, help_text=_("The current step"))
    error = serializers.CharField(read_only=True)
    waiting_for_queue = serializers.BooleanField(
        read_only=True,
        help_text=_("Queued while the task queue is unreachable; it starts once it is back"),
    )
    # Plain fields over the related names (not SlugRelatedField): these serializers have no
    # model, and the schema must still say "string or null" (check --deploy fails otherwise).
    created_by = serializers.CharField(
        source="created_by.username",
        read_only=True,
        allow_null=True,
        help_text=_("Null for a job no user started (or whose user was deleted)"),
    )
    created_at = serializers.DateTimeField(read_only=True)
    sent_at = serializers.DateTimeField(read_only=True, allow_null=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    heartbeat_at = serializers.DateTimeField(read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)


def job_json(job: Job) -> dict[str, Any]:
    """The job's state in the one JSON shape of every job."""
    return dict(JobSerializer(job).data)
