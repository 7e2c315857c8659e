"""Applications waiting, oldest first, and accepting each exactly once."""

from datetime import date

import pytest
import sqlalchemy as sa

from union.db import db
from union.errors import InvalidTransition
from union.models import AuditEvent, Member, MemberStatus, Role
from union.services import members


def test_the_list_holds_the_actors_applicants_oldest_first(make):
    here, there = make.workplace(), make.workplace()
    steward = make.steward(here)
    newer = make.member(
        here, status=MemberStatus.APPLICANT, joined_on=date(2026, 11, 20)
    )
    older = make.member(
        here, status=MemberStatus.APPLICANT, joined_on=date(2026, 11, 2)
    )
    make.member(here)
    make.member(there, status=MemberStatus.APPLICANT, joined_on=date(2026, 10, 1))

    page = members.applicants_page(steward)

    assert [m.id for m in page.items] == [older.id, newer.id]
    assert page.total == 2


def test_applications_among_leaves_out_what_the_actor_may_not_accept(make):
    here, there = make.workplace(), make.workplace()
    steward = make.steward(here)
    mine = make.member(here, status=MemberStatus.APPLICANT)
    active = make.member(here)
    elsewhere = make.member(there, status=MemberStatus.APPLICANT)

    found = members.applications_among(
        steward,
        {mine.public_id, active.public_id, elsewhere.public_id, "no-such-member"},
    )

    assert found == [mine]
    assert members.applications_among(steward, set()) == []


def test_an_application_accepted_meanwhile_is_not_accepted_again(make, now):
    admin = make.user(roles=(Role.ADMIN,))
    applicant = make.member(make.workplace(), status=MemberStatus.APPLICANT)
    # Another steward's acceptance, committed after this request loaded the row.
    db.session.execute(
        sa.update(Member)
        .where(Member.id == applicant.id)
        .values(status=MemberStatus.ACTIVE)
        .execution_options(synchronize_session=False)
    )

    with pytest.raises(InvalidTransition):
        members.accept_application(applicant, actor=admin, now=now)

    assert applicant.accepted_by_id is None
    assert not db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "member.accepted")
    )


def test_accepting_records_who_and_when_once(make, now):
    admin = make.user(roles=(Role.ADMIN,))
    applicant = make.member(make.workplace(), status=MemberStatus.APPLICANT)

    members.accept_application(applicant, actor=admin, now=now)

    assert (applicant.status, applicant.accepted_on, applicant.accepted_by_id) == (
        MemberStatus.ACTIVE,
        now.date(),
        admin.id,
    )
    with pytest.raises(InvalidTransition):
        members.accept_application(applicant, actor=admin, now=now)
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "member.accepted")
        )
        == 1
    )
