from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import PDF_BYTES, PNG_BYTES
from union.adapters.documents import LocalFolderStorage
from union.db import db
from union.errors import InvalidTransition, NotFound, ValidationFailed
from union.models import (
    AuditEvent,
    GrievanceCategory,
    GrievanceDocument,
    GrievanceEvent,
    GrievanceEventKind,
    GrievanceOutcome,
    GrievanceStep,
    Role,
    SentReminder,
    StepRecord,
)
from union.rules.grievance_steps import Urgency, can_move, is_closed
from union.services import grievances
from union.services.grievances import Closing, GrievanceDetails, NewGrievance

DETAILS = GrievanceDetails(
    category=GrievanceCategory.WAGE_DISCREPANCY,
    title="Short pay",
    what_happened="Paid $10 for a three-hour shift.",
)


@pytest.fixture
def site(make):
    workplace = make.workplace("Here Agency")
    steward = make.steward(workplace)
    return workplace, steward


def opened(site, now, *grievants, **changes):
    workplace, steward = site
    new = NewGrievance(
        workplace_id=workplace.id,
        details=changes.pop("details", DETAILS),
        grievant_ids=tuple(m.id for m in grievants),
        **changes,
    )
    return grievances.open_grievance(new, actor=steward, now=now)


def events(grievance):
    return list(
        db.session.scalars(
            sa.select(GrievanceEvent.kind)
            .where(GrievanceEvent.grievance_id == grievance.id)
            .order_by(GrievanceEvent.id)
        )
    )


def test_opening_a_case_numbers_it_by_year_and_sets_the_intake_deadline(
    make, site, now
):
    member = make.member(site[0])
    first = opened(site, now, member)
    second = opened(site, now)
    assert (first.number, second.number) == ("2026-0001", "2026-0002")
    assert first.step is GrievanceStep.INTAKE
    assert first.deadline_on == date(2026, 12, 6)
    assert first.grievants == [member] and not first.is_group
    assert second.is_group
    assert first.steward_id == site[1].id
    assert events(first) == [GrievanceEventKind.OPENED]
    assert [r.step for r in first.step_records] == [GrievanceStep.INTAKE]


def test_deadlines_use_the_unions_calendar_day(site):
    # 22:30 in Toronto on 22 November is already the 23rd in UTC.
    late_evening = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
    grievance = opened(site, late_evening)
    assert grievance.opened_on == date(2026, 11, 22)
    assert grievance.deadline_on == date(2026, 12, 6)


def test_case_numbers_start_again_each_year(site):
    opened(site, datetime(2026, 12, 31, 12, tzinfo=UTC))
    assert opened(site, datetime(2027, 1, 2, 12, tzinfo=UTC)).number == "2027-0001"


def test_grievants_must_work_at_the_workplace_and_the_steward_cover_it(make, site, now):
    elsewhere = make.member(make.workplace())
    with pytest.raises(ValidationFailed) as refused:
        opened(site, now, elsewhere)
    assert set(refused.value.errors) == {"grievants"}
    other_steward = make.steward(make.workplace())
    with pytest.raises(ValidationFailed) as refused:
        opened(site, now, steward_id=other_steward.id)
    assert set(refused.value.errors) == {"steward"}


def test_a_steward_cannot_open_a_case_at_a_workplace_they_do_not_cover(make, now):
    theirs, other = make.workplace(), make.workplace()
    steward = make.steward(theirs)
    with pytest.raises(ValidationFailed) as refused:
        grievances.open_grievance(
            NewGrievance(workplace_id=other.id, details=DETAILS),
            actor=steward,
            now=now,
        )
    assert set(refused.value.errors) == {"workplace"}


def test_an_admin_must_choose_the_steward(make, site, now):
    admin = make.user(roles=(Role.ADMIN,))
    new = NewGrievance(workplace_id=site[0].id, details=DETAILS)
    with pytest.raises(ValidationFailed):
        grievances.open_grievance(new, actor=admin, now=now)
    chosen = NewGrievance(
        workplace_id=site[0].id, details=DETAILS, steward_id=site[1].id
    )
    assert grievances.open_grievance(chosen, actor=admin, now=now).steward_id == (
        site[1].id
    )


def test_details_are_checked(site, now):
    bad = GrievanceDetails(
        category=GrievanceCategory.OTHER,
        title="  ",
        what_happened="",
        incident_on=date(2026, 11, 30),
    )
    with pytest.raises(ValidationFailed) as refused:
        opened(site, now, details=bad)
    assert set(refused.value.errors) == {"title", "what_happened", "incident_on"}


def test_moving_records_a_step_with_its_own_deadline(site, now):
    grievance = opened(site, now)
    later = now + timedelta(days=5)
    grievances.move_grievance(grievance, GrievanceStep.STEP_1, actor=site[1], now=later)
    assert grievance.step is GrievanceStep.STEP_1
    assert grievance.deadline_on == date(2026, 12, 11)
    agreed = date(2027, 1, 15)
    grievances.move_grievance(
        grievance, GrievanceStep.STEP_2, actor=site[1], now=later, deadline_on=agreed
    )
    assert grievance.deadline_on == agreed
    db.session.expire_all()
    records = [(r.step, r.deadline_on) for r in grievance.step_records]
    assert records == [
        (GrievanceStep.INTAKE, date(2026, 12, 6)),
        (GrievanceStep.STEP_1, date(2026, 12, 11)),
        (GrievanceStep.STEP_2, agreed),
    ]
    assert events(grievance) == [
        GrievanceEventKind.OPENED,
        GrievanceEventKind.MOVED,
        GrievanceEventKind.MOVED,
    ]


def test_a_workplace_can_set_its_own_days_per_step(site, now):
    workplace, steward = site
    grievances.set_step_days(
        workplace,
        {GrievanceStep.INTAKE: 10, GrievanceStep.STEP_1: 30},
        actor=steward,
        now=now,
    )
    assert grievances.effective_step_days(workplace.id) == {
        GrievanceStep.INTAKE: 10,
        GrievanceStep.STEP_1: 30,
        GrievanceStep.STEP_2: 14,
        GrievanceStep.ARBITRATION: 14,
    }
    grievance = opened(site, now)
    assert grievance.deadline_on == date(2026, 12, 2)
    grievances.move_grievance(grievance, GrievanceStep.STEP_1, actor=steward, now=now)
    assert grievance.deadline_on == date(2026, 12, 22)
    with pytest.raises(ValidationFailed) as refused:
        grievances.set_step_days(
            workplace, {GrievanceStep.STEP_2: 0}, actor=steward, now=now
        )
    assert set(refused.value.errors) == {"step_2"}


def test_a_move_the_machine_forbids_changes_nothing(site, now):
    grievance = opened(site, now)
    for wanted in (GrievanceStep.STEP_2, GrievanceStep.ARBITRATION, GrievanceStep.LOST):
        with pytest.raises(InvalidTransition):
            grievances.move_grievance(grievance, wanted, actor=site[1], now=now)
    with pytest.raises(InvalidTransition):
        grievances.close_grievance(
            grievance, Closing(GrievanceOutcome.LOST), actor=site[1], now=now
        )
    assert grievance.step is GrievanceStep.INTAKE
    assert events(grievance) == [GrievanceEventKind.OPENED]


def test_a_past_deadline_is_refused(site, now):
    grievance = opened(site, now)
    with pytest.raises(ValidationFailed):
        grievances.move_grievance(
            grievance,
            GrievanceStep.STEP_1,
            actor=site[1],
            now=now,
            deadline_on=date(2026, 11, 1),
        )


def test_closing_records_the_outcome_and_money(site, now):
    grievance = opened(site, now)
    grievances.move_grievance(grievance, GrievanceStep.STEP_1, actor=site[1], now=now)
    with pytest.raises(ValidationFailed) as refused:
        grievances.close_grievance(
            grievance, Closing(GrievanceOutcome.WON), actor=site[1], now=now
        )
    assert set(refused.value.errors) == {"remedy_obtained"}
    grievances.close_grievance(
        grievance,
        Closing(GrievanceOutcome.PARTLY_WON, 1_234_56, "Back pay for 2026."),
        actor=site[1],
        now=now,
    )
    assert (grievance.step, grievance.outcome, grievance.money_recovered_cents) == (
        GrievanceStep.RESOLVED,
        GrievanceOutcome.PARTLY_WON,
        1_234_56,
    )
    assert grievance.deadline_on is None and grievance.closed_on == date(2026, 11, 22)
    assert events(grievance)[-1] is GrievanceEventKind.OUTCOME_RECORDED
    with pytest.raises(InvalidTransition):
        grievances.close_grievance(
            grievance, Closing(GrievanceOutcome.LOST), actor=site[1], now=now
        )
    with pytest.raises(InvalidTransition):
        grievances.move_grievance(
            grievance, GrievanceStep.STEP_2, actor=site[1], now=now
        )


ACTIONS = st.one_of(
    st.sampled_from(list(GrievanceStep)).map(lambda step: ("move", step)),
    st.sampled_from(list(GrievanceOutcome)).map(lambda outcome: ("close", outcome)),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(ACTIONS, max_size=8))
def test_random_move_sequences_keep_the_case_legal_and_the_timeline_complete(
    site, now, actions
):
    grievance = opened(site, now)
    succeeded = []
    for kind, target in actions:
        before = grievance.step
        try:
            if kind == "move":
                grievances.move_grievance(grievance, target, actor=site[1], now=now)
            else:
                grievances.close_grievance(
                    grievance, Closing(target, 0, "Settled."), actor=site[1], now=now
                )
        except InvalidTransition:
            assert grievance.step is before
            continue
        assert can_move(before, grievance.step)
        succeeded.append(grievance.step)
    db.session.expire(grievance)
    history = [GrievanceStep.INTAKE, *succeeded]
    assert [r.step for r in grievance.step_records] == history
    assert [e.step for e in grievance.events] == [None, *succeeded]
    assert grievance.is_open == (not is_closed(history[-1]))
    assert all(not is_closed(step) for step in history[:-1])


def test_notes_documents_and_people_are_added_to_the_timeline(make, site, now):
    workplace, steward = site
    grievance = opened(site, now)
    note = grievances.add_note(
        grievance, "  Met the manager.  ", actor=steward, now=now
    )
    assert note.body == "Met the manager."
    with pytest.raises(ValidationFailed):
        grievances.add_note(grievance, "   ", actor=steward, now=now)
    member = make.member(workplace)
    grievances.add_grievant(grievance, member.id, actor=steward, now=now)
    with pytest.raises(ValidationFailed):
        grievances.add_grievant(grievance, member.id, actor=steward, now=now)
    with pytest.raises(ValidationFailed):
        grievances.add_grievant(
            grievance, make.member(make.workplace()).id, actor=steward, now=now
        )
    second = make.steward(workplace)
    grievances.reassign_steward(grievance, second.id, actor=steward, now=now)
    assert grievance.steward_id == second.id
    with pytest.raises(ValidationFailed):
        grievances.reassign_steward(
            grievance, make.steward(make.workplace()).id, actor=steward, now=now
        )
    assert events(grievance) == [
        GrievanceEventKind.OPENED,
        GrievanceEventKind.NOTE_ADDED,
        GrievanceEventKind.GRIEVANT_ADDED,
        GrievanceEventKind.STEWARD_REASSIGNED,
    ]


def test_the_service_layer_offers_no_way_to_edit_or_delete_history():
    public = {name for name in vars(grievances) if not name.startswith("_")}
    for verb in ("delete", "remove", "edit_note", "update_note", "edit_event"):
        assert not any(name.startswith(verb) for name in public), verb


@pytest.fixture
def storage(tmp_path):
    return LocalFolderStorage(tmp_path)


def test_a_document_is_stored_by_its_content_type(site, now, storage):
    grievance = opened(site, now)
    document = grievances.add_document(
        grievance,
        filename="C:\\Users\\me\\stub.png",
        data=PNG_BYTES,
        storage=storage,
        max_bytes=1000,
        actor=site[1],
        now=now,
    )
    assert (document.filename, document.content_type) == ("stub.png", "image/png")
    assert storage.read(document.storage_key) == PNG_BYTES
    assert document.storage_key not in document.filename
    assert events(grievance)[-1] is GrievanceEventKind.DOCUMENT_ADDED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"MZ\x90\x00 program pretending to be a pdf", "PDF, PNG or JPEG"),
        (b"", "empty"),
        (PDF_BYTES + b"x" * 1000, "too big"),
    ],
)
def test_a_refused_document_saves_nothing(site, now, storage, tmp_path, data, message):
    grievance = opened(site, now)
    with pytest.raises(ValidationFailed) as refused:
        grievances.add_document(
            grievance,
            filename="letter.pdf",
            data=data,
            storage=storage,
            max_bytes=1000,
            actor=site[1],
            now=now,
        )
    assert message in refused.value.errors["file"][0]
    assert list(tmp_path.iterdir()) == []
    assert db.session.scalar(sa.select(sa.func.count(GrievanceDocument.id))) == 0


def test_stewards_see_only_their_workplaces_cases_and_admins_all(make, site, now):
    grievance = opened(site, now)
    other_steward = make.steward(make.workplace())
    admin = make.user(roles=(Role.ADMIN,))
    organizer = make.user(roles=(Role.ORGANIZER,))
    member = make.member(site[0], account=True)
    assert grievances.grievance_for(site[1], grievance.public_id) is grievance
    assert grievances.grievance_for(admin, grievance.public_id) is grievance
    for outsider in (other_steward, organizer, member.user):
        with pytest.raises(NotFound):
            grievances.grievance_for(outsider, grievance.public_id)


def test_the_dashboard_lists_overdue_first_then_by_deadline(make, site, now):
    workplace, steward = site
    later = make.grievance(workplace, steward=steward, deadline_on=date(2026, 12, 20))
    overdue = make.grievance(workplace, steward=steward, deadline_on=date(2026, 11, 1))
    soon = make.grievance(workplace, steward=steward, deadline_on=date(2026, 11, 24))
    someone_elses = make.grievance(workplace, steward=make.steward(workplace))
    board = grievances.dashboard(steward, today=date(2026, 11, 22))
    assert [row.grievance for row in board.mine] == [overdue, soon, later]
    assert [row.urgency for row in board.mine] == [
        Urgency.OVERDUE,
        Urgency.DUE_SOON,
        Urgency.ON_TRACK,
    ]
    assert [row.grievance for row in board.others] == [someone_elses]
    assert board.counts_by_step[GrievanceStep.INTAKE] == 3
    assert (board.overdue, board.due_soon) == (1, 1)


def test_the_dashboard_takes_the_same_queries_for_few_or_many_cases(
    make, site, count_queries
):
    workplace, steward = site

    def render():
        board = grievances.dashboard(steward, today=date(2026, 11, 22))
        return [
            (r.grievance.workplace.name, r.grievance.steward.display_name)
            for r in board.mine + board.others
        ]

    make.grievance(workplace, steward=steward)
    db.session.expire_all()
    with count_queries() as few:
        render()
    for _ in range(30):
        make.grievance(workplace, steward=steward, grievants=[make.member(workplace)])
        make.grievance(workplace, steward=make.steward(workplace))
    db.session.expire_all()
    with count_queries() as many:
        render()
    assert many.count == few.count


def test_a_member_sees_a_summary_of_their_own_cases_only(make, site, now):
    workplace, steward = site
    member = make.member(workplace, account=True)
    other = make.member(workplace, name="Other Person")
    mine = make.grievance(workplace, steward=steward, grievants=[member, other])
    make.grievance(workplace, steward=steward, grievants=[other])
    found = grievances.own_grievances(member.user, today=date(2026, 11, 22))
    assert [case.number for case in found] == [mine.number]
    assert not hasattr(found[0], "grievants") and not hasattr(found[0], "notes")
    assert found[0].step_since == date(2026, 11, 22)


def at(day: date, hour: int = 14) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_reminders_go_out_3_days_before_1_day_before_and_on_the_day_once_each(
    make, site
):
    workplace, steward = site
    deadline = date(2026, 12, 10)
    grievance = make.grievance(workplace, steward=steward, deadline_on=deadline)
    sent = {}
    day = deadline - timedelta(days=6)
    while day <= deadline + timedelta(days=2):
        for hour in (1, 9, 17, 23):  # the command may run hourly
            for reminder in grievances.claim_due_reminders(now=at(day, hour)):
                assert reminder.number == grievance.number
                assert reminder.recipient is steward
                assert reminder.days_before not in sent
                sent[reminder.days_before] = day
        day += timedelta(days=1)
    assert sent == {
        3: date(2026, 12, 7),
        1: date(2026, 12, 9),
        0: date(2026, 12, 10),
    }
    assert db.session.scalar(sa.select(sa.func.count(SentReminder.id))) == 3


def test_a_new_step_gets_its_own_reminders_and_closed_cases_none(make, site, now):
    workplace, steward = site
    grievance = make.grievance(
        workplace, steward=steward, deadline_on=date(2026, 11, 22)
    )
    assert [r.days_before for r in grievances.claim_due_reminders(now=now)] == [0]
    grievances.move_grievance(
        grievance,
        GrievanceStep.STEP_1,
        actor=steward,
        now=now,
        deadline_on=date(2026, 11, 22),
    )
    assert [r.step for r in grievances.claim_due_reminders(now=now)] == [
        GrievanceStep.STEP_1
    ]
    grievances.close_grievance(
        grievance, Closing(GrievanceOutcome.WITHDRAWN), actor=steward, now=now
    )
    closing_day = make.grievance(
        workplace, steward=None, deadline_on=date(2026, 11, 22)
    )
    assert closing_day.steward_id is None
    assert grievances.claim_due_reminders(now=now) == []


def test_a_calendar_feed_opens_with_its_token_until_revoked(make, site, now):
    workplace, steward = site
    grievance = make.grievance(workplace, steward=steward)
    make.grievance(workplace, steward=make.steward(workplace))
    token = grievances.create_calendar_feed(actor=steward, now=now)
    assert grievances.calendar_feed_of(steward).token_hash != token
    entries = grievances.calendar_entries(token, now=now)
    assert [(e.number, e.deadline_on) for e in entries] == [
        (grievance.number, grievance.deadline_on)
    ]
    new_token = grievances.create_calendar_feed(actor=steward, now=now)
    with pytest.raises(NotFound):
        grievances.calendar_entries(token, now=now)
    grievances.calendar_entries(new_token, now=now)
    grievances.revoke_calendar_feed(actor=steward, now=now)
    with pytest.raises(NotFound):
        grievances.calendar_entries(new_token, now=now)


def test_changes_and_views_are_audited_without_their_text(make, site, now):
    grievance = opened(site, now)
    grievances.add_note(grievance, "Secret words here", actor=site[1], now=now)
    grievances.record_case_viewed(grievance, actor=site[1], now=now)
    rows = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.subject_type == "grievance")
    ).all()
    assert {row.action for row in rows} >= {
        "grievance.opened",
        "grievance.note_added",
        "grievance.viewed",
    }
    assert all("Secret" not in (row.detail or "") for row in rows)
    assert (
        db.session.scalar(
            sa.select(sa.func.count(StepRecord.id)).where(
                StepRecord.grievance_id == grievance.id
            )
        )
        == 1
    )


def test_the_people_choices_leave_out_whoever_is_already_on_the_case(make):
    here, elsewhere = make.workplace("Here"), make.workplace("Elsewhere")
    current = make.steward(here, email="current@example.org")
    other = make.steward(here, email="other@example.org")
    make.steward(elsewhere, email="away@example.org")
    named = make.member(here, name="Named Grievant")
    colleague = make.member(here, name="Free Colleague")
    make.member(elsewhere, name="Works Elsewhere")
    grievance = make.grievance(here, steward=current, grievants=[named])
    assert grievances.steward_choices(grievance) == [other]
    assert grievances.grievant_choices(grievance) == [colleague]
