"""A member raising a problem at work online, and who they can turn to."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from union.db import db
from union.errors import NotFound, ValidationFailed
from union.models import (
    AuditEvent,
    ContactPreference,
    GrievanceCategory,
    GrievanceEventKind,
    GrievanceStep,
    PaymentMethod,
    Role,
)
from union.services import (
    dues,
    grievances,
    ledger,
    members,
    privacy,
    representatives,
)
from union.services.grievances import RAISED_PER_DAY, Problem

WHAT_HAPPENED = "My shifts were cut after I asked about the missing sick days."


@pytest.fixture
def site(make):
    """A workplace with one steward and a member with an account working there."""
    workplace = make.workplace("Here Agency")
    steward = make.steward(workplace)
    member = make.member(workplace, account=True, name="Robin Here")
    return workplace, steward, member


def problem(workplace, **changes):
    values = {
        "what_happened": WHAT_HAPPENED,
        "workplace_id": workplace.id,
        "contact_preference": ContactPreference.EMAIL,
        "incident_on": date(2026, 11, 20),
    }
    values.update(changes)
    return Problem(**values)


def test_a_raised_problem_is_a_case_at_intake_naming_the_member(site, now):
    workplace, steward, member = site
    case = grievances.raise_problem(problem(workplace), actor=member.user, now=now)
    assert case.step is GrievanceStep.INTAKE
    assert case.deadline_on == date(2026, 12, 6)
    assert case.grievants == [member]
    assert case.opened_by_id == member.user.id
    assert case.is_raised_online
    assert case.contact_preference is ContactPreference.EMAIL
    assert case.what_happened == WHAT_HAPPENED
    assert case.incident_on == date(2026, 11, 20)
    assert case.category is GrievanceCategory.OTHER
    # The member's own words stay out of the title, which co-grievants would see.
    assert "shifts" not in case.title
    # The one steward covering the workplace follows it.
    assert case.steward_id == steward.id
    assert [event.kind for event in case.events] == [GrievanceEventKind.OPENED]
    audited = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.subject_type == "grievance",
            AuditEvent.subject_id == str(case.id),
        )
    ).all()
    assert [row.action for row in audited] == ["grievance.raised"]
    assert all("shifts" not in (row.detail or "") for row in audited)


def test_it_is_seen_by_the_workplaces_stewards_and_admins_and_nobody_else(
    make, site, now
):
    workplace, steward, member = site
    second_steward = make.steward(workplace)
    other_steward = make.steward(make.workplace("There Agency"))
    admin = make.user(roles=(Role.ADMIN,))
    organizer = make.user(roles=(Role.ORGANIZER,))
    case = grievances.raise_problem(problem(workplace), actor=member.user, now=now)
    # With two stewards covering the workplace, neither is picked for them.
    assert case.steward_id is None
    for reader in (steward, second_steward, admin):
        assert grievances.grievance_for(reader, case.public_id) is case
    for outsider in (other_steward, organizer, member.user):
        with pytest.raises(NotFound):
            grievances.grievance_for(outsider, case.public_id)
    board = grievances.dashboard(steward, today=now.date())
    assert [row.grievance for row in board.others] == [case]


def test_a_member_may_only_pick_a_workplace_where_they_work_now(make, site, now):
    workplace, _steward, member = site
    elsewhere = make.workplace("There Agency")
    for workplace_id in (elsewhere.id, None, 10**6):
        with pytest.raises(ValidationFailed) as refused:
            grievances.raise_problem(
                problem(workplace, workplace_id=workplace_id),
                actor=member.user,
                now=now,
            )
        assert set(refused.value.errors) == {"workplace"}
    member.employments[0].ended_on = date(2026, 11, 1)
    db.session.flush()
    assert grievances.own_workplaces(member) == []
    with pytest.raises(ValidationFailed):
        grievances.raise_problem(problem(workplace), actor=member.user, now=now)
    assert grievances.raised_problems(member.user) == []


def test_every_mistake_is_named_at_once(site, now):
    workplace, _steward, member = site
    muddled = Problem(
        what_happened="   ",
        workplace_id=None,
        contact_preference=ContactPreference.TEXT,
        incident_on=date(2026, 12, 1),
    )
    with pytest.raises(ValidationFailed) as refused:
        grievances.raise_problem(muddled, actor=member.user, now=now)
    assert set(refused.value.errors) == {
        "what_happened",
        "workplace",
        "incident_on",
        "contact_preference",
    }
    assert "no phone number" in refused.value.errors["contact_preference"][0]
    unchosen = problem(workplace, contact_preference=None, what_happened="x" * 5001)
    assert set(
        grievances.problem_errors(unchosen, member=member, today=now.date())
    ) == {"what_happened", "contact_preference"}
    member.phone = "416 555 0199"
    texted = problem(workplace, contact_preference=ContactPreference.TEXT)
    assert grievances.problem_errors(texted, member=member, today=now.date()) == {}


def test_a_member_may_raise_a_few_problems_a_day(site, now):
    workplace, _steward, member = site
    for number in range(RAISED_PER_DAY):
        grievances.raise_problem(
            problem(workplace, what_happened=f"Problem number {number}."),
            actor=member.user,
            now=now + timedelta(minutes=number),
        )
    later = now + timedelta(hours=5)
    assert not grievances.may_raise_more(member.user, now=later)
    with pytest.raises(ValidationFailed) as refused:
        grievances.raise_problem(
            problem(workplace, what_happened="One more."),
            actor=member.user,
            now=later,
        )
    assert set(refused.value.errors) == {""}
    assert "talk to a steward" in refused.value.errors[""][0]
    next_day = now + timedelta(days=1, minutes=1)
    assert grievances.may_raise_more(member.user, now=next_day)
    grievances.raise_problem(
        problem(workplace, what_happened="One more."),
        actor=member.user,
        now=next_day,
    )


def test_the_same_problem_sent_twice_opens_one_case(site, now):
    workplace, _steward, member = site
    first = grievances.raise_problem(problem(workplace), actor=member.user, now=now)
    again = grievances.raise_problem(
        problem(workplace, what_happened=f"  {WHAT_HAPPENED}\n"),
        actor=member.user,
        now=now + timedelta(seconds=2),
    )
    assert again is first
    assert [p.number for p in grievances.raised_problems(member.user)] == [first.number]


def test_a_member_sees_only_the_problems_they_raised(make, site, now):
    workplace, steward, member = site
    colleague = make.member(workplace, account=True)
    mine = grievances.raise_problem(problem(workplace), actor=member.user, now=now)
    theirs = grievances.raise_problem(problem(workplace), actor=colleague.user, now=now)
    # A case a steward opened naming the member is not one they raised.
    make.grievance(workplace, steward=steward, grievants=[member])
    [raised] = grievances.raised_problems(member.user)
    assert (raised.number, raised.workplace_name) == (mine.number, "Here Agency")
    assert raised.step is GrievanceStep.INTAKE and raised.closed_on is None
    assert grievances.raised_problem_for(member.user, mine.public_id) == raised
    with pytest.raises(NotFound):
        grievances.raised_problem_for(member.user, theirs.public_id)
    assert grievances.raised_problems(steward) == []


def test_representatives_are_the_covering_stewards_and_the_delegate(
    make, now, count_queries
):
    here, uncovered = make.workplace("Here Agency"), make.workplace("Quiet Agency")
    member = make.member(here, account=True)
    member.employments.append(
        type(member.employments[0])(workplace=uncovered, created_at=now)
    )
    sam = make.steward(here)
    sam.name = "Sam Steward"
    make.member(here, user=make.steward(here), name="Ali Chosen")
    gone = make.steward(here)
    gone.disabled_at = now
    nameless = make.steward(here)
    nameless.name = None
    db.session.flush()
    db.session.expire_all()
    member = members.own_member(member.user)

    with count_queries() as counted:
        found = representatives.representatives_of(member)
    assert counted.count <= 3
    assert [(p.workplace_name, p.steward_names) for p in found.workplaces] == [
        ("Here Agency", ("Ali Chosen", "Sam Steward")),
        ("Quiet Agency", ()),
    ]
    assert found.delegate_name is None
    # No steward's email is ever the name shown for them.
    assert nameless.email not in str(found)

    ledger.record_hand_payment(
        member,
        method=PaymentMethod.CASH,
        months=1,
        amount_cents=dues.quote(member, 1).total_cents,
        paid_on=now.date(),
        reference=None,
        actor=sam,
        now=now,
    )
    assert representatives.representatives_of(member).delegate_name == "Sam Steward"
    sam.disabled_at = now
    db.session.flush()
    assert representatives.representatives_of(member).delegate_name is None


def test_the_members_data_holds_how_they_asked_to_be_reached_and_erasure_clears_it(
    site, now
):
    workplace, _steward, member = site
    case = grievances.raise_problem(
        problem(workplace, contact_preference=ContactPreference.EMAIL),
        actor=member.user,
        now=now,
    )
    [held] = privacy.personal_data(member, now=now)["grievances"]
    assert held["raised_online"] is True
    assert held["contact_preference"] == "email"
    privacy.erase_member(member, actor=member.user, now=now, gateway=None)
    db.session.refresh(case)
    assert case.contact_preference is None
    # The case itself stays in the union's files until retention.
    assert case.is_raised_online
