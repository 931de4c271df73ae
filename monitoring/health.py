"""Liveness of the services the web app needs, for /healthz/ (the container healthcheck).

The web app answers without Redis (searches on CPU spaces, item pages and saves all work; saves
leave embedding to the sweep), so only the database decides the status: 200 when it answers a
query, 503 when it does not. The broker is reported either way.
"""

from __future__ import annotations

import logging

import redis
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from itembank.celery import app

logger = logging.getLogger(__name__)

BROKER_TIMEOUT = 1.0


def database_status(connection: BaseDatabaseWrapper | None = None) -> str:
    """ "ok" when `connection` (default: the default database) answers ``SELECT 1``, else
    "down"."""
    connection = connection if connection is not None else connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("healthz: the database does not answer: %s", exc)
        return "down"
    return "ok"


def broker_status(url: str | None = None, timeout: float = BROKER_TIMEOUT) -> str:
    """ "ok" when the Redis broker at `url` (default: Celery's) answers PING, else "down"."""
    try:
        client = redis.Redis.from_url(
            url or app.conf.broker_url, socket_connect_timeout=timeout, socket_timeout=timeout
        )
        with client:
            client.ping()
    except (redis.RedisError, OSError) as exc:
        logger.warning("healthz: the broker does not answer: %s", exc)
        return "down"
    return "ok"
