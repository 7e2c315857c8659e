"""Configuration: defaults, the environment variables of the public contract, overrides."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from union.adapters import crypto
from union.rules.disclosure import Rules


class ConfigError(RuntimeError):
    """The app cannot start safely with this configuration."""


#: Secret keys that ship in examples and must never protect a real deployment.
KNOWN_DEFAULT_SECRETS = frozenset(
    {"", "dev", "development", "secret", "changeme", "change-me", "test", "testing"}
)
MIN_SECRET_KEY_LENGTH = 32

DEFAULTS: dict[str, Any] = {
    "UNION_ENV": "development",
    "UNION_NAME": "Harm Reduction Workers Union",
    "UNION_TIMEZONE": "America/Toronto",
    "UNION_CURRENCY": "CAD",
    "MAIL_FROM": "Union <union@example.org>",
    #: The app's public address, e.g. https://dues.example.org: every link in an
    #: email, a feed or a payment redirect is built from it, never from the
    #: request's Host. Required in production; SERVER_NAME stands in for it, and
    #: development falls back to the address `make run` serves on.
    "PUBLIC_URL": None,
    #: Host names requests may carry besides PUBLIC_URL's (production answers any
    #: other with 400), e.g. an internal name a health check uses.
    "EXTRA_TRUSTED_HOSTS": (),
    #: "console" prints mail, "smtp" sends through SMTP_URL, "memory" keeps it for tests.
    "MAIL_BACKEND": "console",
    "SMTP_URL": None,
    #: Shared counters for sign-in throttling (several app servers); memory if unset.
    "REDIS_URL": None,
    #: The job queue's broker (union.adapters.queue): redis://... (production:
    #: REDIS_URL's when unset), sqlite:///path, or "inline" (run where handed
    #: off; tests). Unset in development: a SQLite file in the instance folder.
    "QUEUE_URL": None,
    "QUEUE_NAME": "union",
    #: How long a worker holds a job before another may take it (a worker
    #: killed mid-job), and the first wait after a failure (doubling each time).
    "JOB_LEASE_SECONDS": 600,
    "JOB_FIRST_RETRY_SECONDS": 30,
    #: A bearer token for /metrics (Prometheus); unset: no metrics at all.
    "METRICS_TOKEN": None,
    #: "json": every log line a JSON object (for a log shipper); else plain text.
    "LOG_FORMAT": "text",
    #: Where the worker writes a daily backup; unset: no scheduled backup.
    "BACKUP_FOLDER": None,
    #: How many proxies in front of the app set X-Forwarded-For (0: use the peer).
    "TRUSTED_PROXIES": 0,
    #: How long a sign-in counts as fresh for changing email, password or dues level.
    "FRESH_SIGN_IN": timedelta(minutes=15),
    "EMAIL_CHANGE_TOKEN_LIFETIME": timedelta(days=1),
    #: Days each kind of record is kept before `union apply-retention` removes it
    #: (None: kept for good). See union/services/retention.py.
    "RETENTION_DAYS": {
        "account_tokens": 30,
        "login_sessions": 30,
        "unconfirmed_applications": 60,
        "checkout_attempts": 180,
        "stripe_events": 400,
        "dues_notices": 730,
        "notifications": 365,
        "finished_jobs": 30,
        "closed_grievances": None,
        "audit_events": None,
    },
    #: Named to members in "what we hold about you" (third parties); optional.
    "MAIL_PROVIDER": None,
    "HOSTING_PROVIDER": None,
    #: Texts to members who asked for them, through Twilio (union/adapters/sms.py):
    #: all three, or no texts (those members are on their delegate's call list).
    "TWILIO_ACCOUNT_SID": None,
    "TWILIO_AUTH_TOKEN": None,
    #: The number or messaging service texts come from, e.g. +15145550100.
    "TWILIO_FROM": None,
    #: Another server speaking Twilio's API (tests); unset: Twilio itself.
    "TWILIO_API_BASE": None,
    "STRIPE_SECRET_KEY": None,
    "STRIPE_WEBHOOK_SECRET": None,
    "STRIPE_API_BASE": None,
    #: What appears on bank statements and receipts: neutral on purpose, since others
    #: (a partner, a boss on a shared account) may read them.
    "STRIPE_STATEMENT_DESCRIPTOR": "MEMBERSHIP",
    "STRIPE_PRODUCT_NAME": "Membership dues",
    #: Where paying members are sent after pressing a button: Stripe's Checkout and
    #: Customer Portal. Browsers apply the CSP's form-action to that redirect too.
    #: STRIPE_REDIRECT_ORIGINS (comma-separated) replaces them, e.g. with a local
    #: Stripe peer's pages in development (README, "Card payments on your machine").
    "STRIPE_REDIRECT_ORIGINS": (
        "https://checkout.stripe.com",
        "https://billing.stripe.com",
    ),
    #: argon2 profile name from argon2.profiles; tests use CHEAPEST to stay fast.
    "PASSWORD_HASH_PROFILE": "RFC_9106_LOW_MEMORY",
    "ACTIVATION_TOKEN_LIFETIME": timedelta(days=7),
    "RESET_TOKEN_LIFETIME": timedelta(hours=1),
    "LOGIN_SESSION_IDLE_TIMEOUT": timedelta(days=1),
    "LOGIN_SESSION_MAX_AGE": timedelta(days=14),
    #: The cookie a browser gets on signing in, so that others' failed sign-ins do
    #: not keep it out (union/web/devices.py); it signs nobody in.
    "DEVICE_COOKIE_NAME": "device",
    "DEVICE_COOKIE_MAX_AGE": timedelta(days=365),
    "ROSTER_PAGE_SIZE": 50,
    #: Serves /floor, the benchmark's baseline page (a trivial template and one
    #: trivial query); off, it answers 404 like any unknown address.
    "BENCHMARK_FLOOR": False,
    #: Grievance documents larger than this are refused with a message.
    "GRIEVANCE_DOCUMENT_MAX_BYTES": 10 * 1024 * 1024,
    #: Where grievance documents are kept: "folder" (DOCUMENT_STORAGE_PATH) or "s3"
    #: (the DOCUMENT_S3_* settings). Either way they are encrypted by the app first
    #: and only ever served through its checks. `union move-documents` moves them.
    "DOCUMENT_STORAGE": "folder",
    #: The folder for "folder"; default: instance/documents.
    "DOCUMENT_STORAGE_PATH": None,
    #: An S3-compatible store for "s3": the bucket (required), the service's
    #: address (empty for AWS itself; MinIO, Garage, Ceph and others give theirs)
    #: and its region. Keys: DOCUMENT_S3_ACCESS_KEY_ID and
    #: DOCUMENT_S3_SECRET_ACCESS_KEY, else boto3's own (AWS_ACCESS_KEY_ID, an
    #: instance role). Production refuses to start if the store cannot be written.
    "DOCUMENT_S3_BUCKET": None,
    "DOCUMENT_S3_ENDPOINT_URL": None,
    "DOCUMENT_S3_REGION": None,
    "DOCUMENT_S3_ACCESS_KEY_ID": None,
    "DOCUMENT_S3_SECRET_ACCESS_KEY": None,
    #: What stands between the app and PostgreSQL: empty for nothing (or a
    #: pooler in session mode), "pgbouncer" for PgBouncer in transaction pooling
    #: mode, which needs the connections set up differently (build_config).
    "DATABASE_POOLER": "",
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # Hidden parameters keep names and emails out of database error messages and logs.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # A form stays valid for as long as the browser session: workers fill forms on
    # the bus, and an hour-long CSRF window would throw away what they typed.
    "WTF_CSRF_TIME_LIMIT": None,
    # Canadian locales, so money reads "$11.00" (not "CA$11.00") and dates read
    # the Canadian way.
    "BABEL_DEFAULT_LOCALE": "en_CA",
    "BABEL_DEFAULT_TIMEZONE": "America/Toronto",
    #: Languages with a complete catalogue, as language codes; formatting uses the
    #: Canadian variant ("en" -> en_CA, "fr" -> fr_CA).
    "LANGUAGES": ("en", "fr"),
    #: Overrides of the survey reports' disclosure thresholds (union.rules.disclosure.Rules
    #: field names). They may only be made stricter: a looser one stops the app.
    "DISCLOSURE_RULES": {},
}


def normalise_database_url(url: str) -> str:
    """Lets operators write postgres:// or postgresql:// and still get psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def from_environment(environ: Mapping[str, str], instance_path: Path) -> dict[str, Any]:
    config: dict[str, Any] = {}
    database_url = environ.get("DATABASE_URL")
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        database_url or f"sqlite:///{instance_path / 'union.sqlite3'}"
    )
    names = (
        "SECRET_KEY",
        "DATABASE_POOLER",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
        "SMTP_URL",
        "UNION_ENV",
        "UNION_NAME",
        "UNION_TIMEZONE",
        "MAIL_FROM",
        "PUBLIC_URL",
        "SERVER_NAME",
        "LOOKUP_HASH_KEY",
        "REDIS_URL",
        "QUEUE_URL",
        "QUEUE_NAME",
        "BACKUP_FOLDER",
        "METRICS_TOKEN",
        "LOG_FORMAT",
        "DOCUMENT_STORAGE",
        "DOCUMENT_STORAGE_PATH",
        "DOCUMENT_S3_BUCKET",
        "DOCUMENT_S3_ENDPOINT_URL",
        "DOCUMENT_S3_REGION",
        "DOCUMENT_S3_ACCESS_KEY_ID",
        "DOCUMENT_S3_SECRET_ACCESS_KEY",
        "MAIL_PROVIDER",
        "HOSTING_PROVIDER",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM",
        "TWILIO_API_BASE",
    )
    for name in names:
        if environ.get(name):
            config[name] = environ[name]
    if environ.get("BENCHMARK_FLOOR") == "1":
        config["BENCHMARK_FLOOR"] = True
    if environ.get("DISCLOSURE_RULES"):
        config["DISCLOSURE_RULES"] = _disclosure_settings(environ["DISCLOSURE_RULES"])
    if environ.get("STRIPE_REDIRECT_ORIGINS"):
        config["STRIPE_REDIRECT_ORIGINS"] = _origins(
            "STRIPE_REDIRECT_ORIGINS", environ["STRIPE_REDIRECT_ORIGINS"]
        )
    if environ.get("TRUSTED_HOSTS"):
        config["EXTRA_TRUSTED_HOSTS"] = tuple(
            host.strip() for host in environ["TRUSTED_HOSTS"].split(",") if host.strip()
        )
    if _flag(environ.get("FLASK_DEBUG")):
        # `flask --debug` and FLASK_DEBUG=1 turn the debugger on after the app is
        # built; the guard must see them here.
        config["DEBUG"] = True
    for name in ("JOB_LEASE_SECONDS", "JOB_FIRST_RETRY_SECONDS"):
        if environ.get(name, "").isdigit():
            config[name] = int(environ[name])
    if environ.get("TRUSTED_PROXIES", "").isdigit():
        config["TRUSTED_PROXIES"] = int(environ["TRUSTED_PROXIES"])
    if environ.get("ENCRYPTION_KEYS"):
        config["ENCRYPTION_KEYS"] = [
            key.strip() for key in environ["ENCRYPTION_KEYS"].split(",") if key.strip()
        ]
    if config.get("SMTP_URL"):
        config["MAIL_BACKEND"] = "smtp"
    retention: dict[str, int | None] = {}
    for name in DEFAULTS["RETENTION_DAYS"]:
        value = environ.get(f"RETENTION_{name.upper()}_DAYS", "").strip().lower()
        if value.isdigit():
            retention[name] = int(value)
        elif value in ("never", "keep"):
            retention[name] = None
    if retention:
        config["RETENTION_DAYS"] = {**DEFAULTS["RETENTION_DAYS"], **retention}
    return config


def _is_origin(text: str) -> bool:
    """A plain web origin: scheme, host and maybe a port, nothing else."""
    if any(char.isspace() or char in ";'\",@" for char in text):
        return False
    try:
        address = urlsplit(text)
        port = address.port  # raises ValueError when the port is not a number
    except ValueError:
        return False
    return (
        address.scheme in ("http", "https")
        and bool(address.hostname)
        and (port is None or port > 0)
        and not (address.path.strip("/") or address.query or address.fragment)
    )


def _origins(name: str, text: str) -> tuple[str, ...]:
    """ "https://checkout.stripe.com, http://127.0.0.1:8420" as origins. They go
    into the Content-Security-Policy, so anything but a plain web origin stops
    the app, named."""
    origins = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        if not _is_origin(part):
            raise ConfigError(
                f"refusing to start: {name}: {part!r} is not a web origin such as "
                "https://checkout.stripe.com"
            )
        origins.append(part.rstrip("/"))
    return tuple(origins)


def _disclosure_settings(text: str) -> dict[str, float]:
    """ "min_count=10, epsilon_per_year=2" as a dict; a value that is not a number
    is kept as text, for Rules to refuse by name."""
    settings: dict[str, Any] = {}
    for part in text.split(","):
        name, _equals, value = part.partition("=")
        value = value.strip()
        try:
            settings[name.strip()] = float(value) if "." in value else int(value)
        except ValueError:
            settings[name.strip()] = value
    return settings


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


def public_address(config: Mapping[str, Any]) -> str:
    """PUBLIC_URL without a trailing slash, else one made from SERVER_NAME, else
    the development server's address."""
    if config.get("PUBLIC_URL"):
        return str(config["PUBLIC_URL"]).rstrip("/")
    if config.get("SERVER_NAME"):
        scheme = config.get("PREFERRED_URL_SCHEME") or "http"
        return f"{scheme}://{config['SERVER_NAME']}"
    return "http://127.0.0.1:5000"


def development_secret(instance_path: Path, name: str, make: Callable[[], str]) -> str:
    """A random secret kept under instance/, so a development database and its
    sessions keep working across restarts. Production must configure its own."""
    key_file = instance_path / name
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = make()
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def build_config(
    overrides: Mapping[str, Any] | None,
    instance_path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    refuse_unsafe: bool = True,
) -> dict[str, Any]:
    """The app's configuration: defaults, then the environment, then overrides.

    Production refuses an unsafe configuration; `union check-deploy` builds it with
    `refuse_unsafe=False` to name every problem itself, the guard's among them."""
    config = dict(DEFAULTS)
    config.update(
        from_environment(os.environ if environ is None else environ, instance_path)
    )
    config.update(overrides or {})
    pooler_problem = database_pooler_problem(config)
    if pooler_problem and refuse_unsafe:
        raise ConfigError(f"refusing to start: {pooler_problem}")
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql"):
        options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
        connect_args = dict(options.get("connect_args", {}))
        if config.get("DATABASE_POOLER") == "pgbouncer":
            # In transaction pooling each transaction may run on another server
            # connection, where a statement psycopg prepared on the last one does
            # not exist: psycopg must never prepare (it does, by default, from a
            # query's fifth run). PgBouncer also refuses the `options` start-up
            # parameter, so JIT is turned off on the role instead (deploy/README.md).
            connect_args["prepare_threshold"] = None
        else:
            # Page queries are short; PostgreSQL's JIT compiler, which starts on
            # cost estimates, would add more time compiling than it saves
            # (measured on the arrears list, benchmarks/results.md).
            connect_args.setdefault("options", "-c jit=off")
        options["connect_args"] = connect_args
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if not config.get("DOCUMENT_STORAGE_PATH"):
        config["DOCUMENT_STORAGE_PATH"] = str(instance_path / "documents")
    if not config.get("QUEUE_URL"):
        config["QUEUE_URL"] = default_queue_url(config, instance_path)
    document_problems = document_storage_problems(
        config, production=config["UNION_ENV"] == "production"
    )
    if document_problems:
        raise ConfigError("refusing to start: " + "; ".join(document_problems) + ".")
    try:
        Rules.from_settings(config["DISCLOSURE_RULES"])
    except (TypeError, ValueError) as error:
        if refuse_unsafe:
            raise ConfigError(f"refusing to start: DISCLOSURE_RULES: {error}") from None
    configured_address = bool(config.get("PUBLIC_URL") or config.get("SERVER_NAME"))
    config["PUBLIC_URL_CONFIGURED"] = configured_address
    config["PUBLIC_URL"] = public_address(config)
    if config["UNION_ENV"] == "production":
        config.update(
            SESSION_COOKIE_SECURE=True,
            SESSION_COOKIE_NAME="__Host-session",
            DEVICE_COOKIE_NAME="__Host-device",
            PREFERRED_URL_SCHEME="https",
            # Werkzeug answers 400 to a request for any other host, so nothing
            # built from the Host header can point somewhere else.
            TRUSTED_HOSTS=[
                urlsplit(config["PUBLIC_URL"]).hostname or "",
                *config["EXTRA_TRUSTED_HOSTS"],
            ],
        )
        if refuse_unsafe:
            check_production(config, configured_address=configured_address)
    else:
        if not config.get("SECRET_KEY"):
            config["SECRET_KEY"] = development_secret(
                instance_path, "secret_key", lambda: secrets.token_urlsafe(48)
            )
        if not config.get("ENCRYPTION_KEYS"):
            config["ENCRYPTION_KEYS"] = [
                development_secret(instance_path, "encryption_key", crypto.new_key)
            ]
        if not config.get("LOOKUP_HASH_KEY"):
            config["LOOKUP_HASH_KEY"] = development_secret(
                instance_path, "lookup_hash_key", lambda: secrets.token_urlsafe(48)
            )
    return config


#: The poolers DATABASE_POOLER names; empty is none.
DATABASE_POOLERS = ("", "pgbouncer")


def database_pooler_problem(config: Mapping[str, Any]) -> str | None:
    """What is wrong with DATABASE_POOLER, if anything. It is a setting rather
    than a guess from DATABASE_URL: PgBouncer may listen on any port, and only
    the operator knows whether it pools by transaction."""
    pooler = config.get("DATABASE_POOLER") or ""
    if pooler not in DATABASE_POOLERS:
        return (
            f"DATABASE_POOLER must be empty or 'pgbouncer' (PgBouncer in "
            f"transaction pooling mode), not {pooler!r}"
        )
    return None


DOCUMENT_STORAGE_KINDS = ("folder", "s3")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def default_queue_url(config: Mapping[str, Any], instance_path: Path) -> str:
    """Tests run each job where it is handed off; a server with Redis queues on
    it; anything else (`make run`) on a SQLite file beside the database."""
    if config.get("TESTING"):
        return "inline"
    if config.get("REDIS_URL"):
        return str(config["REDIS_URL"])
    return f"sqlite:///{instance_path / 'queue.sqlite3'}"


def document_storage_problems(
    config: Mapping[str, Any], *, production: bool
) -> list[str]:
    """What is wrong with the document storage settings, in words an operator can
    act on. The S3 settings are checked whenever a bucket is named, so that
    `union move-documents` finds them sound before the app is switched over."""
    problems = []
    kind = config.get("DOCUMENT_STORAGE")
    if kind not in DOCUMENT_STORAGE_KINDS:
        problems.append(f"DOCUMENT_STORAGE must be 'folder' or 's3', not {kind!r}")
    if kind == "s3" and not config.get("DOCUMENT_S3_BUCKET"):
        problems.append("DOCUMENT_S3_BUCKET must be set when DOCUMENT_STORAGE is 's3'")
    if bool(config.get("DOCUMENT_S3_ACCESS_KEY_ID")) != bool(
        config.get("DOCUMENT_S3_SECRET_ACCESS_KEY")
    ):
        problems.append(
            "DOCUMENT_S3_ACCESS_KEY_ID and DOCUMENT_S3_SECRET_ACCESS_KEY go together: "
            "set both, or neither to use boto3's own credentials"
        )
    endpoint = config.get("DOCUMENT_S3_ENDPOINT_URL")
    if endpoint:
        address = urlsplit(str(endpoint))
        if address.scheme not in ("http", "https") or not address.hostname:
            problems.append(
                "DOCUMENT_S3_ENDPOINT_URL must be an http(s) address, e.g. "
                "https://s3.example.org"
            )
        elif (
            production
            and address.scheme != "https"
            and address.hostname not in LOOPBACK_HOSTS
        ):
            # The documents are encrypted either way, but their sizes, their
            # number and who fetches them when would cross the network readable.
            problems.append(
                "DOCUMENT_S3_ENDPOINT_URL must be https unless the store runs on "
                "this machine"
            )
    return problems


def check_production(
    config: Mapping[str, Any], *, configured_address: bool = True
) -> None:
    """Refuses to run a production app that would be unsafe, naming every problem."""
    problems = production_problems(config, configured_address=configured_address)
    if problems:
        raise ConfigError(
            "refusing to start in production: " + "; ".join(problems) + "."
        )


def production_problems(
    config: Mapping[str, Any], *, configured_address: bool = True
) -> list[str]:
    """What would make a production app unsafe, each problem in a sentence."""
    problems = []
    address = urlsplit(str(config.get("PUBLIC_URL") or ""))
    if not configured_address or address.scheme != "https" or not address.hostname:
        problems.append(
            "PUBLIC_URL must be the app's public https address (links in emails "
            "are built from it, never from the request's Host header)"
        )
    secret = config.get("SECRET_KEY") or ""
    if secret.lower() in KNOWN_DEFAULT_SECRETS or len(secret) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            f"SECRET_KEY must be a random value of at least {MIN_SECRET_KEY_LENGTH} "
            "characters"
        )
    if config.get("DEBUG"):
        problems.append(
            "debug mode must be off (DEBUG, FLASK_DEBUG and `flask --debug` turn "
            "it on; its debugger runs any code it is sent)"
        )
    if not config.get("REDIS_URL"):
        problems.append(
            "REDIS_URL must be set: sign-in throttling counts failures per account "
            "and address, and without Redis each worker process keeps its own "
            "counts, so the limits multiply by the number of workers"
        )
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        problems.append("DATABASE_URL must point at PostgreSQL, not SQLite")
    queue = str(config.get("QUEUE_URL") or config.get("REDIS_URL") or "")
    inline_in_tests = queue == "inline" and config.get("TESTING")
    if (
        not queue.startswith(("redis://", "rediss://", "unix://"))
        and not inline_in_tests
    ):
        problems.append(
            "QUEUE_URL must be a Redis address (or left unset to use REDIS_URL): "
            "the web servers and the workers must share one queue"
        )
    if not config.get("ENCRYPTION_KEYS"):
        problems.append("ENCRYPTION_KEYS must be set (make one with `union new-key`)")
    lookup = config.get("LOOKUP_HASH_KEY") or ""
    if len(lookup) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            f"LOOKUP_HASH_KEY must be a random value of at least {MIN_SECRET_KEY_LENGTH} "
            "characters"
        )
    if config.get("MAIL_BACKEND") == "console":
        problems.append(
            "SMTP_URL must be set (the console mail backend writes whole emails, "
            "addresses and sign-in links included, to the log)"
        )
    insecure = [
        origin
        for origin in config.get("STRIPE_REDIRECT_ORIGINS", ())
        if not str(origin).startswith("https://")
    ]
    if insecure:
        problems.append(
            "STRIPE_REDIRECT_ORIGINS must all be https addresses (a local Stripe "
            f"peer is for development only): {', '.join(insecure)}"
        )
    if config.get("STRIPE_SECRET_KEY") and not config.get("STRIPE_WEBHOOK_SECRET"):
        problems.append(
            "STRIPE_WEBHOOK_SECRET is required when STRIPE_SECRET_KEY is set"
        )
    return problems
