"""A real Celery worker (with beat) and a private redis-server, as subprocesses, for tests that
check what happens across processes. Used from TransactionTestCase tests: the worker connects to
the test database and only sees committed data."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from django.db import connection

from itembank.celery import app
from scripts.devstack import ROOT, free_port, redis_command, stop_process

WAIT = 30.0


def wait_for(predicate, timeout: float = WAIT, interval: float = 0.2):
    """Poll until `predicate()` is truthy; returns its value, or the last one after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class RedisServer:
    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            redis_command(self.port, self.workdir),
            stdout=subprocess.DEVNULL,
        )

        def up() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        if not wait_for(up, 10, 0.05):
            raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


def worker_database_url() -> str:
    """DATABASE_URL with the database name replaced by the test database's."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + quote(connection.settings_dict["NAME"])))


class CeleryWorker:
    """`celery -A itembank worker -Q gpu,default -P solo -B` on the test database.

    It runs in its own process group (beat is a child process), so `kill()` can SIGKILL the
    whole worker the way a lost machine or the OOM killer would. `env` adds environment
    variables (ITEMBANK_VISIBILITY_TIMEOUT, ITEMBANK_TEST_BROKER_OPTIONS: see worker_main).
    """

    def __init__(
        self,
        broker_url: str,
        workdir: Path,
        sweep_seconds: float = 1.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.broker_url = broker_url
        self.workdir = workdir
        self.log_path = workdir / "worker.log"
        self.embed_log = workdir / "embedded.txt"
        self.sweep_seconds = sweep_seconds
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "DATABASE_CONN_MAX_AGE": "0",
            "REDIS_URL": self.broker_url,
            "ITEMBANK_EMBED_SWEEP_SECONDS": str(self.sweep_seconds),
            "ITEMBANK_TEST_EMBED_LOG": str(self.embed_log),
            "PYTHONPATH": str(ROOT),
            **self.extra_env,
        }
        env.pop("ITEMBANK_TEST_DB", None)
        cmd = [
            sys.executable, "-m", "tests.embeddings.worker_main", "-A", "itembank", "worker",
            "-Q", "gpu,default", "-P", "solo", "-B", "-s", str(self.workdir / "beat-schedule"),
            "-n", f"test-{uuid.uuid4().hex[:8]}@%h", "-l", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait_for(lambda: "ready." in self.output() or self.proc.poll() is not None):
            raise RuntimeError(f"worker did not start:\n{self.output()[-3000:]}")
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited:\n{self.output()[-3000:]}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def embedded_texts(self) -> list[str]:
        if not self.embed_log.exists():
            return []
        return self.embed_log.read_text(encoding="utf-8").splitlines()

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=15)
            self._kill_group()
            self.proc = None
            self.log.close()

    def kill(self) -> None:
        """SIGKILL the worker and its children at once: nothing is acknowledged or cleaned up."""
        if self.proc is not None:
            self._kill_group()
            self.proc.wait(10)
            self.proc = None
            self.log.close()

    def _kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # the group is gone already


def _forget_connections() -> None:
    """Drop the app's cached connection and producer pools (as Celery does after a fork), so
    the next publish connects to the broker URL now configured, not to an earlier test's.

    kombu keeps its pools in a global registry keyed by broker URL; `pools.reset()` closes them
    and empties it, so a URL used again later gets a fresh pool rather than a closed one."""
    from kombu import pools

    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    pools.reset()


@contextmanager
def broker(url: str):
    """Point this process's Celery app (what the on-save receiver publishes to) at `url`."""
    old = app.conf.broker_url
    app.conf.broker_url = url
    _forget_connections()
    try:
        yield
    finally:
        app.conf.broker_url = old
        _forget_connections()
