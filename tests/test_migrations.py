"""The migrations are the schema: one head, and upgrading an empty database gives
exactly what the models describe (on SQLite, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import secrets
from collections import Counter
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from tests.conftest import FIXED_NOW, config_for_tests
from union import create_app
from union.db import Base, db, made_by_migrations

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def test_there_is_exactly_one_head():
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def schema_differences(app) -> list[object]:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_name": made_by_migrations},
        )
        return list(compare_metadata(context, Base.metadata))


def test_upgrading_an_empty_database_gives_exactly_the_models_schema(
    fresh_database_url,
):
    app = create_app(config_for_tests(SQLALCHEMY_DATABASE_URI=fresh_database_url))
    with app.app_context():
        flask_migrate.upgrade()
    try:
        assert schema_differences(app) == []
    finally:
        with app.app_context():
            db.engine.dispose()


def test_every_migration_downgrades_and_upgrades_again(fresh_database_url):
    app = create_app(config_for_tests(SQLALCHEMY_DATABASE_URI=fresh_database_url))
    try:
        with app.app_context():
            flask_migrate.upgrade()
            flask_migrate.downgrade(revision="base")
            assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
            flask_migrate.upgrade()
        assert schema_differences(app) == []
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_first_migration_seeds_the_default_dues_levels(fresh_database_url):
    app = create_app(config_for_tests(SQLALCHEMY_DATABASE_URI=fresh_database_url))
    try:
        with app.app_context():
            flask_migrate.upgrade()
            rows = db.session.execute(
                sa.text(
                    "SELECT l.code, r.monthly_cents FROM dues_levels l "
                    "JOIN dues_rates r ON r.level_id = l.id ORDER BY l.position"
                )
            ).all()
            db.session.remove()
        assert [tuple(row) for row in rows] == [
            ("sub_minimum", 600),
            ("minimum", 1100),
            ("regular", 2200),
            ("high", 3300),
        ]
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_encryption_migration_encrypts_existing_rows_and_sign_in_still_works(
    fresh_database_url, tmp_path
):
    from union.services import accounts

    documents = tmp_path / "documents"
    app = create_app(
        config_for_tests(
            SQLALCHEMY_DATABASE_URI=fresh_database_url,
            DOCUMENT_STORAGE_PATH=str(documents),
        )
    )
    try:
        with app.app_context():
            flask_migrate.upgrade(revision="bf585d7ef947")
            db.session.execute(
                sa.text("INSERT INTO users (email, created_at) VALUES (:email, :at)"),
                {"email": "Old@Example.org", "at": "2026-01-01 00:00:00"},
            )
            user_id = db.session.scalar(sa.text("SELECT id FROM users"))
            columns = {
                "public_id": "p1",
                "member_number": 1001,
                "user_id": user_id,
                "chosen_name": "Old",
                "legal_name": "Legal Name",
                "phone": "416 555 0100",
                "contact_preference": "email",
                "membership_class": "employed",
                "status": "active",
                "dues_level_id": 1,
                "joined_on": "2026-01-01",
                "created_at": "2026-01-01 00:00:00",
                "updated_at": "2026-01-01 00:00:00",
            }
            names = ", ".join(columns)
            values = ", ".join(f":{name}" for name in columns)
            db.session.execute(
                sa.text(f"INSERT INTO members ({names}) VALUES ({values})"),  # noqa: S608 -- fixed names
                columns,
            )
            db.session.commit()
            flask_migrate.upgrade()
            raw = db.session.execute(
                sa.text("SELECT email, email_hash FROM users")
            ).one()
            assert "Old@Example.org" not in raw.email and raw.email_hash
            raw_member = db.session.execute(
                sa.text("SELECT legal_name, phone FROM members")
            ).one()
            assert (
                "Legal" not in raw_member.legal_name and "555" not in raw_member.phone
            )
            found = accounts.user_by_email("old@example.org")
            assert found is not None and found.email == "Old@Example.org"
            assert found.member.legal_name == "Legal Name"
            db.session.remove()
            flask_migrate.downgrade(revision="bf585d7ef947")
            assert (
                db.session.scalar(sa.text("SELECT phone FROM members"))
                == "416 555 0100"
            )
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


def seed_survey(round_statuses, wages=(2000, 2500, 3000)):
    """A workplace, a job and rounds with answers in the clear, written in SQL (the
    models may have moved on from the revision the database is at). Returns the
    round ids."""
    at = "2026-11-01 00:00:00"
    db.session.execute(
        sa.text(
            "INSERT INTO workplaces (employer, site, sector, bargaining_status, "
            "status, listed_on_join, created_at, updated_at) VALUES "
            "('Invented Agency', '', 'outreach', 'organizing', 'confirmed', "
            ":yes, :at, :at)"
        ),
        {"at": at, "yes": True},
    )
    db.session.execute(
        sa.text(
            "INSERT INTO job_classifications (name, created_at) "
            "VALUES ('Invented job', :at)"
        ),
        {"at": at},
    )
    workplace_id = db.session.scalar(sa.text("SELECT max(id) FROM workplaces"))
    job_id = db.session.scalar(sa.text("SELECT max(id) FROM job_classifications"))
    round_ids = []
    for number, status in enumerate(round_statuses):
        db.session.execute(
            sa.text(
                "INSERT INTO survey_rounds (name, status, opened_on, closed_on) "
                "VALUES (:name, :status, '2026-11-02', :closed_on)"
            ),
            {
                "name": f"Round {number}",
                "status": status,
                "closed_on": "2026-11-30" if status == "closed" else None,
            },
        )
        round_id = db.session.scalar(sa.text("SELECT max(id) FROM survey_rounds"))
        round_ids.append(round_id)
        for wage in wages:
            db.session.execute(
                sa.text(
                    "INSERT INTO survey_answers (id, round_id, workplace_id, "
                    "classification_id, hourly_wage_cents, health_benefits, "
                    "employment_type) VALUES (:id, :round_id, :workplace_id, "
                    ":job_id, :wage, :health, 'casual')"
                ),
                {
                    "id": secrets.token_hex(16),
                    "round_id": round_id,
                    "workplace_id": workplace_id,
                    "job_id": job_id,
                    "wage": wage,
                    "health": wage > 2000,
                },
            )
    db.session.commit()
    return round_ids


def test_answers_move_into_a_partition_per_round_and_back(fresh_database_url):
    app = create_app(config_for_tests(SQLALCHEMY_DATABASE_URI=fresh_database_url))
    try:
        with app.app_context():
            flask_migrate.upgrade(revision="5e2c8a7b4d19")
            round_ids = seed_survey(["open", "open"])
            listing = sa.text(
                "SELECT id, round_id, hourly_wage_cents FROM survey_answers ORDER BY id"
            )
            before = db.session.execute(listing).all()
            db.session.remove()

            flask_migrate.upgrade(revision="d5e8f3b0a724")
            assert db.session.execute(listing).all() == before
            if db.engine.dialect.name == "postgresql":
                for round_id in round_ids:
                    in_partition = db.session.scalar(
                        sa.text(f"SELECT count(*) FROM survey_answers_round_{round_id}")  # noqa: S608
                    )
                    assert in_partition == 3
                empty = sa.text("SELECT count(*) FROM survey_answers_default")
                assert db.session.scalar(empty) == 0
            db.session.remove()

            flask_migrate.downgrade(revision="5e2c8a7b4d19")
            assert db.session.execute(listing).all() == before
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


ANSWER_VALUES = (
    "SELECT round_id, workplace_id, classification_id, employment_type, "
    "hourly_wage_cents, health_benefits FROM survey_answers"
)


def answer_values(round_id=None):
    """The answers as a multiset, leaving out their ids (closing gives new ones)."""
    where = "" if round_id is None else f" WHERE round_id = {int(round_id)}"
    rows = db.session.execute(sa.text(ANSWER_VALUES + where)).all()
    return Counter((*row[:5], None if row[5] is None else bool(row[5])) for row in rows)


def test_an_open_rounds_answers_are_sealed_at_upgrade_and_opened_at_downgrade(
    fresh_database_url,
):
    """A round open when this version is installed has answers in the clear, in
    the order they came: the upgrade seals them to a new key for the round and
    drops the clear rows; closing the round opens them all. A closed round's
    answers stay as they are. Downgrading opens an open round's boxes back into
    answer rows."""
    from union.models import SurveyRound
    from union.services import survey

    app = create_app(config_for_tests(SQLALCHEMY_DATABASE_URI=fresh_database_url))
    wages = tuple(range(2000, 2600, 25))
    try:
        with app.app_context():
            flask_migrate.upgrade(revision="e7a1c9d3f5b2")
            closed_id, open_id = seed_survey(["closed", "open"], wages=wages)
            closed_before, open_before = (
                answer_values(closed_id),
                answer_values(open_id),
            )
            assert sum(open_before.values()) == len(wages)
            db.session.remove()

            flask_migrate.upgrade(revision="a1d3da1a3a0b")
            assert answer_values(closed_id) == closed_before
            assert answer_values(open_id) == Counter()
            count = sa.text(
                "SELECT count(*) FROM survey_sealed_answers WHERE round_id = :id"
            )
            assert db.session.scalar(count, {"id": open_id}) == len(wages)
            assert db.session.scalar(count, {"id": closed_id}) == 0
            keys = db.session.execute(
                sa.text("SELECT round_id, sealing_key FROM survey_round_keys")
            ).all()
            assert [k.round_id for k in keys] == [open_id]
            if db.engine.dialect.name == "postgresql":
                partition = f"survey_sealed_answers_round_{open_id}"
                own = sa.text(f"SELECT count(*) FROM {partition}")  # noqa: S608
                assert db.session.scalar(own) == len(wages)
            db.session.remove()

            flask_migrate.downgrade(revision="d5e8f3b0a724")
            assert answer_values(open_id) == open_before
            assert answer_values(closed_id) == closed_before
            db.session.remove()

            flask_migrate.upgrade()
            survey_round = db.session.get(SurveyRound, open_id)
            survey.close_round(survey_round, actor=None, now=FIXED_NOW)
            db.session.commit()
            assert answer_values(open_id) == open_before
            assert db.session.scalar(count, {"id": open_id}) == 0
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_sealing_at_upgrade_needs_the_encryption_keys(fresh_database_url, caplog):
    app = create_app(config_for_tests(SQLALCHEMY_DATABASE_URI=fresh_database_url))
    try:
        with app.app_context():
            flask_migrate.upgrade(revision="e7a1c9d3f5b2")
            (open_id,) = seed_survey(["open"])
            db.session.remove()
            app.config["ENCRYPTION_KEYS"] = []
            with pytest.raises(SystemExit):
                flask_migrate.upgrade(revision="a1d3da1a3a0b")
            assert "run this migration with the app's configuration" in caplog.text
            db.session.remove()
            # Nothing changed, and nothing was lost: the answers are still there.
            version = db.session.scalar(
                sa.text("SELECT version_num FROM alembic_version")
            )
            assert version == "e7a1c9d3f5b2"
            assert sum(answer_values(open_id).values()) == 3
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_existing_case_titles_are_made_searchable_at_upgrade(fresh_database_url):
    """Cases opened before titles had word hashes get them from the migration,
    and are found like new ones; erased cases have no title to hash."""
    from union.adapters import crypto
    from union.models import Role, RoleGrant, User
    from union.services import grievances

    app = create_app(config_for_tests(SQLALCHEMY_DATABASE_URI=fresh_database_url))
    try:
        with app.app_context():
            flask_migrate.upgrade(revision="b4c2e8f1a9d3")
            seed_survey([])
            workplace_id = db.session.scalar(sa.text("SELECT max(id) FROM workplaces"))
            for number, (title, erased_at) in enumerate(
                (
                    ("Overnight shifts alone", None),
                    ("Overnight again", "2026-11-30 00:00:00"),
                )
            ):
                db.session.execute(
                    sa.text(
                        "INSERT INTO grievances (public_id, number, workplace_id, "
                        "category, title, what_happened, remedy_sought, step, "
                        "opened_on, created_at, updated_at, erased_at) VALUES "
                        "(:public_id, :number, :workplace_id, 'other', :title, "
                        ":what, :what, 'intake', '2026-11-01', :at, :at, :erased_at)"
                    ),
                    {
                        "public_id": f"case{number}",
                        "number": f"2026-{number:04d}",
                        "workplace_id": workplace_id,
                        "title": crypto.encrypt(title),
                        "what": crypto.encrypt(""),
                        "at": "2026-11-01 00:00:00",
                        "erased_at": erased_at,
                    },
                )
            db.session.commit()
            flask_migrate.upgrade()
            admin = User(
                email="admin@example.org",
                created_at=FIXED_NOW,
                role_grants=[RoleGrant(role=Role.ADMIN, granted_at=FIXED_NOW)],
            )
            db.session.add(admin)
            db.session.flush()
            found = grievances.case_list(admin, query="overn shifts")
            assert [case.number for case in found.items] == ["2026-0000"]
            assert grievances.case_list(admin, query="again").total == 0
            db.session.rollback()
            db.session.remove()
            flask_migrate.downgrade(revision="b4c2e8f1a9d3")
            tables = sa.inspect(db.engine).get_table_names()
            assert "grievance_title_words" not in tables
    finally:
        with app.app_context():
            db.engine.dispose()
