from datetime import UTC, date, datetime

import sqlalchemy as sa

from union.db import db
from union.generate import demo
from union.models import (
    Employment,
    Member,
    Role,
    SurveyRound,
    User,
    Workplace,
    email_digest,
)
from union.services import dues, numbers, settings


def test_numbers_continue_past_numbers_given_by_hand(make):
    first = numbers.next_number("member_number")
    numbers.reserve_through("member_number", first + 100)
    assert numbers.next_number("member_number") == first + 101
    numbers.reserve_through("member_number", 5)
    assert numbers.next_number("member_number") == first + 102


def test_a_new_sequence_starts_at_one(make):
    assert numbers.next_number("receipt_test") == 1
    assert numbers.next_number("receipt_test") == 2


def test_settings_default_change_and_audit(make, now):
    admin = make.user(roles=(Role.ADMIN,))
    assert settings.current_settings().auto_accept_applicants is False
    assert settings.update_settings(
        {"auto_accept_applicants": True}, actor=admin, now=now
    ).auto_accept_applicants


def test_the_demo_has_workplaces_about_sixty_members_and_an_account_per_role(make, now):
    count = demo.load_demo(password="demo password", now=now)
    assert 55 <= count <= 70
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Member)) == count
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Workplace)) >= 5
    for email, (_name, roles) in demo.DEMO_ACCOUNTS.items():
        user = db.session.scalar(
            sa.select(User).where(User.email_hash == email_digest(email))
        )
        assert set(roles) <= user.roles
    assert (
        Role.MEMBER
        in db.session.scalar(
            sa.select(User).where(User.email_hash == email_digest("member@example.org"))
        ).roles
    )
    assert demo.demo_loaded()


def test_the_demos_dates_are_recent_years_relative_to_today(make):
    """No amount "from January 2000": the demo's dues start a few years before
    today, before anyone joined, and its survey rounds are named for when they
    opened."""
    now = datetime(2031, 4, 10, 15, tzinfo=UTC)
    demo.load_demo(password="demo password", now=now)
    earliest_joined = db.session.scalar(sa.select(sa.func.min(Member.joined_on)))
    for level in dues.all_levels():
        started = level.rates[0].effective_on
        assert date(2028, 1, 1) <= started <= earliest_joined, level.code
    names = db.session.scalars(
        sa.select(SurveyRound.name).order_by(SurveyRound.id)
    ).all()
    assert names == ["Autumn 2030", "Spring 2031"]
    first_hired = db.session.scalar(sa.select(sa.func.min(Employment.started_on)))
    assert first_hired is not None and first_hired >= date(2024, 1, 1)
