"""flagsite settings: one file, configured from environment variables.

Embedded default (no variables set): SQLite in var/, an in-process cache and a Celery broker on
the filesystem, so `make run` works on a bare machine. Set DATABASE_URL / REDIS_URL to use
PostgreSQL and Redis (cache, broker, rate limits).
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

from flagsite.env import database_from_url, env_bool, env_int, env_list, env_str
from flagsite.security import DEFAULT_POLICY as DEFAULT_CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("FLAGSITE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set and DEBUG is off. Set SECRET_KEY to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or DEBUG=true "
            "for local development."
        )
    SECRET_KEY = "insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / Redoc assets served locally, never from a CDN
    "django_htmx",
    "flags",
    "delivery",
    "experiments",
    "feedback",
    "imports",
    "releases",
    "alerts",
    "costs",
]

MIDDLEWARE = [
    "delivery.cors.DeliveryCorsMiddleware",  # the one CORS policy (delivery endpoints only)
    "django.middleware.security.SecurityMiddleware",
    "flagsite.security.ContentSecurityPolicyMiddleware",
    # The SDK endpoints' steady state, answered before the UI's middleware (delivery/fastlane.py)
    "delivery.fastlane.DeliveryFastLaneMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "flags.middleware.PublishReportMiddleware",  # "saved, not yet published to every server"
]

ROOT_URLCONF = "flagsite.urls"
WSGI_APPLICATION = "flagsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "alerts.context.nav",
            ],
        },
    }
]

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "flagsite.sqlite3",
            # WAL lets the web server, the worker and beat read while one of them writes.
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "flagsite",
            # Fail fast: a dead Redis must not stall requests (the API falls back to its
            # in-process copy and the database).
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: Redis when configured, otherwise a filesystem broker that needs no server.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "celery-broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    # Every folder explicit: kombu's default for the exchange table is `control/` in the
    # working directory, and all runtime files belong under FLAGSITE_VAR_DIR.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Safety net: re-publish every environment's ruleset, so a cache flush or a Redis restart
    # heals itself even if nothing changes.
    "republish-rulesets": {"task": "flags.tasks.republish_all_rulesets", "schedule": 300.0},
    # Delete raw events older than FEEDBACK_RETENTION_DAYS (docs/feedback.md).
    "feedback-retention": {"task": "feedback.tasks.events_retention_run", "schedule": 3600.0},
    # Spend against budgets, and the last hour's spend against its baseline (docs/costs.md).
    "costs-budgets": {
        "task": "costs.tasks.budgets_check_run",
        "schedule": float(env_int("FLAGSITE_BUDGET_CHECK_SECONDS", 300)),
    },
    "costs-anomalies": {
        "task": "costs.tasks.anomalies_check_run",
        "schedule": float(env_int("FLAGSITE_BUDGET_CHECK_SECONDS", 300)),
    },
    # Rollout plans: health gates, automatic rollback, phase advances (docs/rollouts.md).
    "rollouts-check": {"task": "releases.tasks.rollouts_check_all", "schedule": 60.0},
    # Alert deliveries the broker refused, or whose worker died, or whose retry is due
    # (docs/alerts.md, "Guarantees").
    "alerts-outbox": {"task": "alerts.tasks.outbox_dispatch", "schedule": 60.0},
}
# Budgets' days and months begin at midnight in this IANA time zone (docs/costs.md).
FLAGSITE_COSTS_TIME_ZONE = env_str("FLAGSITE_COSTS_TIME_ZONE", "UTC")
try:
    ZoneInfo(FLAGSITE_COSTS_TIME_ZONE)
except (ValueError, ZoneInfoNotFoundError) as exc:
    raise ImproperlyConfigured(
        f"FLAGSITE_COSTS_TIME_ZONE={FLAGSITE_COSTS_TIME_ZONE!r} is not an IANA time zone"
    ) from exc
# The rollout checks have a queue of their own, so long statistics or cost jobs never delay a
# rollback (`make run` starts a worker for it; production runs one too: docs/operations.md).
CELERY_TASK_ROUTES = {"releases.tasks.*": {"queue": "rollouts"}}
# After events for an environment with an active rollout are ingested, its plans are checked at
# most once per this many seconds (whole seconds, at least 1; docs/rollouts.md).
FLAGSITE_ROLLOUT_CHECK_DEBOUNCE_SECONDS = env_int("FLAGSITE_ROLLOUT_CHECK_DEBOUNCE_SECONDS", 1)
# Experiment results (docs/experiments.md, "Computation"): every running experiment is
# recomputed this often; one snapshot per experiment and period.
FLAGSITE_EXPERIMENT_COMPUTE_SECONDS = env_int("FLAGSITE_EXPERIMENT_COMPUTE_SECONDS", 300)
# A guardrail is breached only once the treatment has at least this many observations.
FLAGSITE_GUARDRAIL_MIN_EVENTS = env_int("FLAGSITE_GUARDRAIL_MIN_EVENTS", 100)
# The power calculator's observed variance and daily units: the last N days of events.
FLAGSITE_PLANNING_WINDOW_DAYS = env_int("FLAGSITE_PLANNING_WINDOW_DAYS", 14)
# CUPED: each unit's pre-experiment value over the N days before the start (0: off).
FLAGSITE_CUPED_PRE_PERIOD_DAYS = env_int("FLAGSITE_CUPED_PRE_PERIOD_DAYS", 14)
CELERY_BEAT_SCHEDULE["experiment-results"] = {
    "task": "experiments.tasks.compute_running_experiments",
    "schedule": float(FLAGSITE_EXPERIMENT_COMPUTE_SECONDS),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Sign-in throttling (flagsite/login.py, docs/security.md): failed passwords per (account,
# caller IP) and per caller IP within the window; over a limit, refused for the lockout.
FLAGSITE_LOGIN_FAILURES_PER_ACCOUNT_IP = env_int("FLAGSITE_LOGIN_FAILURES_PER_ACCOUNT_IP", 5)
FLAGSITE_LOGIN_FAILURES_PER_IP = env_int("FLAGSITE_LOGIN_FAILURES_PER_IP", 20)
FLAGSITE_LOGIN_WINDOW_SECONDS = env_int("FLAGSITE_LOGIN_WINDOW_SECONDS", 900)
FLAGSITE_LOGIN_LOCKOUT_SECONDS = env_int("FLAGSITE_LOGIN_LOCKOUT_SECONDS", 900)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # json_parse underneath: a nesting-depth limit and a 413 over the body limit (jsonbody.py).
    "DEFAULT_PARSER_CLASSES": ["flagsite.jsonbody.JsonBodyParser"],
    "EXCEPTION_HANDLER": "flagsite.api_errors.exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "flagsite API",
    "DESCRIPTION": "Feature flags and experiments for LLM applications.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A flag's `kind` and a metric's `kind` are different enums (docs/experiments.md).
    "ENUM_NAME_OVERRIDES": {
        "KindEnum": "flags.models.FlagKind",
        "MetricKindEnum": "experiments.team_metrics.KINDS",
        # An alert's source and status are not a rollout's or an experiment's (docs/alerts.md).
        "AlertSourceEnum": "alerts.models.Source",
        "AlertStatusEnum": "alerts.models.AlertStatus",
        "DeliveryStatusEnum": "alerts.models.DeliveryStatus",
    },
}

# The one clock (flagsite/clock.py): seconds added to the wall clock, for tests and demos that
# move a worker or a second web process forward in time (0 in production).
FLAGSITE_CLOCK_OFFSET_SECONDS = float(env_str("FLAGSITE_CLOCK_OFFSET_SECONDS", "0") or 0)

# What a 503 (database or key store unreachable) tells clients to wait, in seconds (Retry-After).
FLAGSITE_OUTAGE_RETRY_AFTER = env_int("FLAGSITE_OUTAGE_RETRY_AFTER", 5)

# Flag delivery: how often a process compares its rulesets with the committed versions in the
# database (seconds; one tiny query for all environments). Bounds how long an old ruleset is served.
FLAGSITE_RULESET_CHECK_INTERVAL = float(env_str("FLAGSITE_RULESET_CHECK_INTERVAL", "1.0"))
# While any flag of an environment has a rollout plan's rules, its ruleset asks SDKs to poll at
# least this often (seconds; 0: no hint; 1-300), so a rollback reaches them within seconds
# (docs/rollouts.md, "SDKs during a rollout").
FLAGSITE_ROLLOUT_POLL_SECONDS = env_int("FLAGSITE_ROLLOUT_POLL_SECONDS", 3)
if FLAGSITE_ROLLOUT_POLL_SECONDS and not 1 <= FLAGSITE_ROLLOUT_POLL_SECONDS <= 300:
    raise ImproperlyConfigured(
        f"FLAGSITE_ROLLOUT_POLL_SECONDS={FLAGSITE_ROLLOUT_POLL_SECONDS}: expected 0 (off) or 1-300"
    )
# Load and compile a new ruleset version in a background thread while requests keep the previous
# copy (false: on the request that notices it, as before; bench/scale.py compares the two).
FLAGSITE_RULESET_BACKGROUND_LOAD = env_bool("FLAGSITE_RULESET_BACKGROUND_LOAD", True)
# The delivery fast lane (delivery/fastlane.py): the SDK endpoints' steady state answered before
# the UI's middleware. Off: every request takes DRF's path (same answers, slower).
FLAGSITE_DELIVERY_FAST_LANE = env_bool("FLAGSITE_DELIVERY_FAST_LANE", True)
# Rate limits, requests per minute (0 disables one); docs/security.md, "Rate limits".
# Per server key (ruleset, evaluate, OFREP; events in a bucket of their own).
FLAGSITE_RATE_LIMIT_PER_MINUTE = env_int("FLAGSITE_RATE_LIMIT_PER_MINUTE", 6000)
# Client keys are public and shared by every browser of an app: per (key, caller IP), and a
# ceiling per key sized for a whole fleet (10,000 requests/s).
FLAGSITE_RATE_LIMIT_CLIENT_PER_IP = env_int("FLAGSITE_RATE_LIMIT_CLIENT_PER_IP", 600)
FLAGSITE_RATE_LIMIT_CLIENT_PER_KEY = env_int("FLAGSITE_RATE_LIMIT_CLIENT_PER_KEY", 600_000)
# Requests without a known key (none, unknown, or not yet looked up), per caller IP, counted
# before the key is looked up in the database.
FLAGSITE_RATE_LIMIT_UNAUTHENTICATED_PER_IP = env_int(
    "FLAGSITE_RATE_LIMIT_UNAUTHENTICATED_PER_IP", 60
)
# With Redis, a process reserves at most this many units of a bucket at a time and spends them
# without a round trip (1 - 1,000; 1: one round trip per request, exact). Early refusals are
# bounded by (processes - 1) x this: docs/security.md, "Rate limits".
FLAGSITE_RATE_LIMIT_SLICE = env_int("FLAGSITE_RATE_LIMIT_SLICE", 100)
# Trusted reverse proxies in front of the web processes, for every endpoint: the caller IP is
# then taken from X-Forwarded-For. FEEDBACK_PROXY_COUNT is its deprecated former name.
FLAGSITE_TRUSTED_PROXY_COUNT = env_int(
    "FLAGSITE_TRUSTED_PROXY_COUNT", env_int("FEEDBACK_PROXY_COUNT", 0)
)

# The exposure recorder (delivery/exposures.py): server-side evaluations are counted in memory
# and flushed every N seconds (0: no background thread; call exposures_flush yourself), or
# sooner once this many requests' evaluations are pending.
FLAGSITE_EXPOSURE_FLUSH_SECONDS = float(env_str("FLAGSITE_EXPOSURE_FLUSH_SECONDS", "5"))
FLAGSITE_EXPOSURE_FLUSH_MAX_COUNTS = env_int("FLAGSITE_EXPOSURE_FLUSH_MAX_COUNTS", 10_000)
# A flag nobody evaluated (SDK exposures or server-side) for this many days is listed as unused
# on the dashboard and counts as stale (docs/ui.md).
FLAGSITE_STALE_EVALUATION_DAYS = env_int("FLAGSITE_STALE_EVALUATION_DAYS", 30)

# Import from Unleash (docs/operations.md, "Moving from Unleash"): the largest document accepted
# (an uploaded file, the body of POST /api/v1/imports/unleash, the command's file; pasted text is
# also bound by DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB), and the most flags applied inside the web
# request: a larger import runs in the Celery worker.
FLAGSITE_IMPORT_MAX_BYTES = env_int("FLAGSITE_IMPORT_MAX_BYTES", 10_000_000)
FLAGSITE_IMPORT_INLINE_MAX_FLAGS = env_int("FLAGSITE_IMPORT_INLINE_MAX_FLAGS", 200)
# The most features and segments one Unleash document may hold, wherever it is imported (the
# page, POST /api/v1/imports/unleash, manage.py import_unleash; imports/document.py). 1,000
# segments is also the engine's limit for an installation (docs/ruleset.md, "Limits").
FLAGSITE_IMPORT_MAX_FLAGS = env_int("FLAGSITE_IMPORT_MAX_FLAGS", 5_000)
FLAGSITE_IMPORT_MAX_SEGMENTS = env_int("FLAGSITE_IMPORT_MAX_SEGMENTS", 1_000)

# Feedback and telemetry ingestion (docs/feedback.md).
# The public feedback endpoint: requests per minute per caller IP, and per key (a ceiling sized
# for every browser of an app: 1,000 feedbacks/s). 0 disables.
FEEDBACK_RATE_LIMIT_PER_KEY = env_int("FEEDBACK_RATE_LIMIT_PER_KEY", 60_000)
FEEDBACK_RATE_LIMIT_PER_IP = env_int("FEEDBACK_RATE_LIMIT_PER_IP", 60)
# Raw events (exposures, LLM calls, implicit signals) older than this are deleted (minimum 14).
FEEDBACK_RETENTION_DAYS = env_int("FEEDBACK_RETENTION_DAYS", 90)
# Server-side evaluation counts older than this collapse from hourly rows into one row per
# environment, flag and variant (minimum 31: the usage view shows up to 30 days by hour/day).
FLAGSITE_EVALUATION_HOURLY_DAYS = env_int("FLAGSITE_EVALUATION_HOURLY_DAYS", 35)
# How long a web process trusts its cached answer for an API key (= the revocation delay).
FLAGSITE_API_KEY_RECHECK_SECONDS = float(
    env_str("FLAGSITE_API_KEY_RECHECK_SECONDS", str(FLAGSITE_RULESET_CHECK_INTERVAL))
)
# How long a web process remembers that a key is unknown (no database lookup meanwhile).
FLAGSITE_API_KEY_NEGATIVE_SECONDS = float(env_str("FLAGSITE_API_KEY_NEGATIVE_SECONDS", "30"))
# Origins allowed to call evaluate/feedback/OFREP from a browser ("*": any; client keys are public).
# The ruleset and events endpoints (server keys) never answer other origins (delivery/cors.py).
FLAGSITE_CORS_ALLOWED_ORIGINS = env_list("FLAGSITE_CORS_ALLOWED_ORIGINS", ["*"])

# Production defaults (docs/operations.md "Production settings", docs/security.md).
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the CSRF token is in <body hx-headers>; the cookie holds no secret
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# HTTPS: on whenever DEBUG is off. FLAGSITE_HTTPS=false is for plain-HTTP labs only: cookies
# without Secure, no HSTS, no redirect to https.
FLAGSITE_HTTPS = env_bool("FLAGSITE_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", FLAGSITE_HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", FLAGSITE_HTTPS)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", FLAGSITE_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if FLAGSITE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Preloading is a decision for the whole registrable domain (and hard to undo), not for one
# service on a subdomain: not a deployment warning here.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Behind a TLS-terminating proxy: the header it sets, e.g. X-Forwarded-Proto. Set it only if the
# proxy always overwrites that header (a client must not be able to claim https).
_proxy_ssl_header = env_str("FLAGSITE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
# Content-Security-Policy (flagsite/security.py); FLAGSITE_CSP replaces the whole policy ("" turns
# it off), FLAGSITE_CSP_REPORT_ONLY=true sends it as Content-Security-Policy-Report-Only.
FLAGSITE_CSP = env_str("FLAGSITE_CSP", DEFAULT_CSP)
FLAGSITE_CSP_REPORT_ONLY = env_bool("FLAGSITE_CSP_REPORT_ONLY", False)

# Alerts (docs/alerts.md). Absolute links in emails and webhooks start with this (e.g.
# https://flags.example.com); without it they are paths.
FLAGSITE_BASE_URL = env_str("FLAGSITE_BASE_URL", "")
# Every email or webhook send gives up after this many seconds (then it is retried).
FLAGSITE_ALERTS_SEND_TIMEOUT = env_int("FLAGSITE_ALERTS_SEND_TIMEOUT", 10)
# Attempts per delivery, and the backoff between them: base, 2x, 4x ... at most max seconds.
FLAGSITE_ALERTS_MAX_ATTEMPTS = env_int("FLAGSITE_ALERTS_MAX_ATTEMPTS", 8)
FLAGSITE_ALERTS_RETRY_BASE_SECONDS = env_int("FLAGSITE_ALERTS_RETRY_BASE_SECONDS", 30)
FLAGSITE_ALERTS_RETRY_MAX_SECONDS = env_int("FLAGSITE_ALERTS_RETRY_MAX_SECONDS", 3600)
# Webhooks to loopback, private and link-local addresses (internal receivers): off by default.
FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE = env_bool("FLAGSITE_ALERTS_WEBHOOK_ALLOW_PRIVATE", False)
# Alert storms: each channel sends at most this many alerts per clock hour (UTC); the rest wait
# for one digest in the next hour (docs/alerts.md, "Alert storms"). 0: no limit; else 1-10000.
FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR = env_int("FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR", 20)
if not 0 <= FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR <= 10000:
    raise ImproperlyConfigured(
        f"FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR={FLAGSITE_ALERTS_CHANNEL_MAX_PER_HOUR}: "
        "expected 0 (no limit) or 1-10000"
    )
# Email through Django's backend (SMTP by default).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = FLAGSITE_ALERTS_SEND_TIMEOUT
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "flagsite@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
