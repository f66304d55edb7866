"""Candor settings, read from the environment; SQLite and local Redis by default."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
import plotly
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CANDOR_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. bin/run sets one for local use; "
            "production needs its own."
        )
    SECRET_KEY = "insecure-local-development-key"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "accounts",
    "vendors",
    "assessments",
    "evals",
    "dashboards",
    "axes",
]

MIDDLEWARE = [
    # First, so that probes of /healthz skip host checks, redirects and logins.
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.WorkspaceMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by the login into a page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": ["django_htmx.templatetags.django_htmx"],
        },
    },
]

# SQLite needs WAL, immediate transactions and a busy timeout so that the web
# process and a Celery worker can write side by side without "database is locked".
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'candor.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    test_name = env_str("CANDOR_TEST_DATABASE", "")
    if test_name:
        DATABASES["default"]["TEST"] = {"NAME": test_name}
else:
    # A database host that drops packets would otherwise hold each request (and
    # /healthz) for the operating system's TCP timeout, minutes. A
    # ?connect_timeout= in DATABASE_URL wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

# Each process keeps rendered fragments of its own (the questionnaire's answer
# fields, keyed by what they show): Candor uses the cache for nothing else.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 2000},
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "vendor_list"
LOGOUT_REDIRECT_URL = "login"

# Invitations to a workspace go out by email: printed on the console unless
# EMAIL_BACKEND names another backend. Django 6.1 configures mail through
# MAILERS; the SMTP backend takes its server from the EMAIL_* variables.
_EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND}}
if _EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
    MAILERS["default"]["OPTIONS"] = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_str("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "timeout": env_int("EMAIL_TIMEOUT_SECONDS", 10),
    }
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Candor <candor@localhost>")
# Days an emailed invitation link and a vendor contact's link keep working.
CANDOR_INVITATION_DAYS = env_int("CANDOR_INVITATION_DAYS", 7)
CANDOR_VENDOR_LINK_DAYS = env_int("CANDOR_VENDOR_LINK_DAYS", 14)

# Login throttling (django-axes): after CANDOR_LOGIN_FAILURE_LIMIT failed logins
# for one username from one address, that pair is refused for the cool-off time.
# Locking the pair rather than the username alone keeps a stranger from locking a
# founder out by mistyping their name on purpose.
# The address is REMOTE_ADDR (django-ipware is not installed), so a forged
# X-Forwarded-For cannot reset the count.
# Limitation: an attacker spreading guesses over many addresses is slowed per
# address only; behind a TLS proxy every person shares the proxy's address, so
# the lock becomes per username. Reading the client from the proxy's header
# (AXES_CLIENT_IP_CALLABLE, trusting only the proxy's own hop) would lift that.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("CANDOR_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("CANDOR_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("CANDOR_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The image collects static files into itself, not into the volume at VAR_DIR, which
# would keep an older release's files.
STATIC_ROOT = Path(env_str("CANDOR_STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# plotly.js is served from the plotly package itself, so the version of the
# charts drawn in Python and in the browser can never drift apart.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/plotly", Path(plotly.__file__).parent / "package_data"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("CANDOR_MANIFEST_STATIC", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"

# Uploads: the public-evidence import reads a handful of CSV files.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
CANDOR_MAX_IMPORT_BYTES = env_int("CANDOR_MAX_IMPORT_BYTES", 5 * 1024 * 1024)
# All files of one import together; an edition's files come to about 1 MB.
CANDOR_MAX_IMPORT_TOTAL_BYTES = env_int(
    "CANDOR_MAX_IMPORT_TOTAL_BYTES", 20 * 1024 * 1024
)

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    # Plotly and htmx both set inline styles on the elements they draw.
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env_bool("CANDOR_HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("CANDOR_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("CANDOR_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Evaluation runs are long and PDF reports short: each gets its own queue so that
# a long run never holds up a PDF, and a worker can be given to one queue alone.
# Everything else (rescoring, sweeps) stays on "celery". bin/run's worker consumes
# all three.
CELERY_TASK_ROUTES = {
    "evals.tasks.run_execute": {"queue": "runs"},
    "dashboards.tasks.report_print": {"queue": "reports"},
}

# Bursts of answer saves within this many seconds coalesce into one rescoring.
CANDOR_RESCORE_DELAY_SECONDS = env_int("CANDOR_RESCORE_DELAY_SECONDS", 2)
CANDOR_CHROMIUM = env_str("CANDOR_CHROMIUM", "chromium")
CANDOR_FMTI_FOLDER = env_str(
    "CANDOR_FMTI_FOLDER", str(BASE_DIR.parent / "shared" / "data" / "fmti-dec2025")
)

# Endpoint API keys are encrypted with these Fernet keys: the first encrypts, every
# one decrypts, so a new key can be put in front of the old one to rotate.
CANDOR_ENCRYPTION_KEY = env_list("CANDOR_ENCRYPTION_KEY", [])
for _position, _key in enumerate(CANDOR_ENCRYPTION_KEY, start=1):
    try:
        Fernet(_key)
    except (ValueError, TypeError):
        # The message names the position only: the value is a secret.
        raise ImproperlyConfigured(
            f"CANDOR_ENCRYPTION_KEY: key {_position} is not a Fernet key (32 "
            "url-safe base64-encoded bytes). Create one with: python -c "
            '"from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        ) from None
# Private, loopback and CGNAT addresses are refused for endpoints unless allowed;
# link-local and cloud metadata addresses are always refused.
CANDOR_ENDPOINT_ALLOW_PRIVATE = env_bool("CANDOR_ENDPOINT_ALLOW_PRIVATE", False)
CANDOR_SIMULATED_VENDOR_PORT = env_int("CANDOR_SIMULATED_VENDOR_PORT", 8099)

# Evaluation runs (evals/runner.py). A worker refreshes a running run's heartbeat
# every CANDOR_RUN_HEARTBEAT_SECONDS; a run whose heartbeat is older than
# CANDOR_RUN_STALE_SECONDS lost its worker and is resumed by the sweep.
CANDOR_RUN_HEARTBEAT_SECONDS = env_int("CANDOR_RUN_HEARTBEAT_SECONDS", 10)
CANDOR_RUN_STALE_SECONDS = env_int(
    "CANDOR_RUN_STALE_SECONDS", 3 * CANDOR_RUN_HEARTBEAT_SECONDS
)
CANDOR_RUN_SWEEP_SECONDS = env_int("CANDOR_RUN_SWEEP_SECONDS", 60)
# A run still queued this long after its task message was sent is sent again by the
# sweep, in case the broker lost the message; a claim keeps it to one execution.
CANDOR_RUN_REQUEUE_AFTER_SECONDS = env_int("CANDOR_RUN_REQUEUE_AFTER_SECONDS", 600)
CANDOR_RUN_TIME_LIMIT_SECONDS = env_int("CANDOR_RUN_TIME_LIMIT_SECONDS", 6 * 3600)
CANDOR_RUN_CANCEL_GRACE_SECONDS = env_int("CANDOR_RUN_CANCEL_GRACE_SECONDS", 5)
CANDOR_SAMPLE_DEADLINE_SECONDS = env_int("CANDOR_SAMPLE_DEADLINE_SECONDS", 300)
CANDOR_RETRY_ATTEMPTS = env_int("CANDOR_RETRY_ATTEMPTS", 6)
CANDOR_RETRY_BACKOFF_SECONDS = env_int("CANDOR_RETRY_BACKOFF_SECONDS", 1)
CANDOR_RETRY_BACKOFF_MAX_SECONDS = env_int("CANDOR_RETRY_BACKOFF_MAX_SECONDS", 30)
# The window an endpoint's requests_per_minute counts over; only tests shorten it.
CANDOR_RATE_LIMIT_WINDOW_SECONDS = env_int("CANDOR_RATE_LIMIT_WINDOW_SECONDS", 60)
# A rescoring still pending after this long lost its task and is enqueued again.
CANDOR_RESCORE_STUCK_SECONDS = env_int("CANDOR_RESCORE_STUCK_SECONDS", 60)
# How often beat looks for owner-scheduled re-runs that are due; a re-run starts
# at most this long after its due time.
CANDOR_RERUN_SWEEP_SECONDS = env_int("CANDOR_RERUN_SWEEP_SECONDS", 300)
CELERY_BEAT_SCHEDULE = {
    "resume-stale-runs": {
        "task": "evals.tasks.runs_resume",
        "schedule": CANDOR_RUN_SWEEP_SECONDS,
    },
    "enqueue-stuck-rescorings": {
        "task": "assessments.tasks.rescore_sweep",
        "schedule": CANDOR_RESCORE_STUCK_SECONDS,
    },
    "start-scheduled-reruns": {
        "task": "evals.tasks.reruns_start_due",
        "schedule": CANDOR_RERUN_SWEEP_SECONDS,
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    # Vendor-link and invitation URLs carry their token; Django logs the path of
    # every refused request. On django.request itself, so that every handler
    # (mail_admins too) gets the redacted line; on the console for the rest.
    "filters": {"token_redaction": {"()": "config.log_filters.TokenRedaction"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["token_redaction"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("CANDOR_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"filters": ["token_redaction"]},
        "django.db.backends": {"level": "WARNING"},
        # Failed logins and lockouts are warnings; every successful login is not news.
        "axes": {"level": "WARNING"},
    },
}
