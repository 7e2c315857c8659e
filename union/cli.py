"""Commands for operators: flask --app wsgi union <command>."""

from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from union import ROOT, deploy_check, generate, worker
from union.adapters import backup, crypto
from union.adapters.documents import DocumentStorage, storage_from_config
from union.clock import utcnow
from union.db import db
from union.errors import ValidationFailed
from union.generate import demo
from union.models import Role, SurveyRound
from union.rules.disclosure import Rules
from union.rules.passwords import hash_password
from union.services import (
    accounts,
    card_dues,
    document_moves,
    jobs,
    keys,
    retention,
    roster,
    survey,
)
from union.web import handoff

union_group = AppGroup("union", help="Union membership commands.")


@union_group.command("demo")
@click.option("--password", required=True, help="Password for every demo account.")
def demo_command(password: str) -> None:
    """Load demo data: workplaces, about 60 members, one account per role."""
    if demo.demo_loaded():
        click.echo("Demo data is already loaded.")
    else:
        count = demo.load_demo(password=password, now=utcnow())
        db.session.commit()
        click.echo(f"Loaded demo data: {count} members.")
    click.echo("Demo accounts (password as given):")
    for email, (_name, roles) in demo.DEMO_ACCOUNTS.items():
        described = ", ".join(role.value for role in roles) or "member"
        click.echo(f"  {email:<24} {described}")


@union_group.command("generate")
@click.option("--members", default=5000, show_default=True)
@click.option("--workplaces", default=100, show_default=True)
@click.option("--years", default=5, show_default=True, help="Years of dues history.")
@click.option(
    "--grievances", type=int, help="How many cases [default: one per five members]."
)
@click.option(
    "--survey-answers",
    type=int,
    help="Survey answers over all rounds [default: two per member].",
)
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--password", help="Password of every generated account [default: a random one]."
)
def generate_command(
    members: int,
    workplaces: int,
    years: int,
    grievances: int | None,
    survey_answers: int | None,
    seed: int,
    password: str | None,
) -> None:
    """Fill an empty database with made-up data at scale, for benchmarks.

    Invented members across workplaces and jobs, years of monthly dues by card, cash,
    e-transfer and waiver, grievances with their timelines, survey rounds (one a
    quarter, the last open) with their answers and reports. Accounts: admin@,
    treasurer@ and organizer@example.org, stewardN@example.org and
    member<number>@example.org, all with the same password.
    """
    try:
        scale = generate.Scale.of(
            members=members,
            workplaces=workplaces,
            years=years,
            grievances=grievances,
            survey_answers=survey_answers,
            seed=seed,
        )
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    password = password or secrets.token_urlsafe(12)
    started = time.monotonic()

    def progress(section: str, done: int, total: int) -> None:
        seconds = time.monotonic() - started
        click.echo(f"{seconds:7.1f}s  {section:<12} {done:>9,} of {total:,}", err=True)

    try:
        summary = generate.generate(
            scale,
            password_hash=hash_password(password),
            now=utcnow(),
            progress=progress,
        )
    except generate.AlreadyPopulated as error:
        db.session.rollback()
        click.echo(f"error: {error}; use an empty database.", err=True)
        sys.exit(1)
    click.echo("Committing ...", err=True)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Fresh statistics, so the planner knows the tables are no longer empty, and
        # a visibility map, so counts can be read from indexes alone.
        click.echo("VACUUM ANALYZE ...", err=True)
        with db.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
    for table, rows in sorted(summary.rows.items()):
        click.echo(f"{table:<28} {rows:>10,}")
    click.echo(f"Generated in {time.monotonic() - started:.0f} s.")
    click.echo(f"Every account's password: {password}")


@union_group.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", required=True, help="Shown to other users, e.g. 'Sam (admin)'.")
@click.password_option(help="Prompted for when not given.")
def create_admin(email: str, name: str, password: str) -> None:
    """Create an admin account (for the first admin of a new union)."""
    try:
        accounts.create_account(
            email,
            name=name,
            password=password,
            roles=(Role.ADMIN,),
            actor=None,
            now=utcnow(),
        )
    except ValidationFailed as error:
        db.session.rollback()
        for messages in error.errors.values():
            for message in messages:
                click.echo(f"error: {message}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo("Admin account created.")


@union_group.command("import-members")
@click.argument(
    "roster_path", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--check-only", is_flag=True, help="Check the file and import nothing.")
def import_members(roster_path: Path, check_only: bool) -> None:
    """Import members from a roster (CSV in UTF-8, or the first sheet of an .xlsx
    workbook); all rows or none.

    Columns: member_number, chosen_name, legal_name, pronouns, email, phone,
    contact_preference, membership_class, status, joined_on, dues_level, employer,
    site, classification. Only chosen_name and dues_level are required.
    """
    try:
        roster_file = roster.read_roster(roster_path.read_bytes())
    except ValidationFailed as unreadable:
        for message in unreadable.messages:
            click.echo(f"error: {message}", err=True)
        sys.exit(1)
    with click.progressbar(length=1, label="Checking", file=sys.stderr) as bar:
        phase = {"name": "check"}

        def progress(done: int, total: int, name: str) -> None:
            if name != phase["name"]:
                phase["name"] = name
                bar.label = "Importing"
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        result = roster.import_roster(
            roster_file,
            actor=None,
            now=utcnow(),
            check_only=check_only,
            progress=progress,
        )
    if not result.ok:
        db.session.rollback()
        for error in result.errors:
            column = f", column {error.column}" if error.column else ""
            click.echo(f"line {error.line}{column}: {error.message}", err=True)
        click.echo(
            f"{len(result.errors)} problems found; nothing was imported.", err=True
        )
        sys.exit(1)
    if check_only:
        db.session.rollback()
        click.echo(f"The file is fine: {result.rows} members would be imported.")
        return
    db.session.commit()
    click.echo(f"Imported {result.imported} members.")
    for name in result.new_workplaces:
        click.echo(f"New workplace, waiting for an organizer to confirm: {name}")


@union_group.command("stripe-setup")
def stripe_setup() -> None:
    """Create or update the Stripe product and a monthly price per dues amount.

    Safe to run any number of times (for example from cron, after the treasurer
    schedules a new amount): it only creates what is missing.
    """
    try:
        lines = card_dues.setup_catalog(
            current_app.extensions["union_payments"], now=utcnow()
        )
    except card_dues.CardPaymentsUnavailable as error:
        db.session.rollback()
        click.echo(f"error: {error} (is STRIPE_SECRET_KEY set?)", err=True)
        sys.exit(1)
    db.session.commit()
    for line in lines:
        click.echo(line)


@union_group.command("open-survey-round")
@click.argument("name")
def open_survey_round(name: str) -> None:
    """Open a survey round, for example "Spring 2027"."""
    try:
        opened = survey.open_round(name, actor=None, now=utcnow())
    except ValidationFailed as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Opened survey round {opened.id}: {opened.name}.")


@union_group.command("close-survey-round")
@click.option(
    "--round", "round_id", type=int, help="The round to close; default: the open one."
)
def close_survey_round(round_id: int | None) -> None:
    """Close the open survey round and compute its reports, once and for good."""
    found = (
        db.session.get(SurveyRound, round_id) if round_id else survey.current_round()
    )
    if found is None:
        raise click.ClickException("No survey round is open.")
    if not found.is_open:
        raise click.ClickException(f"Round {found.id} is already closed.")
    started = time.monotonic()

    def progress(step: str) -> None:
        click.echo(f"  {time.monotonic() - started:6.1f}s  {step}")

    rules = Rules.from_settings(current_app.config.get("DISCLOSURE_RULES", {}))
    survey.close_round(found, actor=None, now=utcnow(), rules=rules, progress=progress)
    db.session.commit()
    click.echo(
        f"Closed round {found.id} ({found.respondents} answers) in "
        f"{time.monotonic() - started:.1f}s; its reports are stored."
    )


@union_group.command("send-dues-reminders")
def send_dues_reminders() -> None:
    """Email members who are falling behind, at most once per member per month
    (the worker also does this every day)."""
    with current_app.test_request_context(base_url=_base_url()):
        queued = worker.remind_dues(now=utcnow())
        handoff.commit()
    click.echo(f"Reminders: {queued} queued to send.")


@union_group.command("reconcile-stripe")
@click.option(
    "--repair", is_flag=True, help="Correct the ledger and subscription states."
)
@click.option(
    "--days", default=90, show_default=True, help="How far back to compare invoices."
)
def reconcile_stripe(repair: bool, days: int) -> None:
    """Compare the ledger and card subscriptions with Stripe; report (or repair) drift."""
    try:
        drifts = card_dues.reconcile(
            current_app.extensions["union_payments"],
            now=utcnow(),
            repair=repair,
            days=days,
        )
    except card_dues.CardPaymentsUnavailable as error:
        db.session.rollback()
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    db.session.commit()
    for drift in drifts:
        state = "repaired" if drift.repaired else "found"
        click.echo(f"{state}: {drift.kind}: {drift.detail}")
    left = [drift for drift in drifts if not drift.repaired]
    if repair:
        click.echo(f"{len(drifts) - len(left)} differences repaired.")
    if left or not repair:
        # Some drift (a refund whose payment never came, an object Stripe sent
        # that cannot be read) is for a person to look into: --repair cannot make
        # it go away, so it still fails the run.
        click.echo(f"{len(left)} differences found.")
    if left:
        sys.exit(2)


def _base_url() -> str:
    """The public address, so that whatever a command renders reads as the app."""
    return str(current_app.config["PUBLIC_URL"])


@union_group.command("send-grievance-reminders")
def send_grievance_reminders() -> None:
    """Email stewards about grievance deadlines 3 days before, 1 day before and on
    the day (the worker also does this every hour). Safe to run as often as you
    like: each reminder is claimed and queued together, so it goes out once."""
    with current_app.test_request_context(base_url=_base_url()):
        queued = worker.remind_grievance_deadlines(now=utcnow())
        handoff.commit()
    click.echo(f"Grievance reminders: {queued} queued to send.")


@union_group.command("worker")
@click.option("--workers", default=2, show_default=True, help="Threads running jobs.")
@click.option(
    "--no-schedule",
    is_flag=True,
    help="Run jobs only; leave the schedule to other workers.",
)
def worker_command(workers: int, no_schedule: bool) -> None:
    """Run jobs from the queue (QUEUE_URL): emails, join applications, the
    schedule. Start as many as you like, on as many machines: each job and each
    scheduled period runs once."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker.run_worker(app, workers=workers, periodic=not no_schedule)


@union_group.command("run-jobs")
def run_jobs() -> None:
    """Run every job that is due, here and now, then stop (for operators, and
    for a machine with no worker running)."""
    ran = jobs.run_due(now=utcnow(), waker=handoff.waker())
    backlog = jobs.backlog()
    click.echo(f"Ran {ran} jobs; {backlog.waiting} waiting, {backlog.parked} parked.")


@union_group.command("retry-jobs")
def retry_jobs() -> None:
    """Put every parked job back in line for a fresh set of attempts."""
    parked = [job.id for job in jobs.parked(limit=10_000)]
    if not parked:
        click.echo("No parked jobs.")
        return
    retried = jobs.retry(None, parked, now=utcnow())
    handoff.commit()
    click.echo(f"{retried} parked jobs are back in line.")


@union_group.command("new-key")
def new_key() -> None:
    """Print a new random encryption key, for ENCRYPTION_KEYS."""
    click.echo(crypto.new_key())


@union_group.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt everything under the first of ENCRYPTION_KEYS.

    To rotate: put a new key first in ENCRYPTION_KEYS (keep the old ones after it),
    restart, run this, then remove the old keys.
    """
    counts = keys.rotate_keys(
        storage=current_app.extensions["union_documents"], now=utcnow()
    )
    db.session.commit()
    click.echo(f"Re-encrypted {sum(counts.values())} values and documents.")


@union_group.command("move-documents")
@click.option(
    "--to",
    "destination_kind",
    type=click.Choice(["s3", "folder"]),
    required=True,
    help="s3: from the folder to the S3 store; folder: back again.",
)
def move_documents(destination_kind: str) -> None:
    """Move the grievance documents from the folder to the S3 store, or back.

    Stop the app first (or at least uploads), run this, then set DOCUMENT_STORAGE
    to the new store and start the app again. Each document is checked against
    the SHA-256 recorded at upload before it is copied, read back from the new
    store and compared, and only then removed from the old one. If it stops, fix
    what it names and run it again: documents already moved are skipped.
    """
    from union.adapters.s3 import S3Settings, S3Storage, StoreUnavailable

    config = current_app.config
    if not config.get("DOCUMENT_S3_BUCKET"):
        raise click.ClickException(
            "Set DOCUMENT_S3_BUCKET and the other DOCUMENT_S3_ settings first."
        )
    s3_store = S3Storage(S3Settings.from_config(config))
    stores: dict[str, DocumentStorage] = {
        "folder": storage_from_config(config, "folder"),
        "s3": s3_store,
    }
    names = {
        "folder": f"the folder {config['DOCUMENT_STORAGE_PATH']}",
        "s3": s3_store.settings.describe(),
    }
    source_kind = "folder" if destination_kind == "s3" else "s3"
    try:
        s3_store.check_writable()
    except StoreUnavailable as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(
        f"Moving documents from {names[source_kind]} to {names[destination_kind]}."
    )
    with click.progressbar(length=1, label="Documents", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        try:
            result = document_moves.move_documents(
                source=stores[source_kind],
                destination=stores[destination_kind],
                source_name=names[source_kind],
                destination_name=names[destination_kind],
                now=utcnow(),
                progress=progress,
            )
        except (document_moves.MoveStopped, StoreUnavailable) as error:
            db.session.rollback()
            click.echo(f"\nerror: {error}.", err=True)
            click.echo(
                "Stopped; the documents before it are moved. Run this again once "
                "it is fixed: those are skipped.",
                err=True,
            )
            sys.exit(1)
    db.session.commit()
    click.echo(
        f"Moved {result.moved} documents; {result.already_there} were already there."
    )
    if config["DOCUMENT_STORAGE"] != destination_kind:
        click.echo(f"Now set DOCUMENT_STORAGE={destination_kind} and restart the app.")


@union_group.command("apply-retention")
def apply_retention() -> None:
    """Remove what has been kept past its period (see RETENTION_* settings).

    Safe to run as often as you like (daily from cron, say): a second run finds
    nothing more to remove. Each run is recorded in the audit log.
    """
    periods = retention.RetentionPeriods.from_days(current_app.config["RETENTION_DAYS"])
    counts = retention.apply_retention(
        periods, now=utcnow(), storage=current_app.extensions["union_documents"]
    )
    db.session.commit()
    for name, count in counts.items():
        click.echo(f"{name.replace('_', ' ')}: {count}")


@union_group.command("backup")
@click.argument(
    "destination", type=click.Path(file_okay=False, path_type=Path), default="backups"
)
def backup_command(destination: Path) -> None:
    """Back up the database and the grievance documents into a new folder under
    DESTINATION (default: ./backups). SQLite is copied with its online backup; on
    PostgreSQL this runs pg_dump. The encryption keys are not included: keep them
    apart, and safe."""
    try:
        result = backup.make_backup(
            db.engine,
            Path(current_app.config["DOCUMENT_STORAGE_PATH"]),
            destination,
            now=utcnow(),
        )
    except backup.BackupError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(
        f"Backed up the database ({result.database_file}) and "
        f"{result.documents} documents to {result.folder}"
    )
    if current_app.config["DOCUMENT_STORAGE"] == "s3":
        click.echo(
            "The grievance documents are in the S3 store, not in this backup: "
            "keep the bucket versioned or replicated."
        )


@union_group.command("check-deploy")
def check_deploy() -> None:
    """Check this server's configuration as production reads it: secrets, keys,
    the database and its schema, Redis, mail, Stripe, the document folder, the
    public address and proxies. Names every problem; exits 1 if there is any."""
    report = deploy_check.check_deployment(
        os.environ, Path(current_app.instance_path), migrations=ROOT / "migrations"
    )
    for sentence in report.passed:
        click.echo(f"ok: {sentence}")
    for problem in report.problems:
        click.echo(f"problem: {problem}", err=True)
    if not report.ok:
        click.echo(f"{len(report.problems)} problem(s) to fix.", err=True)
        sys.exit(1)
    click.echo("Ready to serve.")


@union_group.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(folder: Path, yes: bool) -> None:
    """Restore a backup made by `union backup`, replacing the whole database.
    Stop the app first; afterwards run `flask --app wsgi db upgrade`."""
    if not yes:
        click.confirm(
            f"Replace everything in the database with the backup in {folder}?",
            abort=True,
        )
    db.session.remove()
    try:
        manifest = backup.restore_backup(
            db.engine, Path(current_app.config["DOCUMENT_STORAGE_PATH"]), folder
        )
    except backup.BackupError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(
        f"Restored the backup of {manifest.get('created_at')} "
        f"(schema {manifest.get('schema_revision')}). "
        "Now run: flask --app wsgi db upgrade"
    )
    if current_app.config["DOCUMENT_STORAGE"] == "s3":
        click.echo(
            "Documents in the backup were put in the folder; the app reads the S3 "
            "store: run `union move-documents --to s3` too."
        )
