"""The Locust users of `benchmarks.loadtest.run_load`; run by it, headless, in its own process:

    python -m locust -f benchmarks/locustfile.py --headless --host URL --users N ...

with `ITEMBANK_LOADTEST_CONFIG` naming the JSON file `run_load` writes (account, API token,
queries, scenario weights, warm-up, time and request bounds). Each user signs in once through the
login form, then loops over the weighted scenarios with no think time. Every request is timed
here and written, with the users that could not sign in, to the file named in the config when
the run stops; `run_load` computes the figures from them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from random import Random
from urllib.parse import urlencode

import gevent
from locust import HttpUser, events, task
from locust.exception import StopUser

from benchmarks.loadtest import (
    Corpus,
    LoadTestError,
    error_kind,
    login,
    perturb,
    server_timings,
)

CONFIG = json.loads(Path(os.environ["ITEMBANK_LOADTEST_CONFIG"]).read_text())
CORPUS = Corpus([(int(pk), stem) for pk, stem in CONFIG["corpus"]])
NAMES = list(CONFIG["mix"])
WEIGHTS = [float(CONFIG["mix"][name]) for name in NAMES]
TIMEOUT = float(CONFIG["timeout"])
API = {"Authorization": f"Token {CONFIG['token']}"}


class Run:
    """The shared state of the run: its clock, the request budget and what was measured."""

    started = time.monotonic()
    budget: int | None = CONFIG["requests"]
    users = 0
    in_flight = 0
    finished = False
    samples: list[list] = []
    login_errors: list[str] = []

    @classmethod
    def now(cls) -> float:
        return time.monotonic() - cls.started

    @classmethod
    def claim(cls) -> bool:
        """May one more request start? Not after the time bound or once the budget is spent;
        warm-up requests are not counted against the budget."""
        now = cls.now()
        if now >= CONFIG["stop_after"]:
            cls.finished = True
            return False
        if now < CONFIG["warmup"] or cls.budget is None:
            return True
        if cls.budget <= 0:
            cls.finished = True
            return False
        cls.budget -= 1
        return True

    @classmethod
    def write(cls) -> None:
        Path(CONFIG["out"]).write_text(
            json.dumps(
                {"samples": cls.samples, "login_errors": cls.login_errors, "ended": cls.now()}
            )
        )


@events.test_start.add_listener
def on_test_start(environment, **_kwargs) -> None:
    Run.started = time.monotonic()

    def stop_when_spent() -> None:
        # --run-time bounds a duration run; a request-count run ends here once it is spent.
        while not (Run.finished and Run.in_flight == 0):
            if len(Run.login_errors) >= CONFIG["users"]:
                break
            gevent.sleep(0.05)
        environment.runner.quit()

    gevent.spawn(stop_when_spent)


@events.test_stop.add_listener
def on_test_stop(**_kwargs) -> None:
    Run.write()


class ItemBankUser(HttpUser):
    # No think time: every user sends its next request as soon as the last one answered.
    wait_time = staticmethod(lambda: 0)

    def on_start(self) -> None:
        self.client.headers["Accept-Language"] = "en"
        self.rng = Random(CONFIG["seed"] * 1000 + Run.users)
        Run.users += 1
        try:
            login(self.client, "", CONFIG["username"], CONFIG["password"], TIMEOUT)
        except LoadTestError as exc:
            Run.login_errors.append(str(exc))
            raise StopUser() from exc

    @task
    def scenario(self) -> None:
        # One task drawing the scenario from the weights (fractional ones allowed by --mix) with
        # this user's seeded generator, so a run is reproducible.
        name = self.rng.choices(NAMES, WEIGHTS)[0]
        item_id, stem = CORPUS.pick(self.rng)
        if name in ("api_dense", "api_hybrid"):
            body = {"text": perturb(stem, self.rng), "mode": name.removeprefix("api_"), "k": 10}
            self.timed(name, "POST", "/api/search/", json=body, headers=API)
        elif name == "search_page":
            self.timed(name, "GET", "/search/?" + urlencode({"text": perturb(stem, self.rng)}))
        elif name == "item_page":  # the page, then the similar-items panel it loads
            self.timed(name, "GET", f"/items/{item_id}/")
            panel = f"/search/items/{item_id}/similar/"
            self.timed("similar_panel", "GET", panel, headers={"HX-Request": "true"})
        elif name == "similar_api":
            self.timed(name, "GET", f"/api/items/{item_id}/similar/", headers=API)

    def timed(self, scenario: str, method: str, path: str, **kwargs) -> None:
        """Send one request and record it; this user stops once the run is over."""
        if not Run.claim():
            raise StopUser()
        Run.in_flight += 1
        started = Run.now()
        try:
            answer = self.client.request(method, path, name=scenario, timeout=TIMEOUT, **kwargs)
        finally:
            Run.in_flight -= 1
        seconds = Run.now() - started
        error = error_kind(answer.status_code, getattr(answer, "error", None))
        server = None
        if scenario.startswith("api_"):
            server = server_timings(
                answer.status_code, answer.headers.get("Content-Type", ""), answer.content or b""
            )
        Run.samples.append([scenario, started, seconds, error, server])
