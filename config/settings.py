"""Settings for the e-meterai refund and complaint desk, read from the environment.

Every variable is optional: without any, the product runs embedded (SQLite, tasks in-process,
console email and WhatsApp, local files). README.md, "Configuration", lists the variables operators rely on.
"""

import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=None):
    value = os.environ.get(name, "")
    return value if value != "" else default


def env_bool(name, default=False):
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    return int(env(name, default))


def env_list(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)
TESTING = env_bool("TESTING", default=False)

SECRET_KEY = env("SECRET_KEY")
if SECRET_KEY is None:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdefghij"

PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if (DEBUG or TESTING) else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", PUBLIC_BASE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "tickets",
    "refunds",
    "notifications",
    "verification",
    "incidents",
    "desk",
]

MIDDLEWARE = [
    "config.observability.RequestIdMiddleware",
    "config.observability.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.PermissionsPolicyMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a login that axes refused into its lockout answer
]

ROOT_URLCONF = "config.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# Database: SQLite in the project folder unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: wait for the lock rather than fail under load.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# While the database is unreachable, requests answer 503 with this Retry-After (config.middleware).
DATABASE_RETRY_AFTER_SECONDS = env_int("DATABASE_RETRY_AFTER_SECONDS", 5)

# Brute-force protection for the admin and the API token login (django-axes): failures are counted per
# username AND client address (tickets.ratelimit.client_address, which honours TRUSTED_PROXY_COUNT), so a
# guesser locks out one username from one address and never everyone behind a carrier's address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "tickets.ratelimit.client_address"
AXES_LOCKOUT_CALLABLE = "desk.errors.lockout_response"
AXES_RESET_ON_SUCCESS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Language and time: Bahasa Indonesia first, English too; Jakarta time.
LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Bahasa Indonesia")), ("en", _("English"))]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

# Static and uploaded files. Evidence is personal data: MEDIA is never served publicly,
# only through views that check staff access or the ticket's tracking token.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media-not-public/"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
if env("AWS_STORAGE_BUCKET_NAME"):
    # Object storage in production (S3 or compatible); credentials come from the usual AWS_* variables.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Cache: Redis when REDIS_URL (or a Redis broker) is given, so rate limits hold across web processes.
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
if REDIS_URL is None and CELERY_BROKER_URL and CELERY_BROKER_URL.startswith("redis"):
    REDIS_URL = CELERY_BROKER_URL
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache_table"}
    }

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Celery: without a broker, tasks run in-process (eagerly, after the transaction commits).
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
if CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
# One queue per kind of work, so that a remedy due now never waits behind thousands of deliveries.
# A worker started without -Q consumes them all (the embedded and test workers); production runs a
# worker per queue (README, Production). Tasks not routed below go to `default`.
CELERY_QUEUE_NAMES = ["remedies", "deliveries", "media", "verification", "default"]
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in CELERY_QUEUE_NAMES]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "refunds.tasks.apply_remedy": {"queue": "remedies"},
    "refunds.tasks.apply_remedies": {"queue": "remedies"},
    "refunds.tasks.sweep_remedies": {"queue": "remedies"},
    "notifications.tasks.deliver_message": {"queue": "deliveries"},
    "notifications.tasks.deliver_messages": {"queue": "deliveries"},
    "notifications.tasks.sweep_outbox": {"queue": "deliveries"},
    "notifications.tasks.fetch_inbound_media": {"queue": "media"},
    "tickets.tasks.process_evidence": {"queue": "media"},
    "tickets.tasks.sweep_pending_evidence": {"queue": "media"},
    "*.tasks.verify_*": {"queue": "verification"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 600)}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "redeliver-stale-outbox": {"task": "notifications.tasks.sweep_outbox", "schedule": timedelta(minutes=1)},
    "resume-stalled-remedies": {"task": "refunds.tasks.sweep_remedies", "schedule": timedelta(minutes=5)},
    "guided-whatsapp-reports": {
        "task": "notifications.tasks.remind_idle_guided_reports",
        "schedule": timedelta(minutes=15),
    },
    "workflow-timers": {"task": "tickets.tasks.run_workflow_timers", "schedule": timedelta(minutes=15)},
    # Verifications the platform did not answer (or a broker down at intake left unscheduled).
    "verify-due-tickets": {"task": "verification.tasks.verify_due", "schedule": timedelta(minutes=1)},
    "reconcile-yesterday": {"task": "refunds.tasks.reconcile_yesterday", "schedule": timedelta(hours=6)},
    "resume-incident-notices": {
        "task": "incidents.tasks.resume_incident_notices",
        "schedule": timedelta(minutes=1),
    },
    "resume-bulk-approvals": {
        "task": "incidents.tasks.resume_bulk_approvals",
        "schedule": timedelta(minutes=1),
    },
    # Hourly: erasure requests that waited for a remedy are carried out soon after it is processed.
    "erase-expired-personal-data": {"task": "tickets.tasks.erase_expired", "schedule": timedelta(hours=1)},
    "sweep-kept-evidence": {"task": "tickets.tasks.sweep_kept_evidence", "schedule": timedelta(minutes=10)},
    "sweep-pending-evidence": {
        "task": "tickets.tasks.sweep_pending_evidence",
        "schedule": timedelta(minutes=1),
    },
    "sweep-orphan-evidence": {"task": "tickets.tasks.sweep_orphan_evidence", "schedule": timedelta(hours=1)},
    "purge-idempotency-keys": {
        "task": "tickets.tasks.purge_idempotency_records",
        "schedule": timedelta(hours=1),
    },
}

# Email: console unless EMAIL_URL (or Django's EMAIL_HOST...) says otherwise.
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Layanan e-Meterai <helpdesk@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env("EMAIL_URL"):
    vars().update(dj_email_url.parse(env("EMAIL_URL")))
elif env("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_TIMEOUT = 20

# WhatsApp through Twilio; without credentials the console channel prints messages.
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN")
TWILIO_WHATSAPP_FROM = env("TWILIO_WHATSAPP_FROM")
TWILIO_API_URL = env("TWILIO_API_URL", "https://api.twilio.com").rstrip("/")
# Approved WhatsApp Content templates per event, for messages outside the 24-hour window, as JSON:
# {"report_received": "HX...", "info_requested": {"id": "HX...", "en": "HX..."}}. Their variables are
# {{1}} name, {{2}} reference, {{3}} tracking link, {{4}} the event's message or remedy.
TWILIO_CONTENT_SIDS = json.loads(env("TWILIO_CONTENT_SIDS", "{}"))
# A WhatsApp message from a number with no open ticket starts a guided report (notifications/guided.py);
# off: it opens a ticket of category `other` as before. Idle that long: reminded once, then closed.
# Guided templates in TWILIO_CONTENT_SIDS: "guided_category" (quick replies), "guided_reminder" ({{1}} name).
WHATSAPP_GUIDED_INTAKE = env_bool("WHATSAPP_GUIDED_INTAKE", True)
WHATSAPP_GUIDED_IDLE_MINUTES = env_int("WHATSAPP_GUIDED_IDLE_MINUTES", 24 * 60)
INBOUND_EMAIL_SECRET = env("INBOUND_EMAIL_SECRET")
INBOUND_EMAIL_MAX_BYTES = env_int("INBOUND_EMAIL_MAX_BYTES", 60 * 1024 * 1024)
# A MIME bomb (thousands of parts, deep nesting) is refused before it is parsed in full.
INBOUND_EMAIL_MAX_PARTS = env_int("INBOUND_EMAIL_MAX_PARTS", 100)
INBOUND_EMAIL_MAX_DEPTH = env_int("INBOUND_EMAIL_MAX_DEPTH", 10)
# Outbox: a claim older than this is a worker that died mid-send; the sweep leaves younger ones alone.
OUTBOX_CLAIM_TIMEOUT_SECONDS = env_int("OUTBOX_CLAIM_TIMEOUT_SECONDS", 300)
OUTBOX_SWEEP_GRACE_SECONDS = env_int("OUTBOX_SWEEP_GRACE_SECONDS", 60)
# A message handed to the broker is its task's until this long after the hand-over (or after its retry
# is due): the sweep re-queues it only then, so a backlog in the broker is not queued a second time.
OUTBOX_HANDOVER_LEASE_SECONDS = env_int("OUTBOX_HANDOVER_LEASE_SECONDS", 600)
# OUTBOX_RELAY on: a request only commits its outbox rows and `manage.py relay_outbox` hands them to
# the delivery workers (notifications/relay.py); off: the request publishes them itself after its commit.
# Needs a broker (the embedded mode delivers after each commit).
OUTBOX_RELAY = env_bool("OUTBOX_RELAY", False) and not CELERY_TASK_ALWAYS_EAGER
OUTBOX_RELAY_BATCH = env_int("OUTBOX_RELAY_BATCH", 500)
OUTBOX_RELAY_IDLE_MS = env_int("OUTBOX_RELAY_IDLE_MS", 100)

# Intake capacity (tickets/capacity.py): time queued before a worker took the request, reports received
# at once per process, screenshots waiting for the media workers site-wide, beyond which a report is
# answered 503 with Retry-After; 0: no bound.
INTAKE_MAX_QUEUE_MS = env_int("INTAKE_MAX_QUEUE_MS", 0)  # needs the load balancer's X-Request-Start
INTAKE_MAX_IN_FLIGHT = env_int("INTAKE_MAX_IN_FLIGHT", 16)
INTAKE_MAX_PENDING_EVIDENCE = env_int("INTAKE_MAX_PENDING_EVIDENCE", 20000)
INTAKE_RETRY_AFTER_SECONDS = env_int("INTAKE_RETRY_AFTER_SECONDS", 30)

# Rate limits on report submissions: "ADDR/NUMBER per minute", or "off".
RATE_LIMIT_REPORTS = env("RATE_LIMIT_REPORTS", "120/5")
# Reverse proxies in front of the web processes. 0: clients connect directly, X-Forwarded-For and
# X-Forwarded-Proto are ignored (a client could write anything there). N: the address the N-th proxy
# from us appended to X-Forwarded-For is the client's (tickets.ratelimit.client_address), and
# X-Forwarded-Proto is trusted for HTTPS (SECURE_PROXY_SSL_HEADER below).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# Remedy gateways.
QUOTA_GATEWAY = env("QUOTA_GATEWAY", "ledger")
QUOTA_PLATFORM_URL = env("QUOTA_PLATFORM_URL")
QUOTA_PLATFORM_TOKEN = env("QUOTA_PLATFORM_TOKEN")
# Verification against the platform's records: first retry after the platform did not answer
# (doubling, at most an hour apart, later if it sends Retry-After), and attempts before giving up.
VERIFICATION_RETRY_SECONDS = env_int("VERIFICATION_RETRY_SECONDS", 60)
# Incident notices: tickets per batch, pause between batches (the provider's rate), and after how long
# without a batch an unfinished sending counts as crashed and is resumed (by the beat task below).
INCIDENT_NOTICE_BATCH = env_int("INCIDENT_NOTICE_BATCH", 50)
INCIDENT_NOTICE_PAUSE_SECONDS = env_int("INCIDENT_NOTICE_PAUSE_SECONDS", 2)
INCIDENT_NOTICE_LEASE_SECONDS = env_int("INCIDENT_NOTICE_LEASE_SECONDS", 300)
# An incident's bulk approval: proposals approved per transaction (their tickets locked together, the
# job's progress stored with each).
INCIDENT_APPROVAL_CHUNK = env_int("INCIDENT_APPROVAL_CHUNK", 500)
# One task of the job works this long, then hands the rest to the next task (well inside
# CELERY_TASK_TIME_LIMIT); a job with no chunk committed for the lease is taken up again by the beat.
INCIDENT_APPROVAL_TASK_SECONDS = env_int("INCIDENT_APPROVAL_TASK_SECONDS", 60)
INCIDENT_APPROVAL_LEASE_SECONDS = env_int("INCIDENT_APPROVAL_LEASE_SECONDS", 300)
VERIFICATION_MAX_ATTEMPTS = env_int("VERIFICATION_MAX_ATTEMPTS", 12)
# Tickets verified by one task (an import, the sweep), their serial numbers asked of the platform's API
# on this many threads at once.
VERIFICATION_BATCH = env_int("VERIFICATION_BATCH", 100)
VERIFICATION_THREADS = env_int("VERIFICATION_THREADS", 8)
PAYOUT_URL = env("PAYOUT_URL")
PAYOUT_TOKEN = env("PAYOUT_TOKEN")
# Approved remedies wait (are not sent to the gateways) while this is on, e.g. during platform maintenance.
REMEDIES_PAUSED = env_bool("REMEDIES_PAUSED", False)
# First retry delay of a remedy the provider could not apply now (doubling, at most an hour apart).
REMEDY_RETRY_SECONDS = env_int("REMEDY_RETRY_SECONDS", 30)
GATEWAY_TIMEOUT_SECONDS = float(env("GATEWAY_TIMEOUT_SECONDS", 10))
# Many remedies approved at once (a bulk approval) go to the workers this many to a task, and each task
# calls the providers on this many threads: a batch whose every call times out (50 / 8 rounds of
# GATEWAY_TIMEOUT_SECONDS) still ends well inside CELERY_TASK_TIME_LIMIT.
REMEDY_APPLY_BATCH = env_int("REMEDY_APPLY_BATCH", 50)
REMEDY_APPLY_THREADS = env_int("REMEDY_APPLY_THREADS", 8)

# Workflow timers and personal data retention.
AUTO_CONFIRM_DAYS = env_int("AUTO_CONFIRM_DAYS", 7)
CLOSE_UNANSWERED_DAYS = env_int("CLOSE_UNANSWERED_DAYS", 7)
INFO_REMINDER_DAYS = env_int("INFO_REMINDER_DAYS", 3)
REOPEN_WINDOW_DAYS = env_int("REOPEN_WINDOW_DAYS", 14)
RETENTION_DAYS = env_int("RETENTION_DAYS", 180)
# How long a report's Idempotency-Key is remembered (a retry within it gets the first answer).
IDEMPOTENCY_KEY_HOURS = env_int("IDEMPOTENCY_KEY_HOURS", 24)
# Hours a ticket may stay in a state before its SLA is breached.
SLA_HOURS = {
    "reported": env_int("SLA_REPORTED_HOURS", 4),
    "in_review": env_int("SLA_IN_REVIEW_HOURS", 24),
    "awaiting_approval": env_int("SLA_AWAITING_APPROVAL_HOURS", 8),
    "approved": env_int("SLA_APPROVED_HOURS", 2),
    "remedy_failed": env_int("SLA_REMEDY_FAILED_HOURS", 4),
}
# The console dashboard's figures read the open tickets whole; they are cached this long.
DASHBOARD_CACHE_SECONDS = env_int("DASHBOARD_CACHE_SECONDS", 60)

# Evidence limits. Decoding costs about 5 bytes of memory a pixel and 25 ms a megapixel however small the
# file (a one-colour PNG of 40 megapixels fits in 123 KB), so pixels are bounded per image and per request
# from the headers, before anything is decoded. 16 MP per image takes any phone screenshot (1440x3200 is
# 4.6 MP; long scrolling ones up to about 1440x11000) and a 12 MP phone photo of a screen (4032x3024).
# 32 MP per request takes five ordinary screenshots or two such photos: images are decoded one after the
# other, so a request holds at most about 80 MB and 1 s of a worker.
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 10 * 1024 * 1024)
EVIDENCE_MAX_PIXELS = env_int("EVIDENCE_MAX_PIXELS", 16_000_000)
EVIDENCE_MAX_REQUEST_PIXELS = env_int("EVIDENCE_MAX_REQUEST_PIXELS", 32_000_000)
EVIDENCE_MAX_FILES = 5
# Screenshots a refused report form accepted are kept for its next try, in the private evidence
# storage (never the cache): at most this many bytes per form, for this many minutes (beat sweeps them).
KEPT_EVIDENCE_MAX_BYTES = env_int("KEPT_EVIDENCE_MAX_BYTES", 20 * 1024 * 1024)
KEPT_EVIDENCE_MINUTES = env_int("KEPT_EVIDENCE_MINUTES", 30)
# Evidence files no row points at (a web worker killed mid-upload) are deleted once this old.
EVIDENCE_ORPHAN_MINUTES = env_int("EVIDENCE_ORPHAN_MINUTES", 60)
# Screenshots uploaded on the web wait `pending` for a worker on the `media` queue. A claim older than
# EVIDENCE_CLAIM_SECONDS is a dead worker's (the sweep queues the file again); a row never claimed is
# queued again after EVIDENCE_PENDING_GRACE_SECONDS; a file that killed EVIDENCE_MAX_ATTEMPTS workers
# is refused and the applicant asked for another.
EVIDENCE_CLAIM_SECONDS = env_int("EVIDENCE_CLAIM_SECONDS", 300)
EVIDENCE_PENDING_GRACE_SECONDS = env_int("EVIDENCE_PENDING_GRACE_SECONDS", 120)
EVIDENCE_MAX_ATTEMPTS = env_int("EVIDENCE_MAX_ATTEMPTS", 3)
# Plain RGB(A) PNG screenshots are re-encoded with libvips where pyvips is installed
# (requirements-media.txt; about half Pillow's CPU); off: always Pillow (tickets/evidence_vips.py).
EVIDENCE_LIBVIPS = env_bool("EVIDENCE_LIBVIPS", True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "EXCEPTION_HANDLER": "desk.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "e-Meterai refund and complaint desk API",
    "DESCRIPTION": "Applicant reports and tracking, staff workflow, remedies and webhooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.report_categories",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TicketChannelEnum": "tickets.models.Channel",
        "MessageChannelEnum": "notifications.models.MessageChannel",
        "StaffReplyChannelEnum": ["whatsapp", "email", "note"],
        "EvidenceStateEnum": "tickets.models.Evidence.State",
        "TicketStateEnum": "tickets.models.State",
        "VerificationOutcomeEnum": "verification.models.Outcome",
    },
    # Swagger UI served from our own static files (drf-spectacular-sidecar): /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGIN_URL = "admin:login"
# /api/schema/ and /api/docs/ are for staff when DEBUG is off, unless this opens them to anyone.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", False)

# Headers on every answer. No inline script anywhere (scripts are static files, the API docs' too);
# inline styles are allowed because the admin and Swagger UI set style attributes, which cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), fullscreen=(self), geolocation=(), "
    "gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), usb=()"
)

# benchmarks/bench_surge.py only: serves its bare-insert ceiling view at /bench/insert/.
BENCHMARK_VIEWS = env_bool("BENCHMARK_VIEWS", False)
# Operators: GET /metrics (Prometheus) with `Authorization: Bearer METRICS_TOKEN`, or as staff.
METRICS_TOKEN = env("METRICS_TOKEN", "")
# LOG_FORMAT=json: one JSON object per line, each with the request id (config/observability.py).
LOG_FORMAT = env("LOG_FORMAT", "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "config.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "twilio.http_client": {"level": "WARNING"},
        "pyvips": {"level": "WARNING"},  # libvips reports every thread pool at INFO
    },
}

# Production hardening: on whenever DEBUG is off.
if TRUSTED_PROXY_COUNT > 0:
    # Only a proxy of ours sets X-Forwarded-Proto; without one, a client could claim HTTPS over HTTP.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not TESTING)
    SECURE_REDIRECT_EXEMPT = [
        r"^healthz$",
        r"^livez$",
        r"^readyz$",
        r"^metrics$",
    ]  # load balancers check over plain HTTP inside the network
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not TESTING)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not TESTING)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# Project-wide translations that override Django's own where they read badly in the console
# (LOCALE_PATHS come before every app's catalog, Django's included).
LOCALE_PATHS = [BASE_DIR / "locale"]

# Customer satisfaction: after a ticket closes, its applicant is asked once to rate the help (1-5).
CSAT_ENABLED = env_bool("CSAT_ENABLED", True)
