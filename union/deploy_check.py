"""Whether a server is ready to serve the union: `union check-deploy`, and the
database half of it for `/readyz`.

The production guard (union.config) refuses to start an unsafe app; this goes
further, the way an operator would check a new server by hand: it connects to the
database, Redis and the mail server, writes to the document folder, and reads the
settings against each other. It reports every problem at once, so that one run
says everything left to fix.
"""

from __future__ import annotations

import functools
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from union.adapters import sms
from union.adapters.mail import SmtpMailer
from union.config import (
    DEFAULTS,
    MIN_SECRET_KEY_LENGTH,
    build_config,
    database_pooler_problem,
    production_problems,
)
from union.models.users import User, email_digest
from union.rules.disclosure import Rules

#: A random secret of 32 or more characters has many different ones; fewer than
#: this many means it was typed or repeated, not generated.
MIN_DISTINCT_SECRET_CHARACTERS = 12
RANDOM_VALUE_COMMAND = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
#: Works before the configuration does, unlike `union new-key`.
NEW_KEY_COMMAND = (
    "python3 -c 'import base64, os; "
    "print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
)
#: A host name as TRUSTED_HOSTS takes it: no scheme, path or wildcard.
HOST_NAME = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d+)?$|^\[[0-9a-fA-F:]+\]$"
)
CONNECT_TIMEOUT_SECONDS = 5


@dataclass
class Report:
    """What was checked: a sentence for each check that passed, and one for each
    problem found."""

    passed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@functools.cache
def head_revisions(migrations: Path) -> frozenset[str]:
    """The revisions the code's migrations end at; they cannot change while the
    process runs."""
    return frozenset(ScriptDirectory(str(migrations)).get_heads())


def database_revisions(connection: sa.Connection) -> frozenset[str]:
    """The revisions the database was migrated to; raises if it never was."""
    rows = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
    return frozenset(row[0] for row in rows)


def check_deployment(
    environ: Mapping[str, str],
    instance_path: Path,
    *,
    migrations: Path,
) -> Report:
    """Checks the configuration in `environ` as production would read it."""
    report = Report()
    config = build_config(
        {"UNION_ENV": "production"},
        instance_path,
        environ=environ,
        refuse_unsafe=False,
    )
    if environ.get("UNION_ENV") == "production":
        report.passed.append("UNION_ENV is production")
    else:
        report.problems.append(
            "UNION_ENV must be production (it turns on secure cookies, HSTS, the "
            "host check and the start-up guard)"
        )
    guard = production_problems(
        config, configured_address=config["PUBLIC_URL_CONFIGURED"]
    )
    report.problems += guard
    if not guard:
        report.passed.append("the production start-up guard is satisfied")
    for check in CHECKS:
        check(config, environ, migrations, report)
    return report


def _secrets(
    config: Mapping[str, Any], environ: Mapping[str, str], _: Path, report: Report
) -> None:
    found = []
    for name in ("SECRET_KEY", "LOOKUP_HASH_KEY"):
        value = str(config.get(name) or "")
        too_short = len(value) < MIN_SECRET_KEY_LENGTH  # the guard names it
        if not too_short and len(set(value)) < MIN_DISTINCT_SECRET_CHARACTERS:
            found.append(
                f"{name} does not look random (too few different characters); "
                f"make one with: {RANDOM_VALUE_COMMAND}"
            )
    if config.get("SECRET_KEY") and config.get("SECRET_KEY") == config.get(
        "LOOKUP_HASH_KEY"
    ):
        found.append("SECRET_KEY and LOOKUP_HASH_KEY must be two different secrets")
    report.problems += found
    if not found:
        report.passed.append("secrets look random and are kept apart")


def _encryption_keys(
    config: Mapping[str, Any], environ: Mapping[str, str], _: Path, report: Report
) -> None:
    keys = list(config.get("ENCRYPTION_KEYS") or [])
    if not keys:
        return  # the guard has named it
    found = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            found.append(
                f"ENCRYPTION_KEYS: key {position} is not a valid key; make one "
                f"with: {NEW_KEY_COMMAND}"
            )
    if len(set(keys)) != len(keys):
        found.append("ENCRYPTION_KEYS lists the same key twice")
    report.problems += found
    if not found:
        report.passed.append(f"ENCRYPTION_KEYS holds {len(keys)} valid key(s)")


def _database(
    config: Mapping[str, Any],
    environ: Mapping[str, str],
    migrations: Path,
    report: Report,
) -> None:
    url = str(config["SQLALCHEMY_DATABASE_URI"])
    if url.startswith("sqlite"):
        return  # the guard has named it
    pooler_problem = database_pooler_problem(config)
    if pooler_problem:
        report.problems.append(pooler_problem)
        return
    # Connected as the app connects (through PgBouncer, without prepared
    # statements), so that what passes here works for the app too.
    connect_args = dict(config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {}))
    connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    try:
        engine = sa.create_engine(url, connect_args=connect_args)
    except (sa.exc.ArgumentError, ImportError, ValueError):
        report.problems.append("DATABASE_URL is not a database address")
        return
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as connection:
            try:
                revisions = database_revisions(connection)
            except sa.exc.DBAPIError:
                revisions = frozenset()
    except sa.exc.DBAPIError as error:
        report.problems.append(
            f"the database at {shown} cannot be reached: {_first_line(error.orig)}"
        )
        return
    finally:
        engine.dispose()
    if config.get("DATABASE_POOLER") == "pgbouncer":
        report.passed.append(
            "the database is reached through PgBouncer in transaction pooling "
            "mode: no prepared statements, no start-up options"
        )
    heads = head_revisions(migrations)
    if revisions == heads:
        report.passed.append(
            f"the database at {shown} is migrated to the latest schema"
        )
        _keys_read_the_data(config, engine, report)
    elif not revisions:
        report.problems.append(
            f"the database at {shown} has no tables yet: run "
            "`flask --app wsgi db upgrade`"
        )
    else:
        report.problems.append(
            f"the database at {shown} is at schema {', '.join(sorted(revisions))}, "
            f"the code needs {', '.join(sorted(heads))}: run "
            "`flask --app wsgi db upgrade`"
        )


def _keys_read_the_data(
    config: Mapping[str, Any], engine: sa.Engine, report: Report
) -> None:
    """Whether the keys are the ones the data was written with (a backup restored
    beside other keys cannot be read, and nobody could sign in): one account's
    email is decrypted, and its keyed hash computed again."""
    try:
        keys = MultiFernet([Fernet(key.encode()) for key in config["ENCRYPTION_KEYS"]])
    except (KeyError, TypeError, ValueError):
        return  # named by the encryption keys' own check
    try:
        with engine.connect() as connection:
            # Read as stored text: the column's own type would decrypt it with
            # the keys this process was started with, not the ones checked.
            stored_email = sa.type_coerce(User.email, sa.Text)
            account = connection.execute(
                sa.select(stored_email.label("email"), User.email_hash)
                .order_by(User.id)
                .limit(1)
            ).first()
    except sa.exc.DBAPIError:
        return
    finally:
        engine.dispose()
    if account is None:
        report.passed.append("no accounts yet to check the keys against")
        return
    try:
        email = keys.decrypt(account.email.encode()).decode()
    except InvalidToken:
        report.problems.append(
            "ENCRYPTION_KEYS cannot read what the database holds: are these the "
            "keys its data (or the backup restored into it) was written with?"
        )
        return
    lookup_key = str(config.get("LOOKUP_HASH_KEY") or "").encode()
    if email_digest(email, key=lookup_key) != account.email_hash:
        report.problems.append(
            "LOOKUP_HASH_KEY is not the key the accounts were saved with: nobody "
            "could sign in"
        )
        return
    report.passed.append("the keys read the data the database holds")


def _redis(
    config: Mapping[str, Any], environ: Mapping[str, str], _: Path, report: Report
) -> None:
    url = config.get("REDIS_URL")
    if not url:
        return  # the guard has named it
    try:
        client = redis.Redis.from_url(
            url,
            socket_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
        client.ping()
        client.close()
    except (redis.RedisError, ValueError) as error:
        report.problems.append(
            f"Redis at REDIS_URL cannot be reached: {_first_line(error)}"
        )
        return
    report.passed.append("Redis answers")


def _mail(
    config: Mapping[str, Any], environ: Mapping[str, str], _: Path, report: Report
) -> None:
    if config.get("MAIL_FROM") == DEFAULTS["MAIL_FROM"]:
        report.problems.append(
            "MAIL_FROM must be set to the union's own sender address"
        )
    url = config.get("SMTP_URL")
    if not url:
        return  # the guard has named it
    scheme = urlsplit(url).scheme
    if scheme not in ("smtp", "smtps", "smtp+insecure"):
        report.problems.append(
            "SMTP_URL must start with smtp://, smtps:// or smtp+insecure://"
        )
        return
    try:
        SmtpMailer(url, config["MAIL_FROM"], timeout=CONNECT_TIMEOUT_SECONDS).check()
    except (OSError, ValueError) as error:
        host = urlsplit(url).hostname or "localhost"
        report.problems.append(
            f"the mail server {host} cannot be used: {type(error).__name__}: "
            f"{_first_line(error)}"
        )
        return
    report.passed.append("the mail server accepts a connection and the sign-in")


def _stripe(
    config: Mapping[str, Any], environ: Mapping[str, str], _: Path, report: Report
) -> None:
    key = config.get("STRIPE_SECRET_KEY")
    if not key:
        report.passed.append("Stripe is not configured: card payment is unavailable")
        return
    found = []
    if not str(key).startswith(("sk_", "rk_")):
        found.append("STRIPE_SECRET_KEY is not a Stripe secret key (sk_... or rk_...)")
    webhook = config.get("STRIPE_WEBHOOK_SECRET")
    if webhook and not str(webhook).startswith("whsec_"):
        found.append(
            "STRIPE_WEBHOOK_SECRET is not a webhook signing secret (whsec_...)"
        )
    report.problems += found
    if not found and webhook:
        report.passed.append("Stripe has a secret key and a webhook signing secret")


def _texts(
    config: Mapping[str, Any], environ: Mapping[str, str], _: Path, report: Report
) -> None:
    named = [
        name
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")
        if config.get(name)
    ]
    if not named:
        report.passed.append(
            "texts are not configured: members who asked for texts are on their "
            "delegate's call list"
        )
    elif len(named) < 3:
        report.problems.append(
            "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM go together: "
            f"only {', '.join(named)} is set"
        )
    elif not sms.sdk_installed():
        report.problems.append(
            "TWILIO_* is set but the twilio package is not installed: no text "
            "would be sent"
        )
    else:
        report.passed.append("texts go out through Twilio")


def _documents(
    config: Mapping[str, Any], environ: Mapping[str, str], _: Path, report: Report
) -> None:
    folder = Path(config["DOCUMENT_STORAGE_PATH"])
    if not folder.is_absolute():
        report.problems.append("DOCUMENT_STORAGE_PATH must be an absolute path")
        return
    if not folder.is_dir():
        report.problems.append(f"the document folder {folder} does not exist")
        return
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".check-"):
            pass
    except OSError as error:
        report.problems.append(
            f"the document folder {folder} is not writable: {error.strerror}"
        )
        return
    if folder.stat().st_mode & 0o007:
        report.problems.append(
            f"the document folder {folder} is open to every user of the server: "
            f"chmod o-rwx {folder}"
        )
        return
    report.passed.append(f"the document folder {folder} is writable by the app only")


def _addresses(
    config: Mapping[str, Any], environ: Mapping[str, str], _: Path, report: Report
) -> None:
    found = []
    address = urlsplit(str(config["PUBLIC_URL"]))
    if address.path not in ("", "/") or address.query or address.fragment:
        found.append(
            "PUBLIC_URL must be the address of the site's root, like "
            "https://dues.example.org, with no path"
        )
    server_name = config.get("SERVER_NAME")
    if server_name and str(server_name).split(":")[0] != address.hostname:
        found.append(
            f"SERVER_NAME ({server_name}) names another host than PUBLIC_URL; "
            "leave SERVER_NAME unset"
        )
    for host in config["EXTRA_TRUSTED_HOSTS"]:
        if not HOST_NAME.match(host):
            found.append(
                f"TRUSTED_HOSTS: {host!r} is not a host name (no https://, path "
                "or wildcard: the host check compares names only)"
            )
    proxies = environ.get("TRUSTED_PROXIES", "").strip()
    if proxies and not proxies.isdigit():
        found.append("TRUSTED_PROXIES must be a whole number of proxies")
    elif not config["TRUSTED_PROXIES"]:
        found.append(
            "TRUSTED_PROXIES must be the number of reverse proxies in front of the "
            "app (1 with deploy/Caddyfile): with 0, every request seems to come "
            "from the proxy, and one person's failed sign-ins would lock out "
            "everyone"
        )
    report.problems += found
    if not found:
        hosts = ", ".join([address.hostname or "", *config["EXTRA_TRUSTED_HOSTS"]])
        report.passed.append(
            f"the app answers to {hosts} behind {config['TRUSTED_PROXIES']} proxy(ies)"
        )


def _disclosure(
    config: Mapping[str, Any], environ: Mapping[str, str], _: Path, report: Report
) -> None:
    try:
        Rules.from_settings(config["DISCLOSURE_RULES"])
    except (TypeError, ValueError) as error:
        report.problems.append(f"DISCLOSURE_RULES: {error}")


def _first_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


Check = Callable[[Mapping[str, Any], Mapping[str, str], Path, Report], None]
CHECKS: tuple[Check, ...] = (
    _secrets,
    _encryption_keys,
    _database,
    _redis,
    _mail,
    _stripe,
    _texts,
    _documents,
    _addresses,
    _disclosure,
)
