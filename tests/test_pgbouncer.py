"""The app behind PgBouncer in transaction pooling mode (DATABASE_POOLER=pgbouncer):
PgBouncer (Debian's package; .ci/run installs it) started on a free loopback port
in front of a fresh database on the local PostgreSQL, with fewer server
connections than the app opens, so that one transaction after another of each of
the app's connections lands on whichever server connection is free. Migrations,
`check-deploy`, and stewards and an admin signing in, reading pages, writing
notes and reading a report at the same time all go through it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask

from tests import factories
from tests.conftest import (
    FIXED_NOW,
    TEST_ENCRYPTION_KEY,
    UnionClient,
    config_for_tests,
    postgresql_database,
    reset_schema,
)
from tests.local_services import free_port
from union import create_app
from union.db import db
from union.models import Grievance, GrievanceNote, Role

ROOT = Path(__file__).resolve().parents[1]
#: Fewer than the app's connections (STEWARDS threads, each with its own), so
#: transactions of different connections share server connections.
SERVER_CONNECTIONS = 2
STEWARDS = 6
NOTES_EACH = 8

pytestmark = pytest.mark.slow


def pgbouncer_program() -> str:
    found = shutil.which("pgbouncer") or shutil.which(
        "pgbouncer", path="/usr/sbin:/usr/local/sbin"
    )
    if found is None:
        pytest.skip("pgbouncer is not installed (.ci/run installs it)")
    return found


@contextlib.contextmanager
def folder_for_pgbouncer() -> Iterator[tuple[Path, list[str]]]:
    """A folder for PgBouncer's files, and the options that run it. PgBouncer
    refuses to run as root (as CI runs): then it runs as the user Debian's
    package gives it, and the folder is that user's, outside pytest's own
    folders, which only root may enter."""
    folder = Path(tempfile.mkdtemp(prefix="union-pgbouncer-"))
    options: list[str] = []
    try:
        if os.geteuid() == 0:
            account = next(
                found
                for name in ("postgres", "nobody")
                if (found := _account(name)) is not None
            )
            os.chown(folder, account.pw_uid, account.pw_gid)
            options = ["--user", account.pw_name]
        yield folder, options
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _account(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


@contextlib.contextmanager
def running_pgbouncer(database: sa.URL) -> Iterator[sa.URL]:
    """PgBouncer on a free loopback port, pooling by transaction in front of
    `database`; yields the address the app connects to instead."""
    program = pgbouncer_program()
    with (
        folder_for_pgbouncer() as (folder, options),
        _serving(program, options, folder, database) as address,
    ):
        yield address


@contextlib.contextmanager
def _serving(
    program: str, options: list[str], folder: Path, database: sa.URL
) -> Iterator[sa.URL]:
    port = free_port()
    user = database.username or "postgres"
    # With auth_type=trust PgBouncer asks clients for nothing (it listens on
    # loopback, for this test only) but still takes the user from this file, and
    # the password it logs in to PostgreSQL with.
    userlist = folder / "userlist.txt"
    userlist.write_text(f'"{user}" "{database.password or ""}"\n')
    config = folder / "pgbouncer.ini"
    config.write_text(
        f"""[databases]
{database.database} = host={database.host} port={database.port or 5432} dbname={database.database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {userlist}
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 200
server_reset_query =
logfile = {folder / "pgbouncer.log"}
pidfile = {folder / "pgbouncer.pid"}
admin_users = {user}
"""
    )
    for made in (userlist, config):
        shutil.chown(made, user=folder.owner(), group=folder.group())
        made.chmod(0o600)
    process = subprocess.Popen(  # noqa: S603 -- the Debian program, our own config
        [program, *options, str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        address = database.set(host="127.0.0.1", port=port)
        wait_for_pgbouncer(process, address, folder / "pgbouncer.log")
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_pgbouncer(
    process: subprocess.Popen[bytes], address: sa.URL, log: Path
) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            text = log.read_text() if log.exists() else ""
            pytest.fail(f"pgbouncer stopped: {text[-2000:]}")
        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=address.port,
                dbname=address.database,
                user=address.username,
                connect_timeout=2,
            ) as connection:
                connection.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                pytest.fail("pgbouncer did not answer within 30 seconds")
            time.sleep(0.1)


def server_connections(address: sa.URL) -> list[dict[str, Any]]:
    """PgBouncer's own account of its pools (its admin console)."""
    with psycopg.connect(
        host="127.0.0.1",
        port=address.port,
        dbname="pgbouncer",
        user=address.username,
        autocommit=True,
        prepare_threshold=None,
    ) as console:
        cursor = console.execute("SHOW POOLS")
        names = [column.name for column in cursor.description or []]
        return [
            dict(zip(names, row, strict=True))
            for row in cursor.fetchall()
            if row[names.index("database")] == address.database
        ]


@pytest.fixture
def pooled() -> Iterator[tuple[sa.URL, sa.URL]]:
    """(PgBouncer's address, the database's own) for a fresh database."""
    with (
        postgresql_database("pgbouncer_test") as database,
        running_pgbouncer(database) as address,
    ):
        yield address, database


def pooled_app(address: sa.URL, **settings: Any) -> Flask:
    app = create_app(
        config_for_tests(
            SQLALCHEMY_DATABASE_URI=address.render_as_string(hide_password=False),
            DATABASE_POOLER="pgbouncer",
            **settings,
        )
    )
    app.test_client_class = UnionClient
    return app


def union_client(app: Flask) -> UnionClient:
    client = app.test_client()
    assert isinstance(client, UnionClient)
    return client


def test_the_app_migrates_and_serves_many_at_once_through_pgbouncer(pooled):
    address, _database = pooled
    app = pooled_app(address)
    try:
        reset_schema(app)
        with app.app_context():
            make = factories.Factories(FIXED_NOW)
            workplace = make.workplace()
            emails = [f"steward{n}@example.org" for n in range(STEWARDS)]
            for email in emails:
                make.steward(workplace, email=email)
            make.user("admin@example.org", roles=(Role.ADMIN,))
            case = make.grievance(workplace).public_id
            db.session.commit()

        failures: list[str] = []

        def steward_at_work(email: str) -> None:
            try:
                client = union_client(app)
                client.sign_in(email)
                for n in range(NOTES_EACH):
                    answer = client.submit(
                        f"/grievances/{case}/notes",
                        {"body": f"Note {n}"},
                        page=f"/grievances/{case}",
                    )
                    assert answer.status_code == 302, answer.status_code
                    assert client.get("/grievances/").status_code == 200
            except Exception as error:
                failures.append(f"{email}: {type(error).__name__}: {error}")

        def admin_reading_reports() -> None:
            try:
                client = union_client(app)
                client.sign_in("admin@example.org")
                for _ in range(NOTES_EACH):
                    for page in ("/grievances/counts", "/admin/users"):
                        assert client.get(page).status_code == 200, page
            except Exception as error:
                failures.append(f"admin: {type(error).__name__}: {error}")

        threads = [
            threading.Thread(target=steward_at_work, args=(email,)) for email in emails
        ]
        threads.append(threading.Thread(target=admin_reading_reports))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        assert failures == []

        with app.app_context():
            notes = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(GrievanceNote)
                .join(Grievance)
                .where(Grievance.public_id == case)
            )
            assert notes == STEWARDS * NOTES_EACH
            connections = db.engine.pool
            assert isinstance(connections, sa.pool.QueuePool)
            opened = connections.checkedout() + connections.checkedin()
            db.session.remove()
        # The app held more connections than PostgreSQL gave PgBouncer: their
        # transactions took turns on the same server connections.
        assert opened > SERVER_CONNECTIONS
        (pool,) = server_connections(address)
        assert pool["sv_active"] + pool["sv_idle"] + pool["sv_used"] <= (
            SERVER_CONNECTIONS
        )
    finally:
        with app.app_context():
            db.engine.dispose()


def interleaved_transactions(engine: sa.Engine) -> list[str]:
    """The same query, many times over, on several of the engine's connections
    taking turns, one transaction each: what psycopg prepares on the fifth run
    (by default) on one server connection is then asked of another."""
    connections = [engine.connect() for _ in range(SERVER_CONNECTIONS + 2)]
    errors = []
    try:
        for turn in range(10):
            for connection in connections:
                try:
                    connection.execute(sa.text("SELECT :n + 1"), {"n": turn})
                    connection.commit()
                except sa.exc.DBAPIError as error:
                    errors.append(str(error.orig).splitlines()[0])
                    connection.rollback()
    finally:
        for connection in connections:
            connection.close()
    return errors


def test_transactions_taking_turns_on_server_connections_need_nothing_prepared(
    pooled,
):
    address, _database = pooled
    app = pooled_app(address)
    try:
        with app.app_context():
            assert interleaved_transactions(db.engine) == []
    finally:
        with app.app_context():
            db.engine.dispose()
    if pgbouncer_version() >= (1, 21):
        return  # newer PgBouncers can keep prepared statements themselves
    # What the setting prevents: psycopg's own default, through the same PgBouncer.
    default = sa.create_engine(address)
    try:
        assert any(
            "prepared statement" in error for error in interleaved_transactions(default)
        )
    finally:
        default.dispose()


def pgbouncer_version() -> tuple[int, ...]:
    shown = subprocess.run(  # noqa: S603 -- the Debian program
        [pgbouncer_program(), "--version"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout.split()[1]
    return tuple(int(part) for part in shown.split(".") if part.isdigit())


def test_check_deploy_connects_through_pgbouncer_as_the_app_does(
    pooled, tmp_path, redis_url, smtp_url
):
    address, _database = pooled
    app = pooled_app(address)
    try:
        reset_schema(app)
    finally:
        with app.app_context():
            db.engine.dispose()
    documents = tmp_path / "documents"
    documents.mkdir(mode=0o700)
    environment = {
        "PATH": os.environ["PATH"],
        "UNION_ENV": "production",
        "DATABASE_URL": address.render_as_string(hide_password=False),
        "DATABASE_POOLER": "pgbouncer",
        "SECRET_KEY": "kQ2v7Rz9bX4mN8pL1sT6wY3cF5hJ0dGaeUiOq",
        "LOOKUP_HASH_KEY": config_for_tests()["LOOKUP_HASH_KEY"],
        "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "REDIS_URL": redis_url,
        "SMTP_URL": smtp_url,
        "MAIL_FROM": "Test Union <dues@union.test>",
        "PUBLIC_URL": "https://dues.union.test",
        "TRUSTED_PROXIES": "1",
        "DOCUMENT_STORAGE_PATH": str(documents),
    }

    def check_deploy(**changes: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "union", "check-deploy"],
            cwd=ROOT,
            env={**environment, **changes},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    passed = check_deploy()
    assert passed.returncode == 0, passed.stderr
    assert "through PgBouncer in transaction pooling mode" in passed.stdout
    assert "migrated to the latest schema" in passed.stdout

    unknown = check_deploy(DATABASE_POOLER="pgpool")
    assert unknown.returncode == 1
    assert "problem: DATABASE_POOLER must be empty or 'pgbouncer'" in unknown.stderr
