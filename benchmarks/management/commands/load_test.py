"""Load (Locust, headless) and stability runs against the search endpoints and item pages
(`benchmarks.loadtest`).

    ./dev manage load_test --serve --users 16 --duration 120          # gunicorn started here
    ./dev manage load_test --url http://127.0.0.1:8000 --username u --password p --requests 500
    ./dev manage load_test --serve --stability 10000                  # embed+search, one by one

Only loopback URLs are accepted and every run stops by itself. With --serve the command runs
gunicorn (DEBUG off, static files collected into a temporary folder) on a free loopback port for
the length of the run, signs in as a `loadtest` teacher account it (re)creates with a random
password, measures what a cold worker pays before its first keyword search, and reports the
workers' memory at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils.translation import gettext as _

from benchmarks import loadtest
from scripts.devstack import Gunicorn

LOAD_USER = "loadtest"


class Command(BaseCommand):
    help = _("Load test (or stability run) of the search endpoints and item pages, loopback only.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="", help=_("Server to load (loopback only)."))
        parser.add_argument(
            "--serve", action="store_true", help=_("Start gunicorn on 127.0.0.1 for the run.")
        )
        parser.add_argument("--workers", type=int, default=3, help=_("gunicorn workers (3)."))
        parser.add_argument("--threads", type=int, default=1, help=_("Threads per worker (1)."))
        parser.add_argument(
            "--worker-timeout", type=int, default=120, help=_("gunicorn worker timeout (120 s).")
        )
        parser.add_argument("--users", type=int, default=16, help=_("Virtual users (16)."))
        parser.add_argument("--duration", type=float, default=None, help=_("Measured seconds."))
        parser.add_argument("--requests", type=int, default=None, help=_("Measured requests."))
        parser.add_argument(
            "--warmup", type=float, default=None, help=_("Warm-up seconds (30; 0 with --requests).")
        )
        parser.add_argument(
            "--mix",
            default=",".join(f"{k}={v}" for k, v in loadtest.DEFAULT_MIX.items()),
            help=_("Scenario weights, e.g. api_dense=3,item_page=1."),
        )
        parser.add_argument(
            "--stability",
            type=int,
            default=0,
            help=_("Instead: this many consecutive embed+search requests."),
        )
        parser.add_argument("--username", default=os.environ.get("ITEMBANK_LOAD_USER", ""))
        parser.add_argument("--password", default=os.environ.get("ITEMBANK_LOAD_PASSWORD", ""))
        parser.add_argument("--timeout", type=float, default=120.0, help=_("Per request (s)."))
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--json", action="store_true", help=_("Print JSON only."))

    def log(self, message: str) -> None:
        self.stderr.write(message)
        self.stderr.flush()

    def handle(self, *args, **options) -> None:
        if options["serve"] == bool(options["url"]):
            raise CommandError(_("Give either --url or --serve."))
        if options["url"]:
            try:
                loadtest.check_url(options["url"])
            except loadtest.NotLoopback as exc:
                raise CommandError(
                    _("Only a server on this machine (loopback) can be loaded, not %(url)s.")
                    % {"url": options["url"]}
                ) from exc
        stability = options["stability"]
        if not stability and (options["duration"] is None) == (options["requests"] is None):
            raise CommandError(_("Give either --duration or --requests (or --stability N)."))
        if options["users"] < 1 or min(options["workers"], options["threads"]) < 1:
            raise CommandError(_("--users, --workers and --threads must be at least 1."))
        try:
            mix = loadtest.parse_mix(options["mix"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        warmup = options["warmup"]
        if warmup is None:
            warmup = 0.0 if options["requests"] is not None else 30.0

        report: dict = {"load_average_start": [round(v, 2) for v in os.getloadavg()]}
        username, password = options["username"], options["password"]
        if options["serve"]:
            username, password = self.load_account()
            report["cold_start"] = self.cold_start()
        if not username or not password:
            raise CommandError(_("Give --username and --password (or use --serve)."))
        connections.close_all()

        def run(url: str) -> None:
            if stability:
                self.log(
                    _("Stability run: %(n)d requests against %(url)s")
                    % {"n": stability, "url": url}
                )
                result = loadtest.run_stability(
                    url,
                    username=username,
                    password=password,
                    count=stability,
                    seed=options["seed"],
                    timeout=options["timeout"],
                    log=self.log,
                )
                report["stability"] = result.as_dict()
            else:
                self.log(
                    _("Load run: %(users)d users against %(url)s")
                    % {"users": options["users"], "url": url}
                )
                result = loadtest.run_load(
                    url,
                    username=username,
                    password=password,
                    users=options["users"],
                    duration=options["duration"],
                    requests=options["requests"],
                    warmup=warmup,
                    mix=mix,
                    seed=options["seed"],
                    timeout=options["timeout"],
                    log=self.log,
                )
                report["load"] = result.as_dict()
                self.log(loadtest.format_table({**result.scenarios, "overall": result.overall}))
                kinds = result.overall.error_kinds
                self.log(
                    f"errors: {result.overall.errors} of {result.overall.requests}"
                    + (f" ({', '.join(f'{k}: {n}' for k, n in kinds.items())})" if kinds else "")
                    + f"; warm-up: {result.warmup_requests} requests, "
                    f"slowest {result.warmup_max_ms / 1000:.1f} s"
                )

        if options["serve"]:
            with tempfile.TemporaryDirectory(prefix="loadtest-static-") as static_root:
                self.collect_static(static_root)
                server = Gunicorn(
                    workers=options["workers"],
                    threads=options["threads"],
                    timeout=options["worker_timeout"],
                    env={"STATIC_ROOT": static_root, "DJANGO_DEBUG": "0"},
                )
                report["server"] = {
                    "workers": options["workers"],
                    "threads": options["threads"],
                    "worker_timeout_s": options["worker_timeout"],
                }
                with server:
                    run(server.url)
                    report["server"]["memory_mib"] = server.memory()
                    self.log(
                        "RSS (MiB, now / peak): "
                        + ", ".join(
                            f"{name} {m['rss']:.0f}/{m['peak']:.0f}"
                            for name, m in report["server"]["memory_mib"].items()
                        )
                    )
        else:
            run(options["url"])
        report["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
        if stability:
            s = report["stability"]
            self.log(
                f"stability: {s['requests']} requests, {s['failed']} failed {s['failures']}, "
                f"{s['seconds']:.0f} s; p50 {s['latency']['p50_ms']} ms, "
                f"p95 {s['latency']['p95_ms']} ms, p99 {s['latency']['p99_ms']} ms"
            )
        self.stdout.write(
            json.dumps(report, ensure_ascii=False, indent=None if options["json"] else 1)
        )

    def load_account(self) -> tuple[str, str]:
        """A teacher account for this run, with a fresh random password."""
        from itembank.models import Role, User

        password = secrets.token_urlsafe(16)
        user, _created = User.objects.get_or_create(
            username=LOAD_USER, defaults={"role": Role.TEACHER}
        )
        user.role = Role.TEACHER
        user.is_active = True
        user.set_password(password)
        user.save()
        return LOAD_USER, password

    def cold_start(self) -> dict:
        """What a fresh worker pays before it can answer: the query model and the BM25 index."""
        from embeddings.backends.registry import clear_cache, load_backend
        from embeddings.services import default_space
        from search import keyword

        out: dict = {}
        space = default_space()
        if space is not None:
            started = time.monotonic()
            load_backend(space.config()).embed_query("이차방정식의 두 근의 합을 구하시오.")
            out["model_load_s"] = round(time.monotonic() - started, 2)
            clear_cache()
        keyword.reset_index()
        started = time.monotonic()
        index = keyword.get_index()
        out["bm25_index_s"] = round(time.monotonic() - started, 2)
        out["bm25_documents"] = len(index)
        keyword.reset_index()
        self.log(
            f"cold start in a fresh process: model + first query {out.get('model_load_s', '-')} s, "
            f"BM25 index of {out['bm25_documents']:,} items {out['bm25_index_s']} s"
        )
        return out

    def collect_static(self, static_root: str) -> None:
        subprocess.run(
            [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                "collectstatic",
                "--noinput",
            ],
            check=True,
            cwd=settings.BASE_DIR,
            env={**os.environ, "STATIC_ROOT": static_root},
            stdout=subprocess.DEVNULL,
        )
