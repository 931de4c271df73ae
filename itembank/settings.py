"""Settings for the item bank. Every deployment value comes from the environment.

Every variable is read through itembank.env, which refuses a value it does not understand, and
is listed in the README's "Settings" table. The run and test commands (`./dev run`, `./dev
test`) set DATABASE_URL and REDIS_URL to the embedded services they start; a deployment sets
them to real servers.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from itembank.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_path,
    env_str,
    env_time_zone,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("ITEMBANK_DATA_DIR", BASE_DIR / ".data")

DEBUG = env_bool("DJANGO_DEBUG")
# ITEMBANK_PRODUCTION=1 (docker-compose sets it): refuse to start without a real secret or with
# DEBUG on, and serve over HTTPS only (below). `./dev run` and the tests run without it.
PRODUCTION = env_bool("ITEMBANK_PRODUCTION")
DEVELOPMENT_SECRET_KEY = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG must be off when ITEMBANK_PRODUCTION=1.")
    if len(SECRET_KEY) < 50 or SECRET_KEY == DEVELOPMENT_SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set to a random value of at least 50 characters when "
            "ITEMBANK_PRODUCTION=1, e.g. the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    if not env_str("DATABASE_URL"):
        raise ImproperlyConfigured("DATABASE_URL must be set when ITEMBANK_PRODUCTION=1.")
elif not SECRET_KEY:
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# HTTPS. SecurityMiddleware also sends X-Content-Type-Options: nosniff and
# Referrer-Policy: same-origin (Django's defaults); django-csp adds the CSP below and
# itembank.security the Permissions-Policy.
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Scripts, styles, fonts and connections from this site only (KaTeX, htmx and Swagger UI are
# served locally, templates hold no inline script or <style>), images also as data:/blob:, no
# plugins, no framing. Sent on every response, API answers and uploaded files included.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # style="…" attributes in markup: the admin's item thumbnails (itembank.admin) and the
        # database-down page (templates/503.html, which cannot load static files) need this;
        # KaTeX, htmx and Swagger UI set styles through the DOM, which the policy allows
        # (tests/browser/test_csp.py). An attribute cannot load anything or run code; <style>
        # elements stay forbidden.
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and appends the client to
# X-Forwarded-For, which login throttling then counts against: itembank.security.client_ip).
ITEMBANK_BEHIND_TLS_PROXY = env_bool("ITEMBANK_BEHIND_TLS_PROXY")
if ITEMBANK_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("ITEMBANK_SSL_REDIRECT", True)
    # Probes and Prometheus talk to gunicorn directly over the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("ITEMBANK_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("ITEMBANK_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("ITEMBANK_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_results",
    # django-axes under a Korean app name (itembank.third_party)
    "itembank.third_party.AxesConfig",
    "itembank",
    "monitoring",
    "embeddings",
    "search",
    "search.duplicates",
    "search.evaluation",
    "search.review",
    # benchmarks, seed_scale and load_test commands (not the product; benchmarks/__init__.py)
    "benchmarks",
]

MIDDLEWARE = [
    # first: binds the request id (X-Request-ID) that every log line of the request carries
    "itembank.logs.RequestIdMiddleware",
    # 503 + Retry-After (not a 500) while PostgreSQL cannot be reached; near the top so it
    # also covers the session and auth middleware below it
    "itembank.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy (CONTENT_SECURITY_POLICY above); skips Django's technical
    # 404/500 pages under DEBUG, which are styled inline
    "csp.middleware.CSPMiddleware",
    "itembank.security.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # last, so it sees every failed login and answers a locked-out one with the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "itembank.urls"
WSGI_APPLICATION = "itembank.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "itembank.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgresql://postgres@localhost:5432/itembank"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
# Lets several test runs share one server (ITEMBANK_TEST_DB=test_mine ./dev test ...).
if test_db := env_str("ITEMBANK_TEST_DB"):
    DATABASES["default"]["TEST"] = {"NAME": test_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "itembank.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes, counted in the database so every gunicorn worker sees it): a
# username is locked on one address after ITEMBANK_LOGIN_FAILURE_LIMIT failures, for
# ITEMBANK_LOGIN_COOLOFF_MINUTES after the last attempt. Admins unlock in the admin (Axes).
# axes' backend needs the request: tests log in with force_login (or login(request=...)).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("ITEMBANK_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ITEMBANK_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "itembank.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "itembank.security.client_ip"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "item-list"
LOGOUT_REDIRECT_URL = "login"

# Korean first, English available.
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_time_zone("ITEMBANK_TIME_ZONE", "Asia/Seoul")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("STATIC_ROOT", BASE_DIR / "staticfiles")
MEDIA_URL = "/media/"
MEDIA_ROOT = env_path("MEDIA_ROOT", DATA_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("ITEMBANK_MANIFEST_STATIC")
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Uploads: images are checked by itembank.images; these bound what reaches it.
ITEMBANK_MAX_IMAGE_BYTES = env_int("ITEMBANK_MAX_IMAGE_BYTES", 10 * 1024 * 1024, minimum=1)
ITEMBANK_MAX_IMAGE_PIXELS = env_int("ITEMBANK_MAX_IMAGE_PIXELS", 40_000_000, minimum=1)
ITEMBANK_MAX_IMPORT_BYTES = env_int("ITEMBANK_MAX_IMPORT_BYTES", 512 * 1024 * 1024, minimum=1)
ITEMBANK_MAX_IMAGES_PER_ITEM = 10
# Zip imports: bounds on what an archive may unpack to (zip bombs).
ITEMBANK_MAX_IMPORT_UNCOMPRESSED_BYTES = env_int(
    "ITEMBANK_MAX_IMPORT_UNCOMPRESSED_BYTES", 2 * 1024 * 1024 * 1024, minimum=1
)
ITEMBANK_MAX_IMPORT_ENTRIES = env_int("ITEMBANK_MAX_IMPORT_ENTRIES", 200_000, minimum=1)
# ... and on how much larger than its packed size a member may unpack (past 4 MiB; text packs
# 5-20 times, a zip bomb a thousand times).
ITEMBANK_MAX_IMPORT_RATIO = env_int("ITEMBANK_MAX_IMPORT_RATIO", 100, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes unauthenticated API calls a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's two, the browsable page without its inline <style> (itembank.renderers)
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "itembank.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # ScopedRateThrottle scopes (itembank.api.TokenView: password guessing on token sign-in).
    "DEFAULT_THROTTLE_RATES": {"auth-token": "10/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "문항은행 API",
    "DESCRIPTION": "Items, embeddings, similar-item search, duplicate review and evaluation.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" choice set; name the item's (check --deploy warns otherwise).
    "ENUM_NAME_OVERRIDES": {
        "ItemStatusEnum": "itembank.models.ItemStatus",
        "JobStatusEnum": "itembank.jobs.Job.Status",
    },
    # Swagger UI must not send the schema to validator.swagger.io (no external hosts).
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None, "deepLinking": True},
}

# hnsw.ef_search for dense search (raised further to 2·k). 200 keeps recall@10 >= 0.98 at
# 176,443 x 2048 (pgvector's default 40 gave 0.84); at 50,000 x 2048 it costs 3 ms p95 on the
# index, which embeddings.services.hnsw_scan pins (docs/benchmarks.md).
ITEMBANK_HNSW_EF_SEARCH = env_int("ITEMBANK_HNSW_EF_SEARCH", 200, minimum=1)
# A web process re-checks whether the keyword (BM25) index is current at most this often; its own
# saves are seen at once (search.keyword). The check is two aggregates over the bank.
ITEMBANK_KEYWORD_CHECK_SECONDS = env_float("ITEMBANK_KEYWORD_CHECK_SECONDS", 2.0, minimum=0)

# Celery: Redis as broker, results in the database (visible in the admin).
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "embeddings.tasks.sweep": {"queue": "default"},  # exact names win over the glob below
    "embeddings.tasks.*": {"queue": "gpu"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Tasks are acknowledged late: the message of a task whose worker died goes back to the queue
# after this many seconds. Keep it above the longest task (a longer one runs twice); missing
# vectors are re-queued sooner by the sweep below.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_float("ITEMBANK_VISIBILITY_TIMEOUT", 3600.0, minimum=1),
}
# A background job (import, duplicate scan, evaluation run, campaign sampling) that reported no
# progress for this long lost its worker and is marked failed (itembank.jobs.fail_stale).
ITEMBANK_STALE_JOB_SECONDS = env_float("ITEMBANK_STALE_JOB_SECONDS", 900.0, minimum=1)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
# Re-queue items whose vectors are missing or stale (embeddings.dispatch.sweep).
EMBEDDINGS_SWEEP_SECONDS = env_float("ITEMBANK_EMBED_SWEEP_SECONDS", 60.0, minimum=1)
CELERY_BEAT_SCHEDULE["embeddings-sweep"] = {
    "task": "embeddings.tasks.sweep",
    "schedule": EMBEDDINGS_SWEEP_SECONDS,
    "options": {"expires": EMBEDDINGS_SWEEP_SECONDS},
}
# Tokenise items whose BM25 keywords are missing or stale (search.tasks.keywords_sweep).
CELERY_BEAT_SCHEDULE["search-keywords-sweep"] = {
    "task": "search.tasks.keywords_sweep",
    "schedule": 300.0,
    "options": {"expires": 300.0},
}
# Fail jobs whose worker died; send jobs that were queued while the broker was down
# (itembank.jobs.sweep).
CELERY_BEAT_SCHEDULE["itembank-sweep-jobs"] = {
    "task": "itembank.tasks.sweep_jobs",
    "schedule": 60.0,
    "options": {"queue": "default", "expires": 60.0},
}
# Delete search timings older than eight days (monitoring.timing.prune).
CELERY_BEAT_SCHEDULE["monitoring-prune-search-timings"] = {
    "task": "monitoring.tasks.prune_search_timings",
    "schedule": 3600.0,
    "options": {"queue": "default", "expires": 3600.0},
}
# /metrics: a Prometheus scraper sends "Authorization: Bearer <token>"; unset, only a logged-in
# admin can read it.
ITEMBANK_METRICS_TOKEN = env_str("ITEMBANK_METRICS_TOKEN")

# The optional LLM judge of ground-truth building (search.evaluation.llm): an OpenAI-compatible
# chat endpoint (base URL ending in /v1); off while ITEMBANK_LLM_URL is unset.
ITEMBANK_LLM_URL = env_str("ITEMBANK_LLM_URL")
ITEMBANK_LLM_MODEL = env_str("ITEMBANK_LLM_MODEL", "gpt-4o-mini")
ITEMBANK_LLM_API_KEY = env_str("ITEMBANK_LLM_API_KEY")
ITEMBANK_LLM_TIMEOUT = env_float("ITEMBANK_LLM_TIMEOUT", 60.0, minimum=1)

# Every line carries the request / task id (itembank.logs). LOG_FORMAT=json (production) writes
# one JSON object a line; the default is readable text. Celery's worker and beat use this too.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "itembank.logs.ContextFilter"}},
    "formatters": {
        "plain": {"()": "itembank.logs.PlainFormatter"},
        "json": {"()": "itembank.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        }
    },
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    },
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # failed logins and lockouts are warnings; every successful login would be an info line
        "axes": {"level": "WARNING"},
    },
}
