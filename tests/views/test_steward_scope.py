"""Stewards act only at the workplaces they cover, on every route that changes an
object.

The routes come from the app's URL map, not from a list: every POST, PUT, PATCH
or DELETE rule whose URL names an object. Each is posted by the steward of the
other workplace in `world` ("other steward", who covers workplace B) with a form
that works for someone allowed to act: the answer must be 404 (the object is out
of their scope) or 403 (POLICY refuses the role itself), and the database must be
exactly as it was. The same form, posted by a person allowed to act, must then
succeed and change something, so the refusal cannot pass on a form that would
have failed anyway.

VALID says how to build that form for each route. A new route without an entry
fails, naming itself. Objects named in the form rather than the URL (a workplace,
a grievant, a steward) are checked by the hand-written cases further down.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import PDF_BYTES
from tests.views.test_access_policy import PERSONA_ROLES, POLICY
from tests.views.test_fuzz import snapshot
from union.db import db
from union.models import (
    AuditEvent,
    CorrectionStatus,
    Member,
    MemberStatus,
    PaymentMethod,
    Role,
    StewardAssignment,
    WorkplaceStatus,
)
from union.services import accounts, dues, ledger, members, roster, survey

#: Methods that change things.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: URL arguments that name no object: the secret of an emailed link or calendar
#: feed, which the (public) route checks itself and which belongs to nobody's
#: workplace.
NOT_OBJECTS = frozenset({"token", "feed_token"})
OUTSIDER = "other steward"


def object_routes(app: Any) -> list[tuple[str, str]]:
    """(endpoint, method) of every route that changes something and whose URL
    names an object."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not set(rule.arguments) - NOT_OBJECTS:
            continue
        for method in rule.methods & WRITE_METHODS:
            found.add((rule.endpoint, method))
    return sorted(found)


@dataclass
class Attempt:
    """A request that succeeds when `by` sends it."""

    url: str
    form: dict[str, Any] = field(default_factory=dict)
    #: Field name to (content, file name), uploaded as multipart.
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    #: Who the positive control is sent as.
    by: str = "steward"

    def data(self, token: str) -> dict[str, Any]:
        # Past the page that asks first, for the actions that have one: the
        # lookup that refuses another steward's object comes before the asking.
        data = {**self.form, "csrf_token": token, "confirmed": "yes"}
        for name, (content, filename) in self.files.items():
            data[name] = (io.BytesIO(content), filename)
        return data


Builder = Callable[[Any, Any], Attempt]


def at_both(make: Any, world: Any, name: str) -> Member:
    """A member with current jobs at both workplaces: on both stewards' rosters."""
    member = make.member(world.here, name=name)
    members.add_employment(
        member,
        workplace_id=world.there.id,
        classification_id=None,
        started_on=None,
        actor=world.accounts["admin"],
        now=make.now,
    )
    return member


def covering_also(make: Any, world: Any) -> int:
    """A third workplace that the steward of workplace A covers too (workplace B's
    steward does not)."""
    third = make.workplace("Third Agency")
    db.session.add(
        StewardAssignment(
            user=world.accounts["steward"], workplace=third, assigned_at=make.now
        )
    )
    db.session.flush()
    db.session.expire(world.accounts["steward"], ["steward_assignments"])
    return int(third.id)


# Members ----------------------------------------------------------------------


def member_url(member: Member, tail: str) -> str:
    return f"/members/{member.public_id}{tail}"


def accept(world: Any, make: Any) -> Attempt:
    applicant = make.member(world.here, status=MemberStatus.APPLICANT)
    return Attempt(member_url(applicant, "/accept"))


def accept_applicants(world: Any, make: Any) -> Attempt:
    applicant = make.member(world.here, status=MemberStatus.APPLICANT)
    return Attempt("/members/applicants/accept", {"member": applicant.public_id})


def decline(world: Any, make: Any) -> Attempt:
    applicant = make.member(world.here, status=MemberStatus.APPLICANT)
    return Attempt(member_url(applicant, "/decline"))


def edit_member(world: Any, make: Any) -> Attempt:
    return Attempt(
        member_url(world.member, "/edit"),
        {
            "chosen_name": "Robin Renamed",
            "contact_preference": "email",
            "membership_class": "employed",
        },
    )


def change_status(world: Any, make: Any) -> Attempt:
    return Attempt(member_url(world.member, "/status"), {"status": "lapsed"})


def add_employment(world: Any, make: Any) -> Attempt:
    third = covering_also(make, world)
    return Attempt(
        member_url(world.member, "/employments"),
        {"workplace": str(third), "classification": "", "started_on": ""},
    )


def end_employment(world: Any, make: Any) -> Attempt:
    job = world.member.employments[0]
    return Attempt(
        member_url(world.member, f"/employments/{job.id}/end"),
        {"ended_on": "2026-11-01"},
    )


def end_employment_of_member_at_both(world: Any, make: Any) -> Attempt:
    """The member is on the other steward's roster too (their job at B); the job
    at A is still not theirs to end."""
    both = at_both(make, world, "Kit Both")
    here_job = next(j for j in both.employments if j.workplace_id == world.here.id)
    return Attempt(
        member_url(both, f"/employments/{here_job.id}/end"),
        {"ended_on": "2026-11-01"},
    )


def invite_imported(world: Any, make: Any) -> Attempt:
    result = roster.import_roster(
        "chosen_name,email,dues_level\nIvy Imported,ivy@example.org,11\n",
        actor=world.accounts["admin"],
        now=make.now,
    )
    return Attempt(f"/members/imports/{result.import_id}/invite", by="admin")


def erase(world: Any, make: Any) -> Attempt:
    leaving = make.member(world.here, name="Ash Leaving")
    return Attempt(member_url(leaving, "/erase"), {"understood": "y"}, by="admin")


def record_payment(world: Any, make: Any) -> Attempt:
    owed = dues.quote(world.member, 1).total_cents
    return Attempt(
        member_url(world.member, "/payments/new"),
        {
            "method": "cash",
            "months": "1",
            "amount": f"{owed / 100:.2f}",
            "paid_on": "2026-11-20",
            "reference": "",
        },
    )


# Grievances -------------------------------------------------------------------


def case_url(world: Any, tail: str) -> str:
    return f"/grievances/{world.grievance.public_id}{tail}"


def edit_case(world: Any, make: Any) -> Attempt:
    return Attempt(
        case_url(world, "/edit"),
        {
            "category": "wage_discrepancy",
            "title": "Short pay, corrected title",
            "what_happened": "Paid less than the posted rate.",
            "remedy_sought": "",
            "incident_on": "",
        },
    )


def move_case(world: Any, make: Any) -> Attempt:
    return Attempt(case_url(world, "/move"), {"step": "step_1"})


def close_case(world: Any, make: Any) -> Attempt:
    return Attempt(
        case_url(world, "/close"),
        {"outcome": "won", "money_recovered": "120", "remedy_obtained": "Back pay."},
    )


def add_note(world: Any, make: Any) -> Attempt:
    return Attempt(case_url(world, "/notes"), {"body": "Met the manager."})


def add_document(world: Any, make: Any) -> Attempt:
    return Attempt(
        case_url(world, "/documents"), files={"file": (PDF_BYTES, "letter.pdf")}
    )


def reassign(world: Any, make: Any) -> Attempt:
    second = make.steward(world.here)
    return Attempt(case_url(world, "/steward"), {"steward": str(second.id)})


def add_grievant(world: Any, make: Any) -> Attempt:
    colleague = make.member(world.here, name="Sam Colleague")
    return Attempt(case_url(world, "/grievants"), {"member": str(colleague.id)})


def add_grievant_working_at_both(world: Any, make: Any) -> Attempt:
    """The grievant is on the other steward's roster; the case is not theirs."""
    colleague = at_both(make, world, "Lee Both")
    return Attempt(case_url(world, "/grievants"), {"member": str(colleague.id)})


def step_days(world: Any, make: Any) -> Attempt:
    return Attempt(
        f"/grievances/deadlines/{world.here.id}",
        {"intake": "7", "step_1": "14", "step_2": "21", "arbitration": "30"},
    )


# Workplaces -------------------------------------------------------------------


def edit_workplace(world: Any, make: Any) -> Attempt:
    return Attempt(
        f"/workplaces/{world.here.id}/edit",
        {
            "employer": "Here Agency",
            "site": "Main street",
            "sector": "outreach",
            "bargaining_status": "organizing",
            "contract_expires_on": "",
            "estimated_headcount": "25",
            "listed_on_join": "y",
        },
        by="organizer",
    )


def confirm_workplace(world: Any, make: Any) -> Attempt:
    typed = make.workplace("Typed In", status=WorkplaceStatus.PENDING)
    return Attempt(f"/workplaces/{typed.id}/confirm", by="organizer")


def merge_workplace(world: Any, make: Any) -> Attempt:
    typed = make.workplace("Here Agncy", status=WorkplaceStatus.PENDING)
    make.member(typed)
    return Attempt(
        f"/workplaces/{typed.id}/merge", {"into": str(world.here.id)}, by="organizer"
    )


FUNDING = {
    "funder": "Province",
    "program": "Outreach",
    "amount": "50000",
    "starts_on": "",
    "ends_on": "2027-03-31",
    "positions_funded": "2",
}


def add_funding(world: Any, make: Any) -> Attempt:
    return Attempt(f"/workplaces/{world.here.id}/funding/new", FUNDING, by="organizer")


def edit_funding(world: Any, make: Any) -> Attempt:
    return Attempt(
        f"/workplaces/{world.here.id}/funding/{world.funding.id}/edit",
        FUNDING,
        by="organizer",
    )


def delete_funding(world: Any, make: Any) -> Attempt:
    return Attempt(
        f"/workplaces/{world.here.id}/funding/{world.funding.id}/delete",
        by="organizer",
    )


def assign_steward(world: Any, make: Any) -> Attempt:
    newcomer = make.user(roles=(Role.STEWARD,))
    return Attempt(
        f"/workplaces/{world.here.id}/stewards",
        {"steward": str(newcomer.id)},
        by="admin",
    )


def unassign_steward(world: Any, make: Any) -> Attempt:
    steward = world.accounts["steward"]
    return Attempt(
        f"/workplaces/{world.here.id}/stewards/{steward.id}/remove", by="admin"
    )


# Accounts, privacy, dues and reports -------------------------------------------


def user_url(world: Any, persona: str, tail: str) -> str:
    return f"/admin/users/{world.accounts[persona].id}{tail}"


def grant_role(world: Any, make: Any) -> Attempt:
    return Attempt(
        user_url(world, "member", "/roles"), {"role": "organizer"}, by="admin"
    )


def revoke_role(world: Any, make: Any) -> Attempt:
    return Attempt(user_url(world, "treasurer", "/roles/treasurer/revoke"), by="admin")


def disable(world: Any, make: Any) -> Attempt:
    return Attempt(user_url(world, "treasurer", "/disable"), by="admin")


def enable(world: Any, make: Any) -> Attempt:
    accounts.set_disabled(
        world.accounts["organizer"],
        True,
        actor=world.accounts["admin"],
        now=make.now,
    )
    return Attempt(user_url(world, "organizer", "/enable"), by="admin")


def resolve_correction(world: Any, make: Any) -> Attempt:
    return Attempt(
        f"/admin/corrections/{world.correction.id}",
        {"status": CorrectionStatus.CORRECTED.value, "response": "Updated."},
        by="admin",
    )


def edit_breach(world: Any, make: Any) -> Attempt:
    return Attempt(
        f"/admin/breaches/{world.breach.id}",
        {
            "discovered_on": "2026-11-22",
            "description": "A steward's phone with the roster was lost.",
            "data_affected": "Names and phone numbers",
            "people_affected": "12",
            "real_risk_of_significant_harm": "y",
            "individuals_notified_on": "2026-11-22",
            "measures": "Wiped the phone remotely.",
        },
        by="admin",
    )


def close_round(world: Any, make: Any) -> Attempt:
    opened = survey.open_round(
        "Autumn", actor=world.accounts["organizer"], now=make.now
    )
    return Attempt(f"/reports/rounds/{opened.id}/close", by="organizer")


def level_url(code: str, tail: str = "") -> str:
    return f"/treasurer/levels/{dues.level_by_code(code).id}{tail}"


def schedule_rate(world: Any, make: Any) -> Attempt:
    return Attempt(
        level_url("minimum"),
        {"form": "rate", "rate-monthly_amount": "12", "rate-effective_on": "2027-01"},
        by="treasurer",
    )


def retire_level(world: Any, make: Any) -> Attempt:
    return Attempt(level_url("regular", "/retire"), by="treasurer")


def confirm_remittance(world: Any, make: Any) -> Attempt:
    """A month that has ended: October, when the steward took one more payment."""
    delegate = world.accounts["steward"]
    ledger.record_hand_payment(
        world.member,
        method=PaymentMethod.CASH,
        months=1,
        amount_cents=dues.quote(world.member, 1).total_cents,
        paid_on=date(2026, 10, 20),
        reference=None,
        actor=delegate,
        now=make.now,
    )
    return Attempt(f"/treasurer/remittances/{delegate.id}/2026-10", by="treasurer")


def decide_waiver(world: Any, make: Any) -> Attempt:
    return Attempt(
        f"/treasurer/waivers/{world.waiver.case_number}/grant", by="treasurer"
    )


def tell_in_person(world: Any, make: Any) -> Attempt:
    """A member at A reached in person, with news waiting on the call list."""
    from union.models import ContactPreference, NotificationKind
    from union.services import notifications_feed

    member = make.member(world.here, account=True, name="Told In Person")
    member.contact_preference = ContactPreference.IN_PERSON
    notifications_feed.notify(
        [member.user],
        NotificationKind.SURVEY_OPENED,
        {"round": 1},
        about="round-1",
        now=make.now,
    )
    db.session.flush()
    return Attempt(
        f"/call-list/{member.public_id}/told", {"shown_at": make.now.isoformat()}
    )


def a_message(world: Any, make: Any, state: Any) -> int:
    from union.models import MemberMessage
    from union.models.messages import SegmentKind

    message = MemberMessage(
        author_id=world.accounts["admin"].id,
        segment_kind=SegmentKind.WORKPLACE,
        segment_value=str(world.here.id),
        subject_en="General meeting",
        body_en="Thursday at 6.",
        state=state,
        created_at=make.now,
        sent_at=make.now,
    )
    db.session.add(message)
    db.session.flush()
    return int(message.id)


def pause_message(world: Any, make: Any) -> Attempt:
    from union.models.messages import MessageState

    sending = a_message(world, make, MessageState.SENDING)
    return Attempt(f"/messages/{sending}/pause", by="admin")


def resume_message(world: Any, make: Any) -> Attempt:
    from union.models.messages import MessageState

    paused = a_message(world, make, MessageState.PAUSED)
    return Attempt(f"/messages/{paused}/resume", by="admin")


#: For each route that names an object: forms that succeed for the right person.
VALID: dict[str, dict[str, Builder]] = {
    "members.accept": {"applicant at A": accept},
    "members.decline": {"applicant at A": decline},
    "members.edit": {"member at A": edit_member},
    "members.change_status": {"member at A": change_status},
    "members.add_employment": {"member at A": add_employment},
    "members.end_employment": {
        "member at A": end_employment,
        "job at A of a member at A and B": end_employment_of_member_at_both,
    },
    "members.erase": {"member at A": erase},
    "members.invite_imported": {"an import with someone to invite": invite_imported},
    "dues.record_payment": {"member at A": record_payment},
    "grievances.edit": {"case at A": edit_case},
    "grievances.move": {"case at A": move_case},
    "grievances.close": {"case at A": close_case},
    "grievances.add_note": {"case at A": add_note},
    "grievances.add_document": {"case at A": add_document},
    "grievances.reassign": {"case at A": reassign},
    "grievances.add_grievant": {
        "case at A": add_grievant,
        "case at A, grievant at A and B": add_grievant_working_at_both,
    },
    "grievances.deadlines": {"workplace A": step_days},
    "workplaces.edit": {"workplace A": edit_workplace},
    "workplaces.confirm": {"pending workplace": confirm_workplace},
    "workplaces.merge": {"pending workplace into A": merge_workplace},
    "workplaces.add_funding": {"workplace A": add_funding},
    "workplaces.edit_funding": {"funding at A": edit_funding},
    "workplaces.delete_funding": {"funding at A": delete_funding},
    "workplaces.assign_steward": {"workplace A": assign_steward},
    "workplaces.unassign_steward": {"steward of A": unassign_steward},
    "admin.grant_role": {"an account": grant_role},
    "admin.revoke_role": {"an account": revoke_role},
    "admin.disable": {"an account": disable},
    "admin.enable": {"a disabled account": enable},
    "admin.correction": {"an open request": resolve_correction},
    "admin.breach": {"a breach": edit_breach},
    "reports.close_round": {"an open round": close_round},
    "treasurer.level": {"a level": schedule_rate},
    "treasurer.retire_level": {"a level": retire_level},
    "treasurer.confirm_remittance": {"a delegate's month": confirm_remittance},
    "treasurer.decide_waiver": {"a pending waiver": decide_waiver},
    "notifications.told": {"a member at A reached in person": tell_in_person},
    "messages.pause": {"a message being sent": pause_message},
    "messages.resume": {"a paused message": resume_message},
}


def routes_at_collection() -> list[tuple[str, str]]:
    from tests.conftest import config_for_tests
    from union import create_app

    return object_routes(create_app(config_for_tests()))


def cases() -> list[Any]:
    found = []
    for endpoint, method in routes_at_collection():
        # A route missing from VALID still gets a case, which fails saying so.
        for name in VALID.get(endpoint, {"no entry in VALID": None}):
            found.append(
                pytest.param(endpoint, method, name, id=f"{method} {endpoint} ({name})")
            )
    return found


def test_every_entry_in_valid_is_a_route_that_names_an_object(app):
    routes = {endpoint for endpoint, _method in object_routes(app)}
    assert sorted(set(VALID) - routes) == []


@dataclass
class Sent:
    response: Any
    #: Whether the database changed (anything but the audit log and sessions).
    changed: bool
    #: The page the person then saw (after a redirect, the page it led to).
    page: str


class Browser:
    """The test client, signing in as one persona after another, with a view of
    the whole database before and after each request."""

    def __init__(self, client: Any, world: Any) -> None:
        self.client, self.world = client, world
        bind = db.session.get_bind()
        assert isinstance(bind, sa.Connection)
        self.connection = bind

    def send(self, persona: str, attempt: Attempt, method: str) -> Sent:
        self.client.sign_in(self.world.accounts[persona].email)
        token = self.client.csrf_token("/account")
        db.session.expire_all()
        before = snapshot(self.connection)
        response = self.client.open(
            attempt.url, method=method, data=attempt.data(token)
        )
        db.session.expire_all()
        changed = snapshot(self.connection) != before
        shown = response
        if response.status_code == 302:
            # Read before signing out, which drops the flashed messages.
            shown = self.client.get(response.headers["Location"])
        self.client.sign_out()
        return Sent(response, changed, shown.get_data(as_text=True))


@pytest.mark.parametrize(("endpoint", "method", "case"), cases())
def test_a_steward_of_another_workplace_changes_nothing(
    app, client, make, world, endpoint, method, case
):
    builders = VALID.get(endpoint)
    if builders is None:
        pytest.fail(
            f"{method} {endpoint} names an object in its URL: add it to VALID in "
            f"{__name__} with a form that succeeds for someone allowed to act, so "
            "the test can show a steward of another workplace is refused."
        )
    attempt = builders[case](world, make)
    allowed = POLICY[endpoint]
    assert isinstance(allowed, frozenset), (
        f"{endpoint} names an object yet is open to anyone signed in or to the "
        "public: limit it to roles, or add its argument to NOT_OBJECTS"
    )
    assert not PERSONA_ROLES[attempt.by].isdisjoint(allowed), attempt.by
    browser = Browser(client, world)

    refused = browser.send(OUTSIDER, attempt, method)
    expected = 404 if Role.STEWARD in allowed else 403
    assert refused.response.status_code == expected, refused.response.status_code
    assert not refused.changed, (
        f"{OUTSIDER}'s refused {method} {attempt.url} changed data"
    )
    # Someone probing ids leaves a trace, though nothing else changed.
    assert db.session.scalar(
        sa.select(sa.func.count()).where(
            AuditEvent.action == "access.refused",
            AuditEvent.actor_id == world.accounts[OUTSIDER].id,
            AuditEvent.detail == f"endpoint={endpoint} status={expected}",
        )
    )

    done = browser.send(attempt.by, attempt, method)
    assert done.response.status_code < 400, (done.response.status_code, done.page)
    assert "/login" not in done.response.headers.get("Location", "")
    assert done.changed, f"{attempt.by}'s {method} {attempt.url} changed nothing"


# Objects named in the form ------------------------------------------------------


@dataclass
class Stray:
    """A form naming, beside an object in the sender's scope, a second one outside
    it; and the same form with that second object inside it, which succeeds."""

    outside: Attempt
    inside: Attempt
    #: The answer to the form naming the object outside, and what it says.
    status: int
    message: str


def job_elsewhere(world: Any, make: Any) -> Stray:
    third = covering_also(make, world)
    url = member_url(world.member, "/employments")
    form = {"classification": "", "started_on": ""}
    return Stray(
        Attempt(url, {**form, "workplace": str(world.there.id)}),
        Attempt(url, {**form, "workplace": str(third)}),
        400,
        "Choose a workplace from the list.",
    )


def job_at_a_for_a_member_at_both(world: Any, make: Any) -> Stray:
    """B's steward sees this member, and may still only place them at B."""
    both = at_both(make, world, "Kit Both")
    third = covering_also(make, world)
    url = member_url(both, "/employments")
    form = {"classification": "", "started_on": "", "workplace": str(third)}
    return Stray(
        Attempt(url, form, by=OUTSIDER),
        Attempt(url, form, by="steward"),
        400,
        "Choose a workplace from the list.",
    )


def grievant_elsewhere(world: Any, make: Any) -> Stray:
    colleague = make.member(world.here, name="Sam Colleague")
    url = case_url(world, "/grievants")
    return Stray(
        Attempt(url, {"member": str(world.stranger.id)}),
        Attempt(url, {"member": str(colleague.id)}),
        302,
        "Choose a member who works at this workplace.",
    )


def steward_elsewhere(world: Any, make: Any) -> Stray:
    second = make.steward(world.here)
    url = case_url(world, "/steward")
    return Stray(
        Attempt(url, {"steward": str(world.accounts[OUTSIDER].id)}),
        Attempt(url, {"steward": str(second.id)}),
        302,
        "Choose a steward who covers this workplace.",
    )


NEW_CASE = {
    "category": "no_raise",
    "title": "No raise since 2022",
    "what_happened": "Wages frozen.",
    "who": "group",
}


def new_case_elsewhere(world: Any, make: Any) -> Stray:
    form = {**NEW_CASE, "steward": str(world.accounts["steward"].id)}
    return Stray(
        Attempt(f"/grievances/new?workplace={world.there.id}", form),
        Attempt(f"/grievances/new?workplace={world.here.id}", form),
        404,
        "Page not found",
    )


def new_case_naming_a_grievant_elsewhere(world: Any, make: Any) -> Stray:
    form = {
        **NEW_CASE,
        "who": "named",
        "steward": str(world.accounts["steward"].id),
    }
    url = f"/grievances/new?workplace={world.here.id}"
    return Stray(
        Attempt(url, {**form, "grievants": [str(world.stranger.id)]}),
        Attempt(url, {**form, "grievants": [str(world.member.id)]}),
        400,
        "Choose grievants who work at this workplace.",
    )


def new_case_for_a_steward_elsewhere(world: Any, make: Any) -> Stray:
    url = f"/grievances/new?workplace={world.here.id}"
    return Stray(
        Attempt(url, {**NEW_CASE, "steward": str(world.accounts[OUTSIDER].id)}),
        Attempt(url, {**NEW_CASE, "steward": str(world.accounts["steward"].id)}),
        400,
        "Choose a steward who covers this workplace.",
    )


def applicant_elsewhere(world: Any, make: Any) -> Stray:
    mine = make.member(world.here, status=MemberStatus.APPLICANT)
    theirs = make.member(world.there, status=MemberStatus.APPLICANT)
    url = "/members/applicants/accept"
    return Stray(
        Attempt(url, {"member": theirs.public_id}),
        Attempt(url, {"member": mine.public_id}),
        302,
        "Nobody was accepted",
    )


STRAYS: dict[str, Callable[[Any, Any], Stray]] = {
    "applicants accepted together, one at a workplace the steward does not cover": (
        applicant_elsewhere
    ),
    "a job at a workplace the steward does not cover": job_elsewhere,
    "a member at A and B placed by B's steward where only A's covers": (
        job_at_a_for_a_member_at_both
    ),
    "a grievant working elsewhere": grievant_elsewhere,
    "a case handed to another workplace's steward": steward_elsewhere,
    "a new case at a workplace the steward does not cover": new_case_elsewhere,
    "a new case naming a grievant working elsewhere": (
        new_case_naming_a_grievant_elsewhere
    ),
    "a new case for another workplace's steward": new_case_for_a_steward_elsewhere,
}


@pytest.mark.parametrize("case", sorted(STRAYS))
def test_a_second_object_outside_the_stewards_scope_is_refused(
    client, make, world, case
):
    stray = STRAYS[case](world, make)
    browser = Browser(client, world)

    refused = browser.send(stray.outside.by, stray.outside, "POST")
    assert refused.response.status_code == stray.status
    assert not refused.changed, f"{case}: the refused form changed data"
    assert stray.message in refused.page

    done = browser.send(stray.inside.by, stray.inside, "POST")
    assert done.response.status_code == 302, done.page
    assert done.changed, f"{case}: the same form inside the scope changed nothing"


def test_admins_end_a_job_at_any_workplace(client, make, world):
    both = at_both(make, world, "Kit Both")
    there_job = next(j for j in both.employments if j.workplace_id == world.there.id)
    attempt = Attempt(
        member_url(both, f"/employments/{there_job.id}/end"),
        {"ended_on": "2026-11-01"},
        by="admin",
    )
    sent = Browser(client, world).send("admin", attempt, "POST")
    assert (sent.response.status_code, sent.changed) == (302, True)
    db.session.expire_all()
    assert [job.workplace_id for job in both.current_employments] == [world.here.id]
