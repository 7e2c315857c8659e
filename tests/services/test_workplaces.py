from datetime import date

import pytest
import sqlalchemy as sa

from union.clock import add_months
from union.db import db
from union.errors import NotFound, ValidationFailed
from union.models import (
    BargainingStatus,
    Employment,
    MemberStatus,
    Role,
    Sector,
    Workplace,
    WorkplaceStatus,
)
from union.services import workplaces
from union.services.workplaces import FundingDetails, WorkplaceDetails

TODAY = date(2026, 11, 22)


def test_density_counts_active_members_currently_working_there(make, now):
    workplace = make.workplace(headcount=10)
    for status in (
        MemberStatus.ACTIVE,
        MemberStatus.ACTIVE,
        MemberStatus.ACTIVE,
        MemberStatus.APPLICANT,
        MemberStatus.LAPSED,
    ):
        make.member(workplace, status=status)
    gone = make.member(workplace)
    gone.employments[0].ended_on = TODAY
    db.session.flush()
    summary = workplaces.summary_for(workplace, today=TODAY)
    assert (summary.active_members, summary.applicants) == (3, 1)
    assert summary.density == pytest.approx(0.3)


def test_density_is_unknown_without_a_headcount(make):
    assert (
        workplaces.summary_for(make.workplace(headcount=None), today=TODAY).density
        is None
    )
    assert (
        workplaces.summary_for(make.workplace(headcount=0), today=TODAY).density is None
    )


def test_grants_ending_within_six_months_make_their_positions_precarious(make):
    workplace = make.workplace()
    make.funding(workplace, ends_on=add_months(TODAY, 6), positions=2)
    make.funding(workplace, ends_on=TODAY, positions=3)
    make.funding(workplace, ends_on=add_months(TODAY, 6).replace(day=23), positions=50)
    make.funding(workplace, ends_on=date(2026, 11, 21), positions=70)
    make.funding(workplace, ends_on=None, positions=100)
    assert workplaces.summary_for(workplace, today=TODAY).precarious_positions == 5
    flags = [workplaces.is_precarious(f, TODAY) for f in workplace.funding_sources]
    assert sorted(flags) == [False, False, False, True, True]


def test_summaries_take_one_query_however_many_workplaces(make, count_queries):
    organizer = make.user(roles=(Role.ORGANIZER,))
    assert organizer.roles == {Role.ORGANIZER}
    for _ in range(3):
        make.member(make.workplace())
    with count_queries() as few:
        workplaces.summaries(organizer, today=TODAY)
    for _ in range(30):
        workplace = make.workplace()
        make.member(workplace)
        make.funding(workplace, ends_on=TODAY)
    with count_queries() as many:
        found = workplaces.summaries(organizer, today=TODAY)
    assert len(found) == 33
    assert many.count == few.count == 1


def test_stewards_see_only_the_workplaces_they_cover(make):
    covered, _other = make.workplace(), make.workplace()
    steward = make.steward(covered)
    assert [s.workplace for s in workplaces.summaries(steward, today=TODAY)] == [
        covered
    ]
    with pytest.raises(NotFound):
        workplaces.workplace_for(steward, _other.id)
    with pytest.raises(NotFound):
        workplaces.workplace_for(make.user(), covered.id)


def test_creating_and_updating_keep_the_details(make, now):
    organizer = make.user(roles=(Role.ORGANIZER,))
    job = make.classification("Kit maker")
    details = WorkplaceDetails(
        employer="  Peer Works ",
        site="Kit program",
        sector=Sector.PEER_PROGRAM,
        bargaining_status=BargainingStatus.ORGANIZING,
        contract_expires_on=date(2027, 3, 31),
        estimated_headcount=12,
        listed_on_join=False,
        classification_ids=(job.id,),
    )
    workplace = workplaces.create_workplace(details, actor=organizer, now=now)
    assert (workplace.name, workplace.status, workplace.classifications) == (
        "Peer Works \u2013 Kit program",
        WorkplaceStatus.CONFIRMED,
        [job],
    )
    with pytest.raises(ValidationFailed) as raised:
        workplaces.update_workplace(
            workplace,
            WorkplaceDetails(
                employer=" ",
                sector=Sector.OTHER,
                bargaining_status=BargainingStatus.UNORGANIZED,
                classification_ids=(999,),
            ),
            actor=organizer,
            now=now,
        )
    assert set(raised.value.errors) == {"employer", "classification_ids"}


def test_merging_a_pending_workplace_moves_its_members(make, now):
    real = make.workplace("Westend Outreach")
    typed_in = make.workplace("west end outreach van", status=WorkplaceStatus.PENDING)
    member = make.member(typed_in)
    workplaces.merge_workplace(typed_in, real, actor=make.user(), now=now)
    assert db.session.get(Workplace, typed_in.id) is None
    assert (
        db.session.scalar(
            sa.select(Employment.workplace_id).where(Employment.member_id == member.id)
        )
        == real.id
    )


def test_only_pending_workplaces_can_be_merged(make, now):
    with pytest.raises(ValidationFailed):
        workplaces.merge_workplace(
            make.workplace(), make.workplace(), actor=make.user(), now=now
        )


def test_a_workplace_merges_only_into_a_confirmed_one(make, now):
    typed_in = make.workplace("Westend Outreach", status=WorkplaceStatus.PENDING)
    also_typed = make.workplace("west end outreach", status=WorkplaceStatus.PENDING)
    member = make.member(typed_in)
    with pytest.raises(ValidationFailed) as raised:
        workplaces.merge_workplace(typed_in, also_typed, actor=make.user(), now=now)
    assert set(raised.value.errors) == {"into"}
    assert member.current_employments[0].workplace_id == typed_in.id


def test_funding_rules(make, now):
    workplace = make.workplace()
    organizer = make.user(roles=(Role.ORGANIZER,))
    with pytest.raises(ValidationFailed) as raised:
        workplaces.add_funding(
            workplace,
            FundingDetails(
                funder="",
                amount_cents=-1,
                starts_on=date(2026, 5, 1),
                ends_on=date(2026, 1, 1),
                positions_funded=-2,
            ),
            actor=organizer,
            now=now,
        )
    assert set(raised.value.errors) == {
        "funder",
        "amount",
        "ends_on",
        "positions_funded",
    }
    big = workplaces.add_funding(
        workplace,
        FundingDetails(funder="Province", amount_cents=45_000_000_00),
        actor=organizer,
        now=now,
    )
    db.session.expire_all()
    assert db.session.get(type(big), big.id).amount_cents == 45_000_000_00


def test_only_stewards_can_be_assigned(make, now):
    workplace = make.workplace()
    admin = make.user(roles=(Role.ADMIN,))
    with pytest.raises(ValidationFailed):
        workplaces.assign_steward(workplace, make.user(), actor=admin, now=now)
    steward = make.user(roles=(Role.STEWARD,))
    workplaces.assign_steward(workplace, steward, actor=admin, now=now)
    workplaces.assign_steward(workplace, steward, actor=admin, now=now)
    assert [a.user for a in workplace.steward_assignments] == [steward]
    workplaces.unassign_steward(workplace, steward.id, actor=admin, now=now)
    assert workplace.steward_assignments == []


def test_job_names_are_unique_ignoring_case_and_spacing(make, now):
    workplaces.add_classification("Outreach  worker", actor=None, now=now)
    with pytest.raises(ValidationFailed):
        workplaces.add_classification(" outreach WORKER ", actor=None, now=now)


def test_the_join_list_shows_only_confirmed_listed_workplaces(make):
    shown = make.workplace("A shown")
    make.workplace("B hidden", listed=False)
    make.workplace("C pending", status=WorkplaceStatus.PENDING)
    assert workplaces.joinable_workplaces() == [shown]
