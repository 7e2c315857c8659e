from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from union.db import db
from union.errors import InvalidTransition, NotFound, ValidationFailed
from union.models import (
    ContactPreference,
    Employment,
    Member,
    MembershipClass,
    MemberStatus,
    Role,
    TokenPurpose,
    User,
    Workplace,
    WorkplaceStatus,
)
from union.services import accounts, members, scope, settings
from union.services.members import (
    JoinApplication,
    JoinKind,
    NewWorkplace,
    PersonalDetails,
)

WEEK = timedelta(days=7)


def application(make, **changes):
    details = PersonalDetails(
        chosen_name=changes.pop("chosen_name", "Robin"),
        contact_preference=changes.pop("contact_preference", ContactPreference.EMAIL),
        membership_class=changes.pop("membership_class", MembershipClass.EMPLOYED),
        phone=changes.pop("phone", None),
    )
    if "workplace_id" not in changes and "new_workplace" not in changes:
        changes["workplace_id"] = make.workplace().id
    return JoinApplication(
        details=details,
        email=changes.pop("email", "robin@example.org"),
        dues_level_id=changes.pop("dues_level_id", make.level("regular").id),
        **changes,
    )


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_joining_makes_an_applicant_with_a_number_a_job_and_an_activation_link(
    make, now
):
    workplace = make.workplace()
    job = make.classification("Peer worker")
    outcome = members.join(
        application(make, workplace_id=workplace.id, classification_id=job.id),
        now=now,
        activation_lifetime=WEEK,
    )
    assert outcome.kind is JoinKind.NEW
    member = outcome.user.member
    assert member.status is MemberStatus.APPLICANT
    assert member.member_number >= 1001
    assert member.dues_level.code == "regular"
    assert [(j.workplace, j.classification) for j in member.employments] == [
        (workplace, job)
    ]
    assert outcome.user.password_hash is None
    assert accounts.valid_token(
        outcome.activation_token, TokenPurpose.ACTIVATE, now=now
    )


def test_member_numbers_increase_and_never_repeat(make, now):
    first = members.join(
        application(make, email="a@example.org"), now=now, activation_lifetime=WEEK
    )
    second = members.join(
        application(make, email="b@example.org"), now=now, activation_lifetime=WEEK
    )
    assert second.user.member.member_number == first.user.member.member_number + 1


def test_joining_with_a_used_email_changes_nothing(make, now):
    existing = make.user("taken@example.org")
    before = (count(User), count(Member), count(Workplace))
    outcome = members.join(
        application(
            make, email="Taken@Example.org", new_workplace=NewWorkplace("New Agency")
        ),
        now=now,
        activation_lifetime=WEEK,
    )
    assert outcome.kind is JoinKind.ALREADY_REGISTERED
    assert outcome.user is existing
    assert outcome.activation_token is None
    assert (count(User), count(Member), count(Workplace)) == before


def test_joining_with_the_email_of_an_account_without_password_sends_a_setup_link(
    make, now
):
    imported = make.member(email="imported@example.org")
    outcome = members.join(
        application(make, email="imported@example.org"),
        now=now,
        activation_lifetime=WEEK,
    )
    assert outcome.kind is JoinKind.ALREADY_REGISTERED
    assert outcome.user is imported.user
    assert outcome.activation_token is not None


def test_an_unlisted_workplace_becomes_a_pending_one_for_organizers(make, now):
    outcome = members.join(
        application(make, new_workplace=NewWorkplace(" Westend Van ", "Nights")),
        now=now,
        activation_lifetime=WEEK,
    )
    workplace = outcome.user.member.employments[0].workplace
    assert (workplace.employer, workplace.site) == ("Westend Van", "Nights")
    assert workplace.status is WorkplaceStatus.PENDING
    assert workplace.listed_on_join is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"chosen_name": "  "}, "chosen_name"),
        ({"phone": "call me maybe"}, "phone"),
        ({"contact_preference": ContactPreference.TEXT}, "phone"),
        ({"dues_level_id": 999}, "dues_level"),
        ({"workplace_id": 999}, "workplace"),
        ({"classification_id": 999}, "classification"),
        ({"new_workplace": NewWorkplace("  ")}, "new_employer"),
    ],
)
def test_each_bad_answer_is_named_and_nothing_is_saved(make, now, change, field):
    before = count(Member)
    with pytest.raises(ValidationFailed) as raised:
        members.join(application(make, **change), now=now, activation_lifetime=WEEK)
    assert field in raised.value.errors
    assert count(Member) == before


def test_employed_people_must_say_where_they_work(make, now):
    with pytest.raises(ValidationFailed) as raised:
        members.join(
            application(make, workplace_id=None), now=now, activation_lifetime=WEEK
        )
    assert "workplace" in raised.value.errors


def test_unemployed_people_and_students_need_no_workplace(make, now):
    outcome = members.join(
        application(make, workplace_id=None, membership_class=MembershipClass.STUDENT),
        now=now,
        activation_lifetime=WEEK,
    )
    assert outcome.user.member.employments == []


@pytest.mark.parametrize(
    "workplace_kwargs",
    [{"status": WorkplaceStatus.PENDING}, {"listed": False}],
)
def test_hidden_or_unconfirmed_workplaces_cannot_be_picked(make, now, workplace_kwargs):
    hidden = make.workplace(**workplace_kwargs)
    with pytest.raises(ValidationFailed):
        members.join(
            application(make, workplace_id=hidden.id), now=now, activation_lifetime=WEEK
        )


def test_a_retired_level_cannot_be_picked(make, now):
    level = make.level("high")
    level.retired_on = now.date()
    with pytest.raises(ValidationFailed):
        members.join(
            application(make, dues_level_id=level.id), now=now, activation_lifetime=WEEK
        )


@pytest.mark.parametrize(
    ("auto_accept", "status"),
    [(False, MemberStatus.APPLICANT), (True, MemberStatus.ACTIVE)],
)
def test_confirming_the_email_accepts_only_when_the_union_says_so(
    make, now, auto_accept, status
):
    admin = make.user(roles=(Role.ADMIN,))
    settings.update_settings(
        {"auto_accept_applicants": auto_accept}, actor=admin, now=now
    )
    outcome = members.join(application(make), now=now, activation_lifetime=WEEK)
    user = members.finish_joining(outcome.activation_token, "my new password", now=now)
    assert user.member.status is status
    assert user.email_confirmed_at == now


def test_accepting_records_who_and_when(make, now):
    steward = make.user(roles=(Role.STEWARD,))
    applicant = make.member(status=MemberStatus.APPLICANT)
    members.accept_application(applicant, actor=steward, now=now)
    assert applicant.status is MemberStatus.ACTIVE
    assert (applicant.accepted_by_id, applicant.accepted_on) == (steward.id, now.date())
    with pytest.raises(InvalidTransition):
        members.accept_application(applicant, actor=steward, now=now)


def test_declining_removes_the_application_and_its_account(make, now):
    applicant = make.member(status=MemberStatus.APPLICANT, email="declined@example.org")
    members.decline_application(
        applicant, actor=make.user(roles=(Role.ADMIN,)), now=now
    )
    assert count(Member) == 0
    assert accounts.user_by_email("declined@example.org") is None


def test_declining_an_active_member_is_refused(make, now):
    with pytest.raises(InvalidTransition):
        members.decline_application(make.member(), actor=make.user(), now=now)


@pytest.mark.parametrize(
    ("start", "wanted", "allowed"),
    [
        (MemberStatus.ACTIVE, MemberStatus.LAPSED, True),
        (MemberStatus.ACTIVE, MemberStatus.RESIGNED, True),
        (MemberStatus.LAPSED, MemberStatus.ACTIVE, True),
        (MemberStatus.RESIGNED, MemberStatus.ACTIVE, True),
        (MemberStatus.RESIGNED, MemberStatus.LAPSED, False),
        (MemberStatus.APPLICANT, MemberStatus.ACTIVE, False),
        (MemberStatus.ACTIVE, MemberStatus.APPLICANT, False),
    ],
)
def test_status_changes_follow_the_rules(make, now, start, wanted, allowed):
    member = make.member(status=start)
    if allowed:
        members.change_status(member, wanted, actor=make.user(), now=now)
        assert member.status is wanted
        assert (member.left_on is not None) == (wanted is MemberStatus.RESIGNED)
    else:
        with pytest.raises(InvalidTransition):
            members.change_status(member, wanted, actor=make.user(), now=now)
        assert member.status is start


def test_a_steward_sees_only_members_now_working_where_they_cover(make, now):
    covered, elsewhere = make.workplace(), make.workplace()
    steward = make.steward(covered)
    here = make.member(covered)
    make.member(elsewhere)
    left = make.member(covered)
    left.employments[0].ended_on = now.date()
    db.session.flush()
    visible = db.session.scalars(scope.visible_members(steward)).all()
    assert visible == [here]


def test_admins_see_everyone_and_organizers_no_one(make):
    make.member(make.workplace())
    make.member()
    assert (
        len(
            db.session.scalars(
                scope.visible_members(make.user(roles=(Role.ADMIN,)))
            ).all()
        )
        == 2
    )
    assert (
        db.session.scalars(
            scope.visible_members(make.user(roles=(Role.ORGANIZER,)))
        ).all()
        == []
    )


def test_looking_up_a_member_out_of_scope_is_not_found(make):
    steward = make.steward(make.workplace())
    stranger = make.member(make.workplace())
    with pytest.raises(NotFound):
        members.member_for(steward, stranger.public_id)


def test_the_roster_searches_by_name_or_number_and_pages(make):
    admin = make.user(roles=(Role.ADMIN,))
    workplace = make.workplace()
    wren = make.member(workplace, name="Wren Q.")
    for index in range(12):
        make.member(workplace, name=f"Person {index:02d}")
    assert members.roster_page(admin, query="wren").items == [wren]
    assert members.roster_page(admin, query=f"#{wren.member_number}").items == [wren]
    page = members.roster_page(admin, page=2, per_page=5)
    assert (page.total, page.pages, len(page.items)) == (13, 3, 5)
    assert members.roster_page(admin, query="%").total == 0


def test_the_roster_filters_by_status_and_workplace(make):
    admin = make.user(roles=(Role.ADMIN,))
    here, there = make.workplace(), make.workplace()
    applicant = make.member(here, status=MemberStatus.APPLICANT)
    make.member(here)
    make.member(there, status=MemberStatus.APPLICANT)
    found = members.roster_page(
        admin, status=MemberStatus.APPLICANT, workplace_id=here.id
    )
    assert found.items == [applicant]


def test_the_roster_runs_the_same_queries_for_few_or_many_members(make, count_queries):
    admin = make.user(roles=(Role.ADMIN,))
    workplace = make.workplace()
    job = make.classification()
    make.member(workplace, classification=job)

    def render_page():
        page = members.roster_page(admin, per_page=50)
        return [
            (
                m.chosen_name,
                [(j.workplace.name, j.classification) for j in m.current_employments],
            )
            for m in page.items
        ]

    db.session.expire_all()
    with count_queries() as few:
        render_page()
    for _ in range(40):
        make.member(make.workplace(), classification=make.classification())
    db.session.expire_all()
    with count_queries() as many:
        render_page()
    assert many.count == few.count


def test_a_steward_can_place_members_only_at_covered_workplaces(make, now):
    covered, other = make.workplace(), make.workplace()
    steward = make.steward(covered)
    member = make.member(covered)
    with pytest.raises(ValidationFailed):
        members.add_employment(
            member,
            workplace_id=other.id,
            classification_id=None,
            started_on=None,
            actor=steward,
            now=now,
        )
    second = make.workplace()
    make.steward(second)
    admin = make.user(roles=(Role.ADMIN,))
    job = members.add_employment(
        member,
        workplace_id=second.id,
        classification_id=None,
        started_on=None,
        actor=admin,
        now=now,
    )
    assert job in member.current_employments


def test_ending_employment_needs_a_sensible_date(make, now):
    workplace = make.workplace()
    member = make.member(workplace)
    steward = make.steward(workplace)
    job = member.employments[0]
    job.started_on = date(2025, 1, 1)
    with pytest.raises(ValidationFailed):
        members.end_employment(
            member, job.id, ended_on=date(2024, 1, 1), actor=steward, now=now
        )
    members.end_employment(
        member, job.id, ended_on=date(2026, 1, 1), actor=steward, now=now
    )
    assert member.current_employments == []
    with pytest.raises(NotFound):
        members.end_employment(
            member, job.id, ended_on=date(2026, 1, 1), actor=steward, now=now
        )


def test_a_steward_ends_only_jobs_at_workplaces_they_cover(make, now):
    here, there = make.workplace(), make.workplace()
    member = make.member(here)
    there_job = members.add_employment(
        member,
        workplace_id=there.id,
        classification_id=None,
        started_on=None,
        actor=make.user(roles=(Role.ADMIN,)),
        now=now,
    )
    here_job = member.employments[0]
    steward = make.steward(here)
    for actor in (steward, make.user(roles=(Role.ORGANIZER, Role.TREASURER))):
        with pytest.raises(NotFound):
            members.end_employment(
                member, there_job.id, ended_on=date(2026, 1, 1), actor=actor, now=now
            )
    assert there_job.ended_on is None
    members.end_employment(
        member, here_job.id, ended_on=date(2026, 1, 1), actor=steward, now=now
    )
    assert here_job.ended_on == date(2026, 1, 1)
    members.end_employment(
        member,
        there_job.id,
        ended_on=date(2026, 1, 1),
        actor=make.user(roles=(Role.ADMIN,)),
        now=now,
    )
    assert member.current_employments == []


def test_updating_details_trims_and_blanks_optional_fields(make, now):
    member = make.member()
    members.update_details(
        member,
        PersonalDetails(
            chosen_name="  Jo  ",
            legal_name="   ",
            pronouns=" they/them ",
            phone="416 555 0199",
            contact_preference=ContactPreference.TEXT,
            membership_class=MembershipClass.UNEMPLOYED,
        ),
        actor=make.user(),
        now=now,
    )
    assert (member.chosen_name, member.legal_name, member.pronouns) == (
        "Jo",
        None,
        "they/them",
    )
    assert member.contact_preference is ContactPreference.TEXT


def test_no_member_column_holds_income_health_or_history():
    forbidden = (
        "income", "wage", "salary", "health", "hiv", "hep", "drug", "substance",
        "criminal", "conviction", "incarcer", "prison", "lived", "experience",
        "disability", "diagnos", "homeless",
    )  # fmt: skip
    for table in (Member.__table__, User.__table__, Employment.__table__):
        for column in table.columns:
            words = column.name.split("_")
            assert not any(w.startswith(stem) for w in words for stem in forbidden), (
                column.name
            )
