"""The one settings module, driven by the environment (django-environ).

Every variable read here is listed in README.md ("Configuration"). With nothing set, the project runs
on an embedded SQLite file with WAL and IMMEDIATE transactions; set ``DATABASE_URL`` for PostgreSQL.
"""

import base64
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Under pytest the settings are production-like (DEBUG off) but run over plain HTTP on loopback.
TESTING = env.bool("TESTING", default="pytest" in sys.modules)
# Relaxed transport security for local runs: the demo and the tests speak plain HTTP.
LOCAL_HTTP = DEBUG or TESTING

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not LOCAL_HTTP:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for local development).")
    SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production"  # noqa: S105

# Key that encrypts stored secrets (LINE channel secrets, access tokens, private keys) at rest:
# a Fernet key (loyalty/crypto.py); a comma-separated list rotates keys (the first encrypts).
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
if not FIELD_ENCRYPTION_KEY:
    if not LOCAL_HTTP:
        raise ImproperlyConfigured(
            "Set FIELD_ENCRYPTION_KEY (python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'), or DEBUG=true for local development."
        )
    FIELD_ENCRYPTION_KEY = base64.urlsafe_b64encode(
        hashlib.sha256(f"loyalty.crypto:{SECRET_KEY}".encode()).digest()
    ).decode("ascii")
for _key in FIELD_ENCRYPTION_KEY.split(","):
    try:
        Fernet(_key.strip().encode("ascii"))
    except ValueError as _exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be Fernet keys (32 bytes, url-safe base64)."
        ) from _exc

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public base URL (scheme and host) used in links that leave the request, e.g. invite QR codes
# and rich-menu links. Empty means "build from the request".
SITE_URL = env.str("SITE_URL", default="")
# The landing page names the shops on this server (and links the first one's member pages) only when
# this is on: handy for the demo, but in production one shop's customers need not learn who else
# runs on the same server.
LANDING_LIST_SHOPS = env.bool("LANDING_LIST_SHOPS", default=DEBUG)

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "axes",
    "ninja",
    "loyalty",
    "shops",
    "members",
    "rewards",
    "campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (django-csp; per-request parts in loyalty/csp.py).
    "loyalty.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "loyalty.i18n.PageLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # Under /api/v1/: JSON errors for unknown paths and methods, before idempotency is asked for.
    "loyalty.api_routing.ApiEnvelopeMiddleware",
    "loyalty.api_idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "loyalty.urls"
WSGI_APPLICATION = "loyalty.wsgi.application"
ASGI_APPLICATION = "loyalty.asgi.application"

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

# --- Database -------------------------------------------------------------------------------------
# SQLite: WAL lets readers run beside the one writer, IMMEDIATE takes the write lock at BEGIN so two
# writers queue instead of failing half-way, and the busy timeout is how long they queue.
SQLITE_PATH = env.path("SQLITE_PATH", default=VAR_DIR / "db.sqlite3")
DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default=f"sqlite:///{SQLITE_PATH}",
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
            ),
        }
    )
    # A file (not :memory:) so threads and the live server share it; one per process so parallel
    # runs (xdist workers, two developers' shells) never share a test database.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"loyalty-test-{os.getpid()}.sqlite3")
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # PostgreSQL's JIT compiles any query its planner thinks costly; for this app's short counts and
    # set-based jobs compiling took longer than running (a segment count at 100,000 members: ~1 s of
    # JIT for 0.5 s of work, docs/benchmarks.md). Off per connection; PG_JIT=on restores it.
    if env.str("PG_JIT", default="off") != "on":
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = (options.get("options", "") + " -c jit=off").strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users ----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "shops.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "shops.backends.ShopRoleBackend",
    "shops.backends.ApprovalPinBackend",  # only for a manager's approval in the staff app
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"
# django-axes: lock a username+IP pair out after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "th"
LANGUAGES = [("th", _("Thai")), ("en", _("English"))]
# Ours first (it wins); then Thai for django-unfold's own strings, which unfold does not ship.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_vendor"]
# The language switch's choice (member pages, staff app, back office) is remembered for a year.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Bangkok"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
if LOCAL_HTTP:
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# Serve uploaded files from Django itself (the demo and single-machine installs). Behind a proxy or
# with object storage, turn this off and serve MEDIA_ROOT from there.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not LOCAL_HTTP)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=LOCAL_HTTP)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Security (production) ------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env.bool("TRUST_X_FORWARDED_PROTO", default=False)
    else None
)
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not LOCAL_HTTP)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not LOCAL_HTTP)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if LOCAL_HTTP else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not LOCAL_HTTP)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading is a commitment for the whole domain that is hard to undo, so it stays the operator's
# explicit choice; without it, `check --deploy` would warn (W021) on every correct install.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): what pages may load and run. Scripts are our static files,
# or inline blocks that carry the request's nonce (`<script nonce="{{ request.csp_nonce }}">`).
# loyalty/csp.py adds LINE's hosts (from the LINE_* settings) and 'unsafe-eval' for the back
# office's Alpine.js; docs/architecture.md says why each source is allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        # The shop's theme colours, progress bars and the admin theme are style attributes;
        # styles cannot run code.
        "style-src": [SELF, UNSAFE_INLINE],
        # data: for inline SVG and QR images.
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=14 * 24 * 3600)

# --- Background jobs (django-q2, ORM broker) ------------------------------------------------------
# retry must exceed timeout, or a slow task is handed to a second worker while the first still runs.
Q_CLUSTER = {
    "name": "loyalty",
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=600),
    "retry": env.int("Q_RETRY", default=900),
    "max_attempts": 3,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 1000,
    "label": "Django Q",
    "poll": 1,
    "sync": env.bool("Q_SYNC", default=False),
}
# With REDIS_URL set, django-q2 queues jobs in Redis instead of the database (the production
# choice when several machines run job clusters); the schedules stay in the database either way.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = REDIS_URL

# --- LINE platform -------------------------------------------------------------------------------
# Base URLs of the LINE platform. Production leaves them alone; tests and the demo point them at the
# project's fake LINE server on loopback (loyalty/line/fake/), so the real line-bot-sdk and
# LINE Login code paths run against it. The fake server refuses to start outside DEBUG/TESTING.
# Port of the fake LINE server that `make run` starts (0 = do not start it).
FAKE_LINE_PORT = env.int("FAKE_LINE_PORT", default=8765 if DEBUG else 0)
# The demo (DEBUG with a fake LINE port) talks to that fake server unless told otherwise; without
# DEBUG the defaults are always LINE's real hosts.
_FAKE_LINE = f"http://127.0.0.1:{FAKE_LINE_PORT}" if DEBUG and FAKE_LINE_PORT else None
LINE_API_BASE_URL = env.str("LINE_API_BASE_URL", default=_FAKE_LINE or "https://api.line.me")
LINE_API_DATA_BASE_URL = env.str(
    "LINE_API_DATA_BASE_URL", default=_FAKE_LINE or "https://api-data.line.me"
)
LINE_ACCESS_BASE_URL = env.str(
    "LINE_ACCESS_BASE_URL", default=_FAKE_LINE or "https://access.line.me"
)
LINE_LIFF_SDK_URL = env.str(
    "LINE_LIFF_SDK_URL", default="https://static.line-scdn.net/liff/edge/2/sdk.js"
)
LINE_HTTP_TIMEOUT = env.float("LINE_HTTP_TIMEOUT", default=10.0)
# The outbox (loyalty/outbox/): a shop's Messaging API token comes from this function (loyalty
# does not import shops); tries before a message is given up, and the back-off between them.
LINE_CHANNEL_TOKEN_LOOKUP = "shops.services.line_access_token"  # noqa: S105 (a function path)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
OUTBOX_BACKOFF_SECONDS = 30
OUTBOX_BACKOFF_MAX_SECONDS = 3600

# --- SMS (one-time codes that prove a phone number; loyalty/sms/, docs/sms.md) -------------------
# The gateway: "thaibulksms" (ThaiBulkSMS's v2 API over HTTPS), or empty to turn SMS off (members
# then confirm their phone with a cashier). Tests and the demo point SMS_BASE_URL at the project's
# fake gateway on loopback (loyalty/sms/fake_server.py), which speaks the same API.
FAKE_SMS_PORT = env.int("FAKE_SMS_PORT", default=8766 if DEBUG else 0)
_FAKE_SMS = f"http://127.0.0.1:{FAKE_SMS_PORT}" if DEBUG and FAKE_SMS_PORT else None
SMS_BACKEND = env.str("SMS_BACKEND", default="thaibulksms")
SMS_BASE_URL = env.str("SMS_BASE_URL", default=_FAKE_SMS or "https://api-v2.thaibulksms.com")
# The fake gateway's public demo account (loyalty.sms.fake_server.DEMO_API_KEY/SECRET).
SMS_API_KEY = env.str("SMS_API_KEY", default="demo-sms-api-key" if _FAKE_SMS else "")
SMS_API_SECRET = env.str("SMS_API_SECRET", default="demo-sms-api-secret" if _FAKE_SMS else "")
SMS_SENDER = env.str("SMS_SENDER", default="")
SMS_HTTP_TIMEOUT = env.float("SMS_HTTP_TIMEOUT", default=10.0)
# One-time codes: how long a code works, wrong tries per code, and how often one phone number or
# one LINE account may be sent a code.
OTP_CODE_MINUTES = env.int("OTP_CODE_MINUTES", default=5)
OTP_MAX_TRIES = env.int("OTP_MAX_TRIES", default=5)
OTP_RESEND_SECONDS = env.int("OTP_RESEND_SECONDS", default=60)
OTP_MAX_PER_HOUR = env.int("OTP_MAX_PER_HOUR", default=5)
OTP_RETENTION_DAYS = env.int("OTP_RETENTION_DAYS", default=30)
# Days LINE webhook events (raw JSON with user ids and typed text) are kept once handled.
LINE_WEBHOOK_EVENT_RETENTION_DAYS = env.int("LINE_WEBHOOK_EVENT_RETENTION_DAYS", default=30)
if LINE_WEBHOOK_EVENT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("LINE_WEBHOOK_EVENT_RETENTION_DAYS must be at least 1.")

# --- Product limits (MyCustomer's limits as defaults) ---------------------------------------------
LOYALTY_MAX_TIERS = env.int("LOYALTY_MAX_TIERS", default=5)
LOYALTY_MAX_TAGS = env.int("LOYALTY_MAX_TAGS", default=10)
LOYALTY_MAX_CONTACT_CHANNELS = env.int("LOYALTY_MAX_CONTACT_CHANNELS", default=11)
LOYALTY_MAX_SIGNUP_QUESTIONS = env.int("LOYALTY_MAX_SIGNUP_QUESTIONS", default=15)
LOYALTY_MAX_EXPIRY_MONTHS = 24
LOYALTY_MAX_IMAGE_BYTES = env.int("LOYALTY_MAX_IMAGE_BYTES", default=5 * 1024 * 1024)
LOYALTY_MAX_IMAGE_PIXELS = env.int("LOYALTY_MAX_IMAGE_PIXELS", default=40_000_000)
LOYALTY_IMAGE_MAX_SIDE = env.int("LOYALTY_IMAGE_MAX_SIDE", default=2048)
# Member import (xlsx/CSV): uploads are kept in PRIVATE_MEDIA_ROOT (never served) until imported.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=VAR_DIR / "private")
LOYALTY_IMPORT_MAX_BYTES = env.int("LOYALTY_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
LOYALTY_IMPORT_MAX_ROWS = env.int("LOYALTY_IMPORT_MAX_ROWS", default=100_000)
LOYALTY_IMPORT_MAX_UNPACKED_BYTES = env.int(
    "LOYALTY_IMPORT_MAX_UNPACKED_BYTES", default=400 * 1024 * 1024
)

# --- Personal data retention (PDPA, docs/pdpa.md) ---------------------------------------------------
# Open API request records (the replay of a POST with the same Idempotency-Key) are purged after
# this many days: their stored responses hold members' names and phones. Longer than any client's
# retries; a later retry is still safe (the ledger's own keys are permanent).
# The Open API's bearer tokens are the shops' API keys; loyalty's middleware asks this function.
API_KEY_AUTHENTICATOR = "shops.apikeys.api_key_authenticate"
IDEMPOTENCY_RETENTION_DAYS = env.int("IDEMPOTENCY_RETENTION_DAYS", default=7)
if IDEMPOTENCY_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("IDEMPOTENCY_RETENTION_DAYS must be at least 1.")

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Admin (django-unfold) ------------------------------------------------------------------------
UNFOLD = {
    "SITE_TITLE": _("Loyalty back office"),
    "SITE_HEADER": _("Loyalty"),
    "SITE_SUBHEADER": _("Points and members for LINE OA shops"),
    "SITE_URL": "/",
    "SITE_SYMBOL": "loyalty",
    "SITE_FAVICONS": [
        {"rel": "icon", "type": "image/svg+xml", "href": lambda request: static("favicon.svg")},
    ],
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_LANGUAGES": True,
    "DASHBOARD_CALLBACK": "members.dashboard.dashboard_callback",
    "ENVIRONMENT": "loyalty.admin_site.environment_callback",
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": "loyalty.admin_site.sidebar_navigation",
    },
    "COLORS": {
        "primary": {
            "50": "oklch(97.9% .021 166.113)",
            "100": "oklch(95% .052 163.051)",
            "200": "oklch(90.5% .093 164.15)",
            "300": "oklch(84.5% .143 164.978)",
            "400": "oklch(76.5% .177 163.223)",
            "500": "oklch(69.6% .17 162.48)",
            "600": "oklch(59.6% .145 163.225)",
            "700": "oklch(50.8% .118 165.612)",
            "800": "oklch(43.2% .095 166.913)",
            "900": "oklch(37.8% .077 168.94)",
            "950": "oklch(26.2% .051 172.552)",
        },
    },
    "LOGIN": {"redirect_after": reverse_lazy("admin:index")},
}
