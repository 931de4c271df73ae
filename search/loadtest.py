"""A bounded load and stability client for the search endpoints and item pages.

Plain HTTP/1.1 over `http.client` (one keep-alive connection per virtual user, one thread each),
so it needs nothing beyond the standard library and talks to any server of this app. It only
ever connects to a loopback address and always stops by itself (a duration or a request count).

- `run_load`: N virtual users, each logged in once (an API token for the API, a session from a
  real login form POST with its CSRF token for the pages), loop over a weighted mix of scenarios
  until the time or request budget is spent. Requests started during the warm-up are left out
  of the figures. Figures: per scenario and overall p50/p95/p99, error rate (non-2xx answers and
  exceptions, by kind) and throughput.
- `run_stability`: N consecutive embed+search requests (`POST /api/search/`, mode dense), each
  with a query text not sent before, so every query is really embedded; failures counted by kind.

Queries are real item stems of the bank (read through `GET /api/items/`) with a random edit.
`start_server` runs gunicorn for this project on 127.0.0.1 for the length of a run.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from random import Random
from typing import Any
from urllib.parse import urlencode, urlsplit

SCENARIOS = ("api_dense", "api_hybrid", "search_page", "item_page", "similar_api")
DEFAULT_MIX = {"api_dense": 3, "api_hybrid": 2, "search_page": 2, "item_page": 2, "similar_api": 1}
MAX_QUERY_CHARS = 300
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')
STALE_CONNECTION = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


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


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), linear interpolation between order statistics (NumPy's
    default); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


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


# -- HTTP ----------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class Session:
    """One virtual user's keep-alive connection with its cookies and API token."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}
        self.token = ""

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        api: bool = False,
    ) -> Answer:
        sent = {"Accept-Language": "en", **(headers or {})}
        if api and self.token:
            sent["Authorization"] = f"Token {self.token}"
        elif self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=sent)
                response = self.conn.getresponse()
                data = response.read()
            except STALE_CONNECTION:
                self.close()
                # The server closed an idle keep-alive connection before reading this request:
                # send it once more on a fresh one, as browsers do. A fresh one failing is real.
                if reused and attempt == 1:
                    continue
                raise
            except BaseException:
                self.close()
                raise
            if response.will_close:
                self.close()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    cookie = SimpleCookie()
                    cookie.load(value)
                    for name, morsel in cookie.items():
                        self.cookies[name] = morsel.value
            return Answer(response.status, data, dict(response.getheaders()))
        raise AssertionError("unreachable")

    def post_json(self, path: str, payload: dict) -> Answer:
        return self.request(
            "POST",
            path,
            body=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            api=True,
        )


def _retry_throttled(call: Callable[[], Answer], *, wait_limit: float = 90.0) -> Answer:
    """Sign-in is throttled per address (auth-token: 10/min); wait as told, within a bound."""
    deadline = time.monotonic() + wait_limit
    while True:
        answer = call()
        if answer.status != 429 or time.monotonic() >= deadline:
            return answer
        try:
            delay = float(answer.headers.get("Retry-After", "5"))
        except ValueError:
            delay = 5.0
        time.sleep(max(0.5, min(delay, deadline - time.monotonic())))


def get_token(session: Session, username: str, password: str) -> str:
    body = urlencode({"username": username, "password": password}).encode()
    answer = _retry_throttled(
        lambda: session.request(
            "POST",
            "/api/auth/token/",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    )
    if answer.status != 200:
        raise LoadTestError(f"token sign-in as {username!r} answered {answer.status}")
    return answer.json()["token"]


def login(session: Session, username: str, password: str) -> None:
    """A real login: GET the form (CSRF cookie and field), POST it, keep the session cookie."""
    page = session.request("GET", "/accounts/login/")
    found = CSRF_INPUT.search(page.body.decode("utf-8", "replace"))
    if page.status != 200 or not found:
        raise LoadTestError(f"login page answered {page.status} without a CSRF field")
    body = urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": found.group(1)}
    ).encode()
    answer = _retry_throttled(
        lambda: session.request(
            "POST",
            "/accounts/login/",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://{session.host}:{session.port}/accounts/login/",
            },
        )
    )
    if answer.status not in (301, 302, 303) or "sessionid" not in session.cookies:
        raise LoadTestError(f"login as {username!r} failed (answer {answer.status})")


# -- queries -------------------------------------------------------------------------------------


@dataclass
class Corpus:
    """Items of the bank to query with: their ids and stems."""

    items: list[tuple[int, str]]

    def pick(self, rng: Random) -> tuple[int, str]:
        return self.items[rng.randrange(len(self.items))]


def load_corpus(session: Session, *, pages: int = 8, seed: int = 0) -> Corpus:
    """Item ids and stems from `pages` random pages (200 items each) of `GET /api/items/`."""
    rng = Random(seed)
    first = session.request("GET", "/api/items/?page_size=200", api=True)
    if first.status != 200:
        raise LoadTestError(f"GET /api/items/ answered {first.status}")
    data = first.json()
    last_page = max(1, math.ceil(data["count"] / 200))
    items = [(row["id"], row["stem"]) for row in data["results"]]
    for page in rng.sample(range(2, last_page + 1), min(pages - 1, last_page - 1)):
        answer = session.request("GET", f"/api/items/?page_size=200&page={page}", api=True)
        if answer.status == 200:
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


# -- scenarios -----------------------------------------------------------------------------------


@dataclass
class Sample:
    scenario: str
    started: float  # time.monotonic()
    seconds: float
    error: str = ""  # "" when the answer was 2xx
    server: dict[str, float] | None = None  # the search API's own timings (ms), when it gave them


def _search_api(session: Session, query: str, mode: str) -> Answer:
    return session.post_json("/api/search/", {"text": query, "mode": mode, "k": 10})


def scenario_requests(
    name: str, session: Session, corpus: Corpus, rng: Random
) -> list[tuple[str, Callable[[], Answer]]]:
    """The requests of one scenario (the item page loads its similar-items panel after it)."""
    item_id, stem = corpus.pick(rng)
    if name == "api_dense":
        query = perturb(stem, rng)
        return [(name, lambda: _search_api(session, query, "dense"))]
    if name == "api_hybrid":
        query = perturb(stem, rng)
        return [(name, lambda: _search_api(session, query, "hybrid"))]
    if name == "search_page":
        path = "/search/?" + urlencode({"text": perturb(stem, rng)})
        return [(name, lambda: session.request("GET", path))]
    if name == "item_page":
        return [
            (name, lambda: session.request("GET", f"/items/{item_id}/")),
            (
                "similar_panel",
                lambda: session.request(
                    "GET", f"/search/items/{item_id}/similar/", headers={"HX-Request": "true"}
                ),
            ),
        ]
    if name == "similar_api":
        return [(name, lambda: session.request("GET", f"/api/items/{item_id}/similar/", api=True))]
    raise ValueError(name)


def server_timings(answer: Answer) -> dict[str, float] | None:
    """The search API's `timings` (embed, dense, keyword, load, …) and `took_ms` as "engine"."""
    if answer.status != 200 or "json" not in answer.headers.get("Content-Type", ""):
        return None
    try:
        data = json.loads(answer.body)
        parts = {name: float(ms) for name, ms in (data.get("timings") or {}).items()}
        return {**parts, "engine": float(data["took_ms"])}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def timed(scenario: str, call: Callable[[], Answer]) -> Sample:
    started = time.monotonic()
    server = None
    try:
        answer = call()
        error = "" if 200 <= answer.status < 300 else f"HTTP {answer.status}"
        if scenario.startswith("api_"):
            server = server_timings(answer)
    except TimeoutError:
        error = "timeout"
    except (OSError, http.client.HTTPException) as exc:
        error = type(exc).__name__
    return Sample(scenario, started, time.monotonic() - started, error, server)


# -- figures -------------------------------------------------------------------------------------


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


# -- the load run --------------------------------------------------------------------------------


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
    """Run `users` virtual users against `url` (loopback only) and return the figures.

    Stops after `warmup + duration` seconds, or once `requests` measured HTTP requests have
    been started (and in any case after `max_duration`). Requests started during the warm-up are
    counted apart (`warmup_requests`, `warmup_max_ms`).
    """
    host, port = check_url(url)
    if users < 1:
        raise ValueError("users must be at least 1")
    if (duration is None) == (requests is None):
        raise ValueError("give either a duration or a number of requests")
    mix = mix or dict(DEFAULT_MIX)
    names = [n for n in mix if mix[n] > 0]
    weights = [mix[n] for n in names]

    first = Session(host, port, timeout)
    token = get_token(first, username, password)  # one token per account: DRF has one
    first.token = token
    corpus = load_corpus(first, seed=seed)
    first.close()
    log(f"logged in; {len(corpus.items)} item stems to query with")

    sessions: list[Session] = []
    login_errors: list[str] = []
    for _ in range(users):
        session = Session(host, port, timeout)
        session.token = token
        try:
            login(session, username, password)
        except (LoadTestError, OSError, http.client.HTTPException) as exc:
            login_errors.append(str(exc))
            continue
        sessions.append(session)
    if not sessions:
        raise LoadTestError(f"no user could log in: {login_errors[0]}")

    samples: list[Sample] = []
    lock = threading.Lock()
    started = time.monotonic()
    warm_until = started + warmup
    hard_stop = started + min(max_duration, warmup + (duration or max_duration))
    budget = {"left": requests if requests is not None else -1}

    def claim(now: float) -> bool:
        if now >= hard_stop:
            return False
        if now < warm_until or budget["left"] < 0:
            return True
        with lock:
            if budget["left"] == 0:
                return False
            budget["left"] -= 1
            return True

    def user(index: int, session: Session) -> None:
        rng = Random(seed * 1000 + index)
        mine: list[Sample] = []
        try:
            going = True
            while going:
                name = rng.choices(names, weights)[0]
                for label, call in scenario_requests(name, session, corpus, rng):
                    going = claim(time.monotonic())
                    if not going:
                        break
                    mine.append(timed(label, call))
        finally:
            session.close()
            with lock:
                samples.extend(mine)

    threads = [
        threading.Thread(target=user, args=(i, s), daemon=True) for i, s in enumerate(sessions)
    ]
    for thread in threads:
        thread.start()
    if warmup:
        time.sleep(max(0.0, min(warmup, hard_stop - time.monotonic())))
        log(f"warm-up done ({warmup:.0f} s); measuring")
    for thread in threads:
        thread.join(max(0.0, hard_stop - time.monotonic()) + timeout + 5)
    ended = time.monotonic()

    warm = [s for s in samples if s.started < warm_until]
    measured = [s for s in samples if s.started >= warm_until]
    measured_s = (max((s.started + s.seconds for s in measured), default=ended)) - warm_until
    measured_s = max(measured_s, 1e-9) if measured else 0.0
    by_name: dict[str, list[Sample]] = {}
    for sample in measured:
        by_name.setdefault(sample.scenario, []).append(sample)
    order = [*SCENARIOS[:4], "similar_panel", SCENARIOS[4]]
    return LoadReport(
        users=len(sessions),
        warmup_s=min(warmup, ended - started),
        measured_s=measured_s,
        overall=figures(measured, measured_s),
        scenarios={n: figures(by_name[n], measured_s) for n in order if n in by_name},
        warmup_requests=len(warm),
        warmup_max_ms=max((s.seconds * 1000 for s in warm), default=0.0),
        login_errors=login_errors,
    )


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
    host, port = check_url(url)
    session = Session(host, port, timeout)
    session.token = get_token(session, username, password)
    corpus = load_corpus(session, seed=seed)
    next_query = unique_queries(corpus, Random(seed))
    failures: Counter[str] = Counter()
    samples: list[Sample] = []
    started = time.monotonic()
    try:
        for index in range(count):
            body = payload(next_query(), index)
            server = None
            t0 = time.monotonic()
            try:
                answer = session.post_json("/api/search/", body)
                if not 200 <= answer.status < 300:
                    error = f"HTTP {answer.status}"
                elif not isinstance(answer.json().get("results"), list):
                    error = "no results list"
                else:
                    error = ""
                    server = server_timings(answer)
            except TimeoutError:
                error = "timeout"
            except (OSError, http.client.HTTPException, ValueError) as exc:
                error = type(exc).__name__
            samples.append(Sample("stability", t0, time.monotonic() - t0, error, server))
            if error:
                failures[error] += 1
            done = index + 1
            if progress_every and (done % progress_every == 0 or done == count):
                elapsed = time.monotonic() - started
                log(
                    f"  {done:,}/{count:,} requests, {sum(failures.values())} failed, "
                    f"{elapsed:.0f} s ({done / elapsed:.1f} req/s)"
                )
    finally:
        session.close()
    seconds = time.monotonic() - started
    return StabilityReport(count, dict(failures), seconds, figures(samples, seconds))


# -- a server for the run ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MiB, from /proc (0 when unknown)."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = float(rest.split()[0]) / 1024
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        match = re.search(r"^PPid:\s+(\d+)$", text, re.M)
        if match and int(match.group(1)) == pid:
            found.append(int(status.parent.name))
    return sorted(found)


class Server:
    """gunicorn serving this project on 127.0.0.1 for the length of a `with` block, with
    DEBUG off; the environment (database, settings) is inherited."""

    def __init__(
        self,
        *,
        root: Path,
        workers: int = 3,
        threads: int = 1,
        timeout: int = 120,
        env: dict[str, str] | None = None,
        start_timeout: float = 120.0,
    ) -> None:
        self.root = root
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
        self.env = {**os.environ, "DJANGO_DEBUG": "0", **(env or {})}
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(self.args, cwd=self.root, env=self.env)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LoadTestError(f"gunicorn exited with {self.process.returncode}")
            try:
                session = Session("127.0.0.1", self.port, 10)
                status = session.request("GET", "/accounts/login/").status
                session.close()
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.25)
        self.__exit__()
        raise LoadTestError("gunicorn did not answer in time")

    def memory(self) -> dict[str, dict[str, float]]:
        """Current and peak RSS (MiB) of the master and each worker."""
        if self.process is None:
            return {}
        out = {"master": dict(zip(("rss", "peak"), rss_mib(self.process.pid), strict=True))}
        for n, pid in enumerate(children(self.process.pid), start=1):
            out[f"worker{n}"] = dict(zip(("rss", "peak"), rss_mib(pid), strict=True))
        return out

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
