"""A bounded load and stability run against the search endpoints and item pages, loopback only.

- `run_load`: Locust in headless mode (`benchmarks/locustfile.py`, in its own process: Locust
  monkey-patches the standard library with gevent) runs N users, each signed in once with a
  real login form POST (its CSRF token), over a weighted mix of scenarios until the time or
  request budget is spent. Requests started during the warm-up are left out of the figures.
  Figures: per scenario and overall p50/p95/p99, error rate (non-2xx answers and exceptions, by
  kind) and throughput. The API token (one per account) and the queries are fetched here first.
- `run_stability`: N consecutive embed+search requests (`POST /api/search/`, mode dense), each
  with a query text not sent before, so every query is really embedded; failures counted by
  kind. One request at a time needs no load generator: a `requests` session does it.

Queries are real item stems of the bank (read through `GET /api/items/`) with a random edit.
Only loopback addresses are loaded, and every run stops by itself.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from urllib.parse import urlsplit

import requests

from .stats import percentile

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
SCENARIOS = ("api_dense", "api_hybrid", "search_page", "item_page", "similar_api")
DEFAULT_MIX = {"api_dense": 3, "api_hybrid": 2, "search_page": 2, "item_page": 2, "similar_api": 1}
MAX_QUERY_CHARS = 300
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')


class NotLoopback(ValueError):
    """The URL does not point at this machine; the client refuses to load anything else."""


class LoadTestError(RuntimeError):
    """The run could not start (login failed, no items to query, server did not come up)."""


def check_url(url: str) -> tuple[str, int]:
    """(host, port) of an http:// URL on a loopback address; raises NotLoopback otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise NotLoopback(f"only http:// URLs on a loopback address are allowed, not {url!r}")
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise NotLoopback(f"{host or url!r} is not a loopback address; refusing to load it")
    return host, parts.port or 80


def parse_mix(text: str) -> dict[str, float]:
    """ "api_dense=3,item_page=1" → weights; unknown scenarios and bad weights are refused."""
    mix: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, weight = part.partition("=")
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; use {', '.join(SCENARIOS)}")
        try:
            mix[name] = float(weight or 1)
        except ValueError:
            raise ValueError(f"bad weight in {part!r}") from None
        if mix[name] < 0:
            raise ValueError(f"negative weight in {part!r}")
    if not any(mix.values()):
        raise ValueError("the mix has no scenario with a positive weight")
    return mix


# -- signing in and the queries -----------------------------------------------------------------


def _retry_throttled(
    call: Callable[[], requests.Response], *, wait_limit: float = 90.0
) -> requests.Response:
    """Sign-in is throttled per address (auth-token: 10/min); wait as told, within a bound."""
    deadline = time.monotonic() + wait_limit
    while True:
        answer = call()
        if answer.status_code != 429 or time.monotonic() >= deadline:
            return answer
        try:
            delay = float(answer.headers.get("Retry-After", "5"))
        except ValueError:
            delay = 5.0
        time.sleep(max(0.5, min(delay, deadline - time.monotonic())))


def get_token(
    http: requests.Session, base: str, username: str, password: str, timeout: float = 60
) -> str:
    answer = _retry_throttled(
        lambda: http.post(
            base + "/api/auth/token/",
            data={"username": username, "password": password},
            headers={"Accept-Language": "en"},
            timeout=timeout,
        )
    )
    if answer.status_code != 200:
        raise LoadTestError(f"token sign-in as {username!r} answered {answer.status_code}")
    return answer.json()["token"]


def login(
    http: requests.Session, base: str, username: str, password: str, timeout: float = 60
) -> None:
    """A real login: GET the form (CSRF cookie and field), POST it, keep the session cookie.

    `http` is a `requests.Session` or Locust's `HttpSession` (which answers status 0 on a
    connection error instead of raising)."""
    page = http.get(base + "/accounts/login/", headers={"Accept-Language": "en"}, timeout=timeout)
    found = CSRF_INPUT.search(page.text) if page.status_code == 200 else None
    if not found:
        raise LoadTestError(f"login page answered {page.status_code} without a CSRF field")
    answer = _retry_throttled(
        lambda: http.post(
            base + "/accounts/login/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": found.group(1),
            },
            headers={"Referer": base + "/accounts/login/", "Accept-Language": "en"},
            allow_redirects=False,
            timeout=timeout,
        )
    )
    if answer.status_code not in (301, 302, 303) or "sessionid" not in http.cookies:
        raise LoadTestError(f"login as {username!r} failed (answer {answer.status_code})")


@dataclass
class Corpus:
    """Items of the bank to query with: their ids and stems."""

    items: list[tuple[int, str]]

    def pick(self, rng: Random) -> tuple[int, str]:
        return self.items[rng.randrange(len(self.items))]


def load_corpus(
    http: requests.Session,
    base: str,
    token: str,
    *,
    pages: int = 8,
    seed: int = 0,
    timeout: float = 60,
) -> Corpus:
    """Item ids and stems from `pages` random pages (200 items each) of `GET /api/items/`."""
    rng = Random(seed)
    headers = {"Authorization": f"Token {token}", "Accept-Language": "en"}

    def page(number: int) -> requests.Response:
        url = f"{base}/api/items/?page_size=200" + (f"&page={number}" if number > 1 else "")
        return http.get(url, headers=headers, timeout=timeout)

    first = page(1)
    if first.status_code != 200:
        raise LoadTestError(f"GET /api/items/ answered {first.status_code}")
    data = first.json()
    last_page = max(1, math.ceil(data["count"] / 200))
    items = [(row["id"], row["stem"]) for row in data["results"]]
    for number in rng.sample(range(2, last_page + 1), min(pages - 1, last_page - 1)):
        answer = page(number)
        if answer.status_code == 200:
            items += [(row["id"], row["stem"]) for row in answer.json()["results"]]
    items = [(pk, stem) for pk, stem in items if stem.strip()]
    if not items:
        raise LoadTestError("the bank has no items to query with")
    return Corpus(items)


EXTRA_WORDS = ["다음", "옳은", "것은?", "구하시오.", "값은", "그림", "설명", "보기"]


def perturb(text: str, rng: Random) -> str:
    """The stem as a teacher might type part of it: a window of its words with one edit."""
    words = text.split()
    if len(words) > 40:
        start = rng.randrange(len(words) - 30)
        words = words[start : start + rng.randint(12, 30)]
    edit = rng.randrange(5)
    if edit == 0 and len(words) > 3:
        del words[rng.randrange(len(words))]
    elif edit == 1 and len(words) > 2:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif edit == 2:
        words.insert(rng.randrange(len(words) + 1), rng.choice(EXTRA_WORDS))
    elif edit == 3:
        digits = [i for i, w in enumerate(words) if any(c.isdigit() for c in w)]
        if digits:
            i = rng.choice(digits)
            words[i] = re.sub(r"\d", lambda _m: str(rng.randrange(10)), words[i], count=1)
        else:
            words.append(rng.choice(EXTRA_WORDS))
    else:
        words = words[: max(3, len(words) - rng.randint(1, 4))]
    return " ".join(words)[:MAX_QUERY_CHARS] or text[:MAX_QUERY_CHARS]


def unique_queries(corpus: Corpus, rng: Random) -> Callable[[], str]:
    """A generator of query texts never returned before (a counter word ends a repeat)."""
    seen: set[str] = set()

    def next_query() -> str:
        text = perturb(corpus.pick(rng)[1], rng)
        n = 0
        candidate = text
        while candidate in seen:
            n += 1
            candidate = f"{text} {rng.choice(EXTRA_WORDS)}{n}"
        seen.add(candidate)
        return candidate

    return next_query


# -- samples and figures ------------------------------------------------------------------------


@dataclass
class Sample:
    scenario: str
    started: float  # seconds from the start of the run
    seconds: float
    error: str = ""  # "" when the answer was 2xx
    server: dict[str, float] | None = None  # the search API's own timings (ms), when it gave them


def error_kind(status: int, exc: BaseException | None = None) -> str:
    """ "" for a 2xx answer, "HTTP 500" for another, "timeout" or the exception's name."""
    if exc is None and status:
        return "" if 200 <= status < 300 else f"HTTP {status}"
    if isinstance(exc, requests.Timeout | TimeoutError):
        return "timeout"
    return type(exc).__name__ if exc is not None else "no answer"


def server_timings(status: int, content_type: str, body: bytes) -> dict[str, float] | None:
    """The search API's `timings` (embed, dense, keyword, load, …) and `took_ms` as "engine"."""
    if status != 200 or "json" not in content_type:
        return None
    try:
        data = json.loads(body)
        parts = {name: float(ms) for name, ms in (data.get("timings") or {}).items()}
        return {**parts, "engine": float(data["took_ms"])}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


@dataclass
class Figures:
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    throughput: float  # requests per second of measured time
    error_kinds: dict[str, int] = field(default_factory=dict)
    server_mean_ms: dict[str, float] = field(default_factory=dict)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
            "error_kinds": dict(self.error_kinds),
            "p50_ms": _ms(self.p50_ms),
            "p95_ms": _ms(self.p95_ms),
            "p99_ms": _ms(self.p99_ms),
            "mean_ms": _ms(self.mean_ms),
            "max_ms": _ms(self.max_ms),
            "throughput_rps": round(self.throughput, 2),
            **({"server_mean_ms": self.server_mean_ms} if self.server_mean_ms else {}),
        }


def _ms(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 1)  # JSON has no NaN


def figures(samples: Sequence[Sample], seconds: float) -> Figures:
    """Latency over all samples (failed ones included: a user waited for them too)."""
    ms = [s.seconds * 1000 for s in samples]
    errors = Counter(s.error for s in samples if s.error)
    parts: dict[str, list[float]] = {}
    for sample in samples:
        for name, value in (sample.server or {}).items():
            parts.setdefault(name, []).append(value)
    return Figures(
        requests=len(samples),
        errors=sum(errors.values()),
        p50_ms=percentile(ms, 50),
        p95_ms=percentile(ms, 95),
        p99_ms=percentile(ms, 99),
        mean_ms=sum(ms) / len(ms) if ms else math.nan,
        max_ms=max(ms) if ms else math.nan,
        throughput=len(samples) / seconds if seconds > 0 else 0.0,
        error_kinds=dict(errors.most_common()),
        server_mean_ms={name: round(sum(v) / len(v), 1) for name, v in parts.items()},
    )


@dataclass
class LoadReport:
    users: int
    warmup_s: float
    measured_s: float
    overall: Figures
    scenarios: dict[str, Figures]
    warmup_requests: int
    warmup_max_ms: float
    login_errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "users": self.users,
            "warmup_s": round(self.warmup_s, 1),
            "measured_s": round(self.measured_s, 1),
            "warmup_requests": self.warmup_requests,
            "warmup_max_ms": round(self.warmup_max_ms, 1),
            "login_errors": self.login_errors,
            "overall": self.overall.as_dict(),
            "scenarios": {name: f.as_dict() for name, f in self.scenarios.items()},
        }


def format_table(rows: dict[str, Figures]) -> str:
    head = (
        f"{'scenario':<14} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'req/s':>7}"
    )
    lines = [head]
    for name, f in rows.items():
        lines.append(
            f"{name:<14} {f.requests:>8} {f.errors:>6} {f.p50_ms:>8.1f} {f.p95_ms:>8.1f} "
            f"{f.p99_ms:>8.1f} {f.throughput:>7.2f}"
        )
    return "\n".join(lines)


# -- the load run (Locust) -----------------------------------------------------------------------


def run_load(
    url: str,
    *,
    username: str,
    password: str,
    users: int = 16,
    duration: float | None = None,
    requests: int | None = None,
    warmup: float = 30.0,
    mix: dict[str, float] | None = None,
    seed: int = 1,
    timeout: float = 120.0,
    max_duration: float = 3600.0,
    log: Callable[[str], None] = lambda _m: None,
) -> LoadReport:
    """Run `users` Locust users against `url` (loopback only) and return the figures.

    Stops after `warmup + duration` seconds, or once `requests` measured HTTP requests have
    been started (and in any case after `max_duration`). Requests started during the warm-up are
    counted apart (`warmup_requests`, `warmup_max_ms`).
    """
    check_url(url)
    base = url.rstrip("/")
    if users < 1:
        raise ValueError("users must be at least 1")
    if (duration is None) == (requests is None):
        raise ValueError("give either a duration or a number of requests")
    mix = {name: weight for name, weight in (mix or DEFAULT_MIX).items() if weight > 0}

    with _http() as http:
        token = get_token(http, base, username, password, timeout)  # one per account: DRF has one
        corpus = load_corpus(http, base, token, seed=seed, timeout=timeout)
    log(f"logged in; {len(corpus.items)} item stems to query with")

    bound = min(max_duration, warmup + (duration if duration is not None else max_duration))
    with tempfile.TemporaryDirectory(prefix="loadtest-") as tmp:
        config, out = Path(tmp) / "config.json", Path(tmp) / "samples.json"
        config.write_text(
            json.dumps(
                {
                    "username": username,
                    "password": password,
                    "token": token,
                    "corpus": corpus.items,
                    "mix": mix,
                    "seed": seed,
                    "timeout": timeout,
                    "warmup": warmup,
                    "stop_after": bound,
                    "requests": requests,
                    "users": users,
                    "out": str(out),
                }
            )
        )
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "--host", base, "--users", str(users), "--spawn-rate", str(users),
            "--run-time", f"{math.ceil(bound) + 1}s", "--stop-timeout", str(math.ceil(timeout)),
            "--exit-code-on-error", "0", "--only-summary", "--loglevel", "WARNING",
        ]  # fmt: skip
        env = {
            **os.environ,
            "ITEMBANK_LOADTEST_CONFIG": str(config),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        try:
            done = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True,
                timeout=bound + 2 * timeout + 120,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise LoadTestError(f"Locust did not stop within {exc.timeout:.0f} s") from exc
        if not out.exists():
            tail = (done.stdout + done.stderr)[-3000:]
            raise LoadTestError(f"Locust exited with {done.returncode} and no figures:\n{tail}")
        result = json.loads(out.read_text())

    login_errors: list[str] = result["login_errors"]
    if len(login_errors) >= users:
        raise LoadTestError(f"no user could log in: {login_errors[0]}")
    samples = [Sample(*row) for row in result["samples"]]
    ended = result["ended"]
    warm = [s for s in samples if s.started < warmup]
    measured = [s for s in samples if s.started >= warmup]
    measured_s = (max((s.started + s.seconds for s in measured), default=ended)) - warmup
    measured_s = max(measured_s, 1e-9) if measured else 0.0
    by_name: dict[str, list[Sample]] = {}
    for sample in measured:
        by_name.setdefault(sample.scenario, []).append(sample)
    order = [*SCENARIOS[:4], "similar_panel", SCENARIOS[4]]
    return LoadReport(
        users=users - len(login_errors),
        warmup_s=min(warmup, ended),
        measured_s=measured_s,
        overall=figures(measured, measured_s),
        scenarios={n: figures(by_name[n], measured_s) for n in order if n in by_name},
        warmup_requests=len(warm),
        warmup_max_ms=max((s.seconds * 1000 for s in warm), default=0.0),
        login_errors=login_errors,
    )


def _http() -> requests.Session:
    session = requests.Session()
    session.headers["Accept-Language"] = "en"
    return session


# -- the stability run ---------------------------------------------------------------------------


@dataclass
class StabilityReport:
    requests: int
    failures: dict[str, int]
    seconds: float
    latency: Figures

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "failed": self.failed,
            "failures": dict(self.failures),
            "seconds": round(self.seconds, 1),
            "latency": self.latency.as_dict(),
        }


def dense_payload(query: str, index: int) -> dict:
    return {"text": query, "mode": "dense", "k": 10}


def run_stability(
    url: str,
    *,
    username: str,
    password: str,
    count: int = 10_000,
    seed: int = 1,
    timeout: float = 120.0,
    payload: Callable[[str, int], dict] = dense_payload,
    progress_every: int = 1000,
    log: Callable[[str], None] = lambda _m: None,
) -> StabilityReport:
    """`count` consecutive `POST /api/search/` requests, each with a query text not sent before.

    A request fails when it raises, answers non-2xx, or its body is not a result list.
    """
    check_url(url)
    base = url.rstrip("/")
    failures: Counter[str] = Counter()
    samples: list[Sample] = []
    with _http() as http:
        token = get_token(http, base, username, password, timeout)
        corpus = load_corpus(http, base, token, seed=seed, timeout=timeout)
        next_query = unique_queries(corpus, Random(seed))
        http.headers["Authorization"] = f"Token {token}"
        started = time.monotonic()
        for index in range(count):
            body = payload(next_query(), index)
            server = None
            t0 = time.monotonic()
            try:
                answer = http.post(base + "/api/search/", json=body, timeout=timeout)
                error = error_kind(answer.status_code)
                if not error and not isinstance(answer.json().get("results"), list):
                    error = "no results list"
                if not error:
                    server = server_timings(
                        answer.status_code, answer.headers.get("Content-Type", ""), answer.content
                    )
            except (requests.RequestException, OSError, ValueError) as exc:
                error = error_kind(0, exc)
            samples.append(Sample("stability", t0 - started, time.monotonic() - t0, error, server))
            if error:
                failures[error] += 1
            done = index + 1
            if progress_every and (done % progress_every == 0 or done == count):
                elapsed = time.monotonic() - started
                log(
                    f"  {done:,}/{count:,} requests, {sum(failures.values())} failed, "
                    f"{elapsed:.0f} s ({done / elapsed:.1f} req/s)"
                )
    seconds = time.monotonic() - started
    return StabilityReport(count, dict(failures), seconds, figures(samples, seconds))
