"""The migrations are the schema: one head, and upgrading an empty database gives
exactly what the models describe (on SQLite, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from tests.conftest import config_for_tests
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


def test_answers_move_into_a_partition_per_round_and_back(fresh_database_url):
    from datetime import UTC, date, datetime

    from union.models import (
        BargainingStatus,
        JobClassification,
        RoundStatus,
        Sector,
        SurveyAnswer,
        SurveyRound,
        Workplace,
        WorkplaceStatus,
    )

    app = create_app(config_for_tests(SQLALCHEMY_DATABASE_URI=fresh_database_url))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    try:
        with app.app_context():
            flask_migrate.upgrade(revision="5e2c8a7b4d19")
            workplace = Workplace(
                employer="Invented Agency",
                site="",
                sector=Sector.OUTREACH,
                bargaining_status=BargainingStatus.ORGANIZING,
                status=WorkplaceStatus.CONFIRMED,
                listed_on_join=True,
                created_at=now,
            )
            job = JobClassification(name="Invented job", created_at=now)
            rounds = [
                SurveyRound(
                    name=name, status=RoundStatus.OPEN, opened_on=date(2026, 11, 2)
                )
                for name in ("First", "Second")
            ]
            db.session.add_all([workplace, job, *rounds])
            db.session.flush()
            for survey_round in rounds:
                for wage in (2000, 2500, 3000):
                    db.session.add(
                        SurveyAnswer(
                            round_id=survey_round.id,
                            workplace_id=workplace.id,
                            classification_id=job.id,
                            hourly_wage_cents=wage,
                        )
                    )
            db.session.commit()
            listing = sa.text(
                "SELECT id, round_id, hourly_wage_cents FROM survey_answers ORDER BY id"
            )
            before = db.session.execute(listing).all()
            round_ids = [r.id for r in rounds]
            db.session.remove()

            flask_migrate.upgrade()
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
