"""Inviting the members a roster file added, each once, saying why others were not."""

from datetime import timedelta

import sqlalchemy as sa

from union.db import db
from union.models import (
    AccountToken,
    AuditEvent,
    Member,
    Role,
    RosterImport,
    TokenPurpose,
    User,
    email_digest,
)
from union.rules.passwords import hash_password
from union.services import accounts, invitations, roster

HEADER = "chosen_name,email,status,dues_level\n"
WEEK = timedelta(days=7)


def imported(text, *, now, actor=None):
    result = roster.import_roster(HEADER + text, actor=actor, now=now)
    assert result.ok, result.errors
    assert result.import_id is not None
    return db.session.get(RosterImport, result.import_id)


def account(email):
    return db.session.scalar(
        sa.select(User).where(User.email_hash == email_digest(email))
    )


def test_an_import_remembers_who_it_added_and_who_imported_it(make, now):
    admin = make.user(roles=(Role.ADMIN,))
    before = make.member()

    added = imported(
        "Ash,ash@example.org,active,11\nBo,,active,11\n", now=now, actor=admin
    )

    assert (added.members_added, added.imported_by_id, added.imported_at) == (
        2,
        admin.id,
        now,
    )
    ids = db.session.scalars(
        sa.select(Member.chosen_name).where(Member.roster_import_id == added.id)
    ).all()
    assert sorted(ids) == ["Ash", "Bo"]
    assert before.roster_import_id is None
    assert invitations.latest_import() == added


def test_everyone_is_counted_with_the_reason_they_would_not_be_invited(make, now):
    added = imported(
        "Ash,ash@example.org,active,11\n"
        "Bay,bay@example.org,applicant,11\n"
        "Cy,,active,11\n"
        "Di,di@example.org,resigned,11\n"
        "Ed,ed@example.org,active,11\n"
        "Flo,flo@example.org,active,11\n",
        now=now,
    )
    account("ed@example.org").password_hash = hash_password("a good long password")
    account("flo@example.org").invited_at = now - WEEK
    db.session.flush()

    assert invitations.invitations(added) == invitations.Invitations(
        to_invite=2, already_set_up=1, already_invited=1, no_email=1, left=1
    )


def test_inviting_marks_gives_a_link_and_audits_once(make, now):
    admin = make.user(roles=(Role.ADMIN,))
    added = imported(
        "Ash,ash@example.org,active,11\nCy,,active,11\nDi,di@example.org,resigned,11\n",
        now=now,
    )

    outcome = invitations.invite_imported_members(
        added, actor=admin, now=now, lifetime=WEEK
    )

    [(user, token)] = outcome.sent
    assert user.email == "ash@example.org" and user.display_name == "Ash"
    assert outcome.skipped == invitations.Invitations(no_email=1, left=1)
    db.session.expire_all()
    assert account("ash@example.org").invited_at == now
    assert account("di@example.org").invited_at is None
    row = accounts.valid_token(token, TokenPurpose.ACTIVATE, now=now)
    assert row.user_id == user.id and row.expires_at == now + WEEK
    assert db.session.scalar(
        sa.select(sa.func.count()).where(
            AuditEvent.action == "roster.invited",
            AuditEvent.subject_id == str(added.id),
            AuditEvent.detail == "invited=1",
        )
    )

    again = invitations.invite_imported_members(
        added, actor=admin, now=now, lifetime=WEEK
    )

    assert again.sent == []
    assert again.skipped == invitations.Invitations(
        already_invited=1, no_email=1, left=1
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                AccountToken.purpose == TokenPurpose.ACTIVATE
            )
        )
        == 1
    )


def test_only_the_members_of_that_import_are_invited(make, now):
    admin = make.user(roles=(Role.ADMIN,))
    first = imported("Ash,ash@example.org,active,11\n", now=now)
    second = imported("Bo,bo@example.org,active,11\n", now=now)
    make.member(email="joined@example.org")

    outcome = invitations.invite_imported_members(
        second, actor=admin, now=now, lifetime=WEEK
    )

    assert [user.email for user, _token in outcome.sent] == ["bo@example.org"]
    assert invitations.invitations(first).to_invite == 1


def test_the_invitation_link_sets_the_password(make, now):
    from union.services import members

    admin = make.user(roles=(Role.ADMIN,))
    added = imported("Ash,ash@example.org,active,11\n", now=now)
    [(user, token)] = invitations.invite_imported_members(
        added, actor=admin, now=now, lifetime=WEEK
    ).sent

    members.finish_joining(token, "a good long pass phrase", now=now)

    assert user.password_hash is not None and user.email_confirmed_at == now
    assert invitations.invitations(added).already_set_up == 1


def test_an_earlier_unused_activation_link_stops_working(make, now):
    user = make.user(password=False)
    earlier = accounts.issue_token(user, TokenPurpose.ACTIVATE, now=now, lifetime=WEEK)

    [token] = accounts.issue_tokens(
        [user.id], TokenPurpose.ACTIVATE, now=now, lifetime=WEEK
    ).values()

    assert (
        accounts.valid_token(token, TokenPurpose.ACTIVATE, now=now).user_id == user.id
    )
    db.session.expire_all()
    import pytest

    from union.services.accounts import TokenInvalid

    with pytest.raises(TokenInvalid):
        accounts.valid_token(earlier, TokenPurpose.ACTIVATE, now=now)
