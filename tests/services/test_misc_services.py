import sqlalchemy as sa

from union.db import db
from union.generate import demo
from union.models import Member, Role, User, Workplace, email_digest
from union.services import numbers, settings


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
