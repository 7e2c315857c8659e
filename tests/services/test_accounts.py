from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.factories import PASSWORD
from union.db import db
from union.errors import ValidationFailed
from union.models import AuditEvent, LoginSession, Role, StewardAssignment, TokenPurpose
from union.services import accounts
from union.services.accounts import TokenInvalid

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def test_authenticate_accepts_the_right_password_and_ignores_email_case(make, now):
    user = make.user("Sam@Example.org".lower())
    assert accounts.authenticate(" SAM@example.org ", PASSWORD, now=now) is user


@pytest.mark.parametrize(
    "situation",
    ["wrong password", "unknown email", "disabled", "never chose a password"],
)
def test_authenticate_refuses_every_other_case_the_same_way(make, now, situation):
    user = make.user("sam@example.org", password=situation != "never chose a password")
    email, password = "sam@example.org", PASSWORD
    if situation == "wrong password":
        password = "not the password"
    elif situation == "unknown email":
        email = "nobody@example.org"
    elif situation == "disabled":
        user.disabled_at = now
    assert accounts.authenticate(email, password, now=now) is None


def test_a_login_session_works_until_ended(make, now):
    user = make.user()
    token = accounts.start_login_session(user, now=now, max_age=DAY * 14)
    assert (
        accounts.user_for_login_token(token, now=now + HOUR, idle_timeout=DAY) is user
    )
    accounts.end_login_session(token, now=now + HOUR)
    assert (
        accounts.user_for_login_token(token, now=now + HOUR, idle_timeout=DAY) is None
    )


def test_the_signed_in_user_is_found_by_two_lookups_by_key(make, now, count_queries):
    """Every request does this. Joined to users and members in one query, the
    session let PostgreSQL merge-join both tables from their first row up to
    this user's, which grew with the union."""
    user = make.user(roles=[Role.STEWARD])
    make.member(user=user)
    token = accounts.start_login_session(user, now=now, max_age=DAY * 14)
    db.session.commit()
    db.session.expunge_all()
    with count_queries() as counter:
        found = accounts.user_for_login_token(token, now=now + HOUR, idle_timeout=DAY)
        assert found is not None
        assert found.member is not None
        assert [grant.role for grant in found.role_grants] == [Role.STEWARD]
    session_lookup, user_lookup, *rest = counter.statements
    # An hour on, the session's "last seen" is written too: nothing else.
    assert [statement.split()[:2] for statement in rest] == [
        ["UPDATE", "login_sessions"]
    ]
    assert "JOIN" not in session_lookup.upper()
    assert "FROM login_sessions" in session_lookup
    assert "WHERE users.id =" in user_lookup


def test_only_a_hash_of_the_session_token_is_stored(make, now):
    token = accounts.start_login_session(make.user(), now=now, max_age=DAY)
    stored = db.session.scalars(sa.select(LoginSession.token_hash)).all()
    assert token not in stored
    assert accounts.digest(token) in stored


def test_a_session_ends_after_being_idle_and_at_its_maximum_age(make, now):
    user = make.user()
    token = accounts.start_login_session(user, now=now, max_age=DAY * 3)
    assert (
        accounts.user_for_login_token(token, now=now + DAY + HOUR, idle_timeout=DAY)
        is None
    )
    for hours in range(20, 72, 20):
        assert (
            accounts.user_for_login_token(
                token, now=now + HOUR * hours, idle_timeout=DAY
            )
            is user
        )
    assert (
        accounts.user_for_login_token(token, now=now + DAY * 3, idle_timeout=DAY)
        is None
    )


def test_disabling_an_account_ends_its_sessions_and_stops_sign_in(make, now):
    admin = make.user(roles=(Role.ADMIN,))
    make.user(roles=(Role.ADMIN,))
    user = make.user()
    token = accounts.start_login_session(user, now=now, max_age=DAY)
    accounts.set_disabled(user, True, actor=admin, now=now)
    assert accounts.user_for_login_token(token, now=now, idle_timeout=DAY) is None
    assert accounts.authenticate(user.email, PASSWORD, now=now) is None


def test_a_reset_link_works_once(make, now):
    user = make.user()
    token = accounts.issue_token(user, TokenPurpose.RESET, now=now, lifetime=HOUR)
    accounts.set_password_with_token(
        token, TokenPurpose.RESET, "a brand new password", now=now
    )
    assert accounts.authenticate(user.email, "a brand new password", now=now) is user
    with pytest.raises(TokenInvalid):
        accounts.set_password_with_token(
            token, TokenPurpose.RESET, "another password", now=now
        )


def test_a_reset_link_expires(make, now):
    token = accounts.issue_token(
        make.user(), TokenPurpose.RESET, now=now, lifetime=HOUR
    )
    with pytest.raises(TokenInvalid):
        accounts.valid_token(token, TokenPurpose.RESET, now=now + HOUR)


def test_a_new_link_cancels_the_older_one(make, now):
    user = make.user()
    first = accounts.issue_token(user, TokenPurpose.RESET, now=now, lifetime=HOUR)
    second = accounts.issue_token(user, TokenPurpose.RESET, now=now, lifetime=HOUR)
    with pytest.raises(TokenInvalid):
        accounts.valid_token(first, TokenPurpose.RESET, now=now)
    assert accounts.valid_token(second, TokenPurpose.RESET, now=now).user is user


def test_a_link_for_one_purpose_does_not_work_for_another(make, now):
    token = accounts.issue_token(
        make.user(), TokenPurpose.ACTIVATE, now=now, lifetime=DAY
    )
    with pytest.raises(TokenInvalid):
        accounts.valid_token(token, TokenPurpose.RESET, now=now)


def test_setting_a_password_by_link_signs_out_everywhere_and_confirms_the_email(
    make, now
):
    user = make.user(password=False)
    session_token = accounts.start_login_session(user, now=now, max_age=DAY)
    link = accounts.issue_token(user, TokenPurpose.ACTIVATE, now=now, lifetime=DAY)
    accounts.set_password_with_token(
        link, TokenPurpose.ACTIVATE, "a good passphrase", now=now
    )
    assert user.email_confirmed_at == now
    assert (
        accounts.user_for_login_token(session_token, now=now, idle_timeout=DAY) is None
    )


def test_a_too_short_password_is_refused_and_the_link_still_works(make, now):
    user = make.user()
    link = accounts.issue_token(user, TokenPurpose.RESET, now=now, lifetime=HOUR)
    db.session.commit()
    with pytest.raises(ValidationFailed) as raised:
        accounts.set_password_with_token(link, TokenPurpose.RESET, "short", now=now)
    assert "password" in raised.value.errors
    db.session.rollback()
    assert accounts.valid_token(link, TokenPurpose.RESET, now=now)


def test_change_password_needs_the_current_one(make, now):
    user = make.user()
    with pytest.raises(ValidationFailed) as raised:
        accounts.change_password(user, "wrong", "a new long password", now=now)
    assert list(raised.value.errors) == ["current_password"]
    accounts.change_password(user, PASSWORD, "a new long password", now=now)
    assert accounts.authenticate(user.email, "a new long password", now=now) is user


@pytest.mark.parametrize(
    "change", ["password changed", "password set by link", "email changed"]
)
def test_changing_the_password_or_email_ends_every_open_link(make, now, change):
    user = make.user()
    links = {
        purpose: accounts.issue_token(
            user,
            purpose,
            now=now,
            lifetime=DAY,
            new_email="new@example.org"
            if purpose is TokenPurpose.CHANGE_EMAIL
            else None,
        )
        for purpose in TokenPurpose
    }
    if change == "password changed":
        accounts.change_password(user, PASSWORD, "a new long password", now=now)
    elif change == "password set by link":
        used = links.pop(TokenPurpose.RESET)
        accounts.set_password_with_token(
            used, TokenPurpose.RESET, "a new long password", now=now
        )
    else:
        used = links.pop(TokenPurpose.CHANGE_EMAIL)
        accounts.confirm_email_change(used, now=now)
    for purpose, link in links.items():
        with pytest.raises(TokenInvalid):
            accounts.valid_token(link, purpose, now=now)


def test_a_refused_password_change_leaves_the_links_open(make, now):
    user = make.user()
    link = accounts.issue_token(user, TokenPurpose.RESET, now=now, lifetime=HOUR)
    with pytest.raises(ValidationFailed):
        accounts.change_password(user, "wrong", "a new long password", now=now)
    assert accounts.valid_token(link, TokenPurpose.RESET, now=now)


def test_roles_are_granted_once_and_audited(make, now):
    admin = make.user(roles=(Role.ADMIN,))
    user = make.user()
    accounts.grant_role(user, Role.ORGANIZER, actor=admin, now=now)
    accounts.grant_role(user, Role.ORGANIZER, actor=admin, now=now)
    assert user.roles == {Role.ORGANIZER}
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "role.granted")
    ).all()
    assert [(e.actor_id, e.subject_id, e.detail) for e in events] == [
        (admin.id, str(user.id), "role=organizer")
    ]


def test_member_is_not_a_role_an_admin_can_grant(make, now):
    with pytest.raises(ValidationFailed):
        accounts.grant_role(
            make.user(), Role.MEMBER, actor=make.user(roles=(Role.ADMIN,)), now=now
        )


def test_one_person_can_hold_several_roles(make, now):
    user = make.user(roles=(Role.STEWARD, Role.TREASURER))
    make.member(user=user)
    assert user.roles == {Role.STEWARD, Role.TREASURER, Role.MEMBER}


def test_the_last_admin_cannot_be_removed(make, now):
    admin = make.user(roles=(Role.ADMIN,))
    with pytest.raises(ValidationFailed):
        accounts.revoke_role(admin, Role.ADMIN, actor=admin, now=now)
    other = make.user(roles=(Role.ADMIN,))
    accounts.revoke_role(admin, Role.ADMIN, actor=other, now=now)
    assert Role.ADMIN not in admin.roles


def test_removing_the_steward_role_removes_the_workplaces_they_covered(make, now):
    workplace = make.workplace()
    steward = make.steward(workplace)
    accounts.revoke_role(
        steward, Role.STEWARD, actor=make.user(roles=(Role.ADMIN,)), now=now
    )
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(StewardAssignment))
        == 0
    )


def test_create_account_refuses_a_taken_email(make, now):
    make.user("taken@example.org")
    with pytest.raises(ValidationFailed):
        accounts.create_account(
            "TAKEN@example.org", name="X", password=None, actor=None, now=now
        )


def test_accounts_page_finds_a_whole_email_or_part_of_a_name(make):
    make.user("percent@example.org", name="100% Sure")
    make.user("other@example.org", name="Other")
    found = accounts.accounts_page("100%", page=1, per_page=10).items
    assert [u.email for u in found] == ["percent@example.org"]
    assert accounts.accounts_page("_", page=1, per_page=10).total == 0
    by_email = accounts.accounts_page("OTHER@example.org", page=1, per_page=10).items
    assert [u.email for u in by_email] == ["other@example.org"]
    assert accounts.accounts_page("other@", page=1, per_page=10).total == 0


def test_emails_phones_and_legal_names_are_stored_encrypted(make):
    user = make.user("private@example.org")
    member = make.member(user=user, name="Chosen")
    member.phone, member.legal_name = "416 555 0199", "Legal Person"
    db.session.flush()
    stored = "SELECT u.email, u.email_hash, m.phone, m.legal_name FROM users u "
    raw = db.session.execute(
        sa.text(stored + "JOIN members m ON m.user_id = u.id")
    ).one()
    assert (
        "private" not in raw.email
        and "555" not in raw.phone
        and "Legal" not in raw.legal_name
    )
    assert len(raw.email_hash) == 64
    db.session.expire_all()
    assert (member.phone, member.legal_name, member.user.email) == (
        "416 555 0199",
        "Legal Person",
        "private@example.org",
    )
