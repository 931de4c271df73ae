"""Celery tasks: thin wrappers over `embeddings.pipeline` and `embeddings.dispatch`.

`embed_items_task` runs on the `gpu` queue (CELERY_TASK_ROUTES), `sweep` on `default`.
"""

from __future__ import annotations

import base64
import tempfile
import time
from pathlib import Path

from celery import Task, shared_task
from celery.utils.log import get_task_logger
from django.db import InterfaceError, OperationalError

from . import dispatch, pipeline
from .backends.base import BackendError
from .backends.registry import load_backend
from .models import EmbeddingSpace

logger = get_task_logger(__name__)

# Worth retrying: the database went away for a moment.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def embed_items_task(
    self: Task, space_id: int, item_ids: list[int], force: bool = False, top_up: bool = True
) -> dict:
    """Embed items into a space. Idempotent: items already current are skipped.

    With `top_up`, a batch smaller than the space's batch size is filled with other missing or
    stale items of the space, so saves arriving one by one are embedded in full batches.
    """
    space = EmbeddingSpace.objects.filter(pk=space_id).first()
    if space is None:
        logger.info("space %s no longer exists; nothing to do", space_id)
        return {"space": None, "requested": len(item_ids)}
    batch_size = dispatch.batch_size_for(space)
    ids = list(dict.fromkeys(int(pk) for pk in item_ids))
    if top_up and not force and len(ids) < batch_size:
        extra = (
            pipeline.stale_or_missing(space, retry_failed=False)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)[: batch_size - len(ids)]
        )
        ids += list(extra)

    def progress(done: int, total: int) -> None:
        if self.request.id and not self.request.called_directly:
            self.update_state(state="PROGRESS", meta={"done": done, "total": total})

    result = pipeline.embed_items(space, ids, batch_size=batch_size, force=force, progress=progress)
    logger.info("space %s: %s", space.name, result.as_dict())
    return {"space": space.name, **result.as_dict()}


@shared_task(acks_late=True, ignore_result=True)
def sweep() -> dict[str, int]:
    """Periodic: queue missing and stale items of every enabled space (CELERY_BEAT_SCHEDULE)."""
    return dispatch.sweep()


@shared_task(acks_late=False, max_retries=0)
def embed_query(
    space_id: int, text: str = "", image_b64: str = "", deadline: float | None = None
) -> list[float] | None:
    """Embed a search query in a space whose model runs on this (GPU) worker; returns the vector.

    The web process sends this to the gpu queue and waits for the answer (`search.engine`), so
    it never loads a GPU model itself. `image_b64` is an uploaded image's bytes, base64. Past
    `deadline` (epoch seconds) the caller has given up: nothing is computed.
    """
    if deadline is not None and time.time() > deadline:
        logger.info("query arrived after its deadline; skipped")
        return None
    space = EmbeddingSpace.objects.filter(pk=space_id).first()
    if space is None:
        raise BackendError(f"embedding space {space_id} no longer exists")
    backend = load_backend(space.config())
    with tempfile.TemporaryDirectory(prefix="query-") as tmp:
        paths = []
        if image_b64:
            path = Path(tmp) / "query-image"
            path.write_bytes(base64.b64decode(image_b64))
            paths.append(str(path))
        vector = backend.embed_query(text, paths)
    return [float(x) for x in vector]
