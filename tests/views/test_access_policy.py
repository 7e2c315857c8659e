"""Who may use each endpoint, written out independently of the code's decorators.

An endpoint missing from POLICY fails the suite, and so does a decorator that says
something different from POLICY. The matrix then checks real answers for every
endpoint and every kind of user.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from union.db import db
from union.models import (
    CARD_METHODS,
    Channel,
    ConsentSource,
    DuesPayment,
    MemberMessage,
    PaymentMethod,
    Role,
    SegmentKind,
)
from union.services import ledger, messages
from union.web.access import Audience, rule_for

PUBLIC = "public"
SIGNED_IN = "signed in"
MEMBER = frozenset({Role.MEMBER})
ROSTER = frozenset({Role.STEWARD, Role.ADMIN})
WORKPLACE_VIEWERS = frozenset({Role.STEWARD, Role.ORGANIZER, Role.ADMIN})
WORKPLACE_EDITORS = frozenset({Role.ORGANIZER, Role.ADMIN})
ADMIN = frozenset({Role.ADMIN})
TREASURY = frozenset({Role.TREASURER, Role.ADMIN})
CASES = frozenset({Role.STEWARD, Role.ADMIN})
STEWARD = frozenset({Role.STEWARD})
GRIEVANCE_COUNTS = frozenset({Role.ORGANIZER, Role.ADMIN})
REPORT_READERS = frozenset({Role.ORGANIZER, Role.ADMIN})
MESSAGE_AUTHORS = frozenset({Role.ORGANIZER, Role.ADMIN})

POLICY: dict[str, str | frozenset[Role]] = {
    "static": PUBLIC,
    "main.home": PUBLIC,
    "main.healthz": PUBLIC,
    "main.readyz": PUBLIC,
    "main.metrics": PUBLIC,
    "main.choose_language": PUBLIC,
    "main.floor": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": SIGNED_IN,
    "auth.forgot_password": PUBLIC,
    "auth.forgot_password_sent": PUBLIC,
    "auth.reset_password": PUBLIC,
    "auth.activate": PUBLIC,
    "auth.account": SIGNED_IN,
    "auth.change_password": SIGNED_IN,
    "auth.confirm_password": SIGNED_IN,
    "auth.change_email": SIGNED_IN,
    "auth.confirm_email": PUBLIC,
    "auth.end_other_sessions": SIGNED_IN,
    "join.join": PUBLIC,
    "join.sent": PUBLIC,
    "members.welcome": MEMBER,
    "members.profile": MEMBER,
    "members.edit_profile": MEMBER,
    "members.my_data": MEMBER,
    "members.my_data_json": MEMBER,
    "members.corrections": MEMBER,
    "members.leave": MEMBER,
    "members.erase": ADMIN,
    "members.roster_list": ROSTER,
    "members.export": ADMIN,
    "members.import_roster": ADMIN,
    "members.invite_imported": ADMIN,
    "members.detail": ROSTER,
    "members.edit": ROSTER,
    "members.accept": ROSTER,
    "members.applicants": ROSTER,
    "members.accept_applicants": ROSTER,
    "members.decline": ROSTER,
    "members.change_status": ROSTER,
    "members.add_employment": ROSTER,
    "members.end_employment": ROSTER,
    "dues.index": MEMBER,
    "dues.history": MEMBER,
    "dues.card_subscribe": MEMBER,
    "dues.card_pay": MEMBER,
    "dues.card_manage": MEMBER,
    "dues.card_done": MEMBER,
    "dues.change_level": MEMBER,
    "dues.waiver": MEMBER,
    "dues.receipt": SIGNED_IN,
    "dues.card_receipt": SIGNED_IN,
    "dues.record_payment": ROSTER,
    "dues.remittance": ROSTER,
    "treasurer.index": TREASURY,
    "treasurer.levels": TREASURY,
    "treasurer.add_level": TREASURY,
    "treasurer.set_up_card_prices": TREASURY,
    "treasurer.level": TREASURY,
    "treasurer.retire_level": TREASURY,
    "treasurer.ledger_list": TREASURY,
    "treasurer.ledger_export": TREASURY,
    "treasurer.arrears": TREASURY,
    "treasurer.arrears_export": TREASURY,
    "treasurer.member_dues": TREASURY,
    "treasurer.remittance_list": TREASURY,
    "treasurer.remittance_detail": TREASURY,
    "treasurer.confirm_remittance": TREASURY,
    "treasurer.waiver_list": TREASURY,
    "treasurer.decide_waiver": TREASURY,
    "treasurer.dues_settings": TREASURY,
    "webhooks.stripe_webhook": PUBLIC,
    "workplaces.index": WORKPLACE_VIEWERS,
    "workplaces.detail": WORKPLACE_VIEWERS,
    "workplaces.create": WORKPLACE_EDITORS,
    "workplaces.edit": WORKPLACE_EDITORS,
    "workplaces.confirm": WORKPLACE_EDITORS,
    "workplaces.merge": WORKPLACE_EDITORS,
    "workplaces.add_funding": WORKPLACE_EDITORS,
    "workplaces.edit_funding": WORKPLACE_EDITORS,
    "workplaces.delete_funding": WORKPLACE_EDITORS,
    "workplaces.jobs": WORKPLACE_EDITORS,
    "workplaces.assign_steward": ADMIN,
    "workplaces.unassign_steward": ADMIN,
    "grievances.index": CASES,
    "grievances.cases": CASES,
    "grievances.new": CASES,
    "grievances.detail": CASES,
    "grievances.edit": CASES,
    "grievances.move": CASES,
    "grievances.close": CASES,
    "grievances.add_note": CASES,
    "grievances.add_document": CASES,
    "grievances.document": CASES,
    "grievances.case_file": CASES,
    "grievances.case_file_pdf": CASES,
    "grievances.reassign": CASES,
    "grievances.add_grievant": CASES,
    "grievances.people": CASES,
    "grievances.deadlines": CASES,
    "grievances.mine": MEMBER,
    "grievances.raise_problem": MEMBER,
    "grievances.raised": MEMBER,
    "grievances.counts": GRIEVANCE_COUNTS,
    "grievances.counts_csv": GRIEVANCE_COUNTS,
    "grievances.calendar_settings": STEWARD,
    "grievances.new_calendar_feed": STEWARD,
    "grievances.revoke_calendar_feed": STEWARD,
    "grievances.calendar_feed": PUBLIC,
    "survey.answer": MEMBER,
    "survey.thanks": MEMBER,
    "reports.index": REPORT_READERS,
    "reports.open_round": REPORT_READERS,
    "reports.close_round": REPORT_READERS,
    "reports.catalogue": REPORT_READERS,
    "reports.show": REPORT_READERS,
    "reports.download": REPORT_READERS,
    "messages.index": MESSAGE_AUTHORS,
    "messages.compose": MESSAGE_AUTHORS,
    "messages.detail": MESSAGE_AUTHORS,
    "messages.pause": MESSAGE_AUTHORS,
    "messages.resume": MESSAGE_AUTHORS,
    "messages.consent": MEMBER,
    "messages.unsubscribe": PUBLIC,
    "admin.users": ADMIN,
    "admin.user": ADMIN,
    "admin.grant_role": ADMIN,
    "admin.revoke_role": ADMIN,
    "admin.disable": ADMIN,
    "admin.enable": ADMIN,
    "admin.union_settings": ADMIN,
    "admin.audit_log": ADMIN,
    "admin.audit_export": ADMIN,
    "admin.background_work": ADMIN,
    "admin.retry_jobs": ADMIN,
    "admin.corrections": ADMIN,
    "admin.correction": ADMIN,
    "admin.breaches": ADMIN,
    "admin.new_breach": ADMIN,
    "admin.breach": ADMIN,
    "notifications.index": SIGNED_IN,
    "notifications.mark_all_read": SIGNED_IN,
    "notifications.settings": SIGNED_IN,
    "notifications.call_list_page": ROSTER,
    "notifications.told": ROSTER,
}

#: Public endpoints that exist only when configured on; the test app leaves them off.
OFF_UNLESS_CONFIGURED = frozenset({"main.floor", "main.metrics"})

#: Endpoints about one member or workplace of workplace A: who, though allowed the
#: endpoint, may not see that object and so gets 404. (test_steward_scope.py posts
#: real forms to every route naming an object, as the steward of workplace B.)
OTHER_STEWARD = frozenset({"other steward"})
OUT_OF_SCOPE = {
    "members.detail": OTHER_STEWARD,
    "members.edit": OTHER_STEWARD,
    "members.accept": OTHER_STEWARD,
    "members.decline": OTHER_STEWARD,
    "members.change_status": OTHER_STEWARD,
    "members.add_employment": OTHER_STEWARD,
    "members.end_employment": OTHER_STEWARD,
    "workplaces.detail": OTHER_STEWARD,
    "dues.record_payment": OTHER_STEWARD,
    # A receipt: its member, the delegate who wrote it, stewards of the member's
    # workplace, the treasurer and admins; nobody else.
    "dues.receipt": frozenset({"other steward", "organizer"}),
    "dues.card_receipt": frozenset({"other steward", "organizer"}),
    "grievances.detail": OTHER_STEWARD,
    "grievances.edit": OTHER_STEWARD,
    "grievances.move": OTHER_STEWARD,
    "grievances.close": OTHER_STEWARD,
    "grievances.add_note": OTHER_STEWARD,
    "grievances.add_document": OTHER_STEWARD,
    "grievances.document": OTHER_STEWARD,
    "grievances.case_file": OTHER_STEWARD,
    "grievances.case_file_pdf": OTHER_STEWARD,
    "grievances.reassign": OTHER_STEWARD,
    "grievances.add_grievant": OTHER_STEWARD,
    "grievances.people": OTHER_STEWARD,
    "grievances.deadlines": OTHER_STEWARD,
    # The world's member chose email, so is on nobody's call list.
    "notifications.told": frozenset({"steward", "other steward", "admin"}),
    # The world's case names the member but a steward opened it: the page that
    # confirms a problem was raised shows only problems the member raised online.
    "grievances.raised": frozenset({"member"}),
}

PERSONAS = (
    "anonymous",
    "member",
    "steward",
    "other steward",
    "organizer",
    "treasurer",
    "admin",
)
PERSONA_ROLES = {
    "anonymous": frozenset(),
    "member": frozenset({Role.MEMBER}),
    "steward": frozenset({Role.STEWARD}),
    "other steward": frozenset({Role.STEWARD}),
    "organizer": frozenset({Role.ORGANIZER}),
    "treasurer": frozenset({Role.TREASURER}),
    "admin": frozenset({Role.ADMIN}),
}


def endpoints(app):
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()})


def test_every_endpoint_has_a_row_in_the_policy_table(app):
    missing = [endpoint for endpoint in endpoints(app) if endpoint not in POLICY]
    assert missing == [], f"add these to POLICY: {missing}"
    stale = [endpoint for endpoint in POLICY if endpoint not in endpoints(app)]
    assert stale == []


def test_every_endpoint_declares_exactly_what_the_table_says(app):
    for endpoint in endpoints(app):
        rule = rule_for(app, endpoint)
        assert rule is not None, f"{endpoint} declares no access rule"
        expected = POLICY[endpoint]
        if expected == PUBLIC:
            assert rule.audience is Audience.PUBLIC, endpoint
        elif expected == SIGNED_IN:
            assert rule.audience is Audience.SIGNED_IN, endpoint
        else:
            assert (rule.audience, rule.roles) == (Audience.ROLES, expected), endpoint


def url_for_rule(rule, world):
    values = {
        "public_id": world.member.public_id,
        "workplace_id": world.here.id,
        "user_id": world.accounts["steward"].id,
        "funding_id": world.funding.id,
        "employment_id": world.member.employments[0].id,
        "token": "not-a-real-token",
        "role": Role.ORGANIZER.value,
        "filename": "css/app.css",
        "number": world.receipt.receipt_number,
        "level_id": world.receipt.member.dues_level_id,
        "delegate_id": world.accounts["steward"].id,
        "month": world.receipt.paid_on.strftime("%Y-%m"),
        "case_number": world.waiver.case_number,
        "decision": "grant",
        "document_id": world.document.id,
        "feed_token": world.feed_token,
        "request_id": world.correction.id,
        "breach_id": world.breach.id,
        "round_id": world.survey_round.id,
        "report": "wages",
        "level": "workplace",
        "scope": str(world.here.id),
        "import_id": world.roster_import.id,
    }
    if rule.endpoint.startswith("grievances."):
        values["public_id"] = world.grievance.public_id
    if "payment_id" in rule.arguments:
        values["payment_id"] = card_payment(world).id
    if "message_id" in rule.arguments:
        values["message_id"] = message_to_members(world).id
    return rule.build({name: values[name] for name in rule.arguments})[1]


def card_payment(world):
    """The member's card payment, made the first time a URL needs one, so that the
    world every other test sees keeps its single (cash) payment."""
    found = db.session.scalar(
        sa.select(DuesPayment).where(
            DuesPayment.member_id == world.member.id,
            DuesPayment.method.in_(CARD_METHODS),
        )
    )
    return found or ledger.record_payment(
        world.member,
        method=PaymentMethod.CARD_SUBSCRIPTION,
        amount_cents=1100,
        months=1,
        paid_on=world.receipt.paid_on,
        now=world.receipt.recorded_at,
        stripe_invoice_id="in_world_card",
    )


def message_to_members(world):
    """A message the admin sent to workplace A, made the first time a URL needs
    one (organizers may read it: it went to a workplace)."""
    found = db.session.scalar(sa.select(MemberMessage))
    if found is not None:
        return found
    messages.record_consent(
        world.member,
        Channel.EMAIL,
        granted=True,
        source=ConsentSource.PROFILE,
        now=world.receipt.recorded_at,
    )
    return messages.send(
        messages.Draft(
            messages.Segment(SegmentKind.WORKPLACE, str(world.here.id)),
            "Meeting",
            "Thursday at 6.",
        ),
        actor=world.accounts["admin"],
        now=world.receipt.recorded_at,
        texts_enabled=False,
    )


def cases():
    from tests.conftest import config_for_tests
    from union import create_app

    app = create_app(config_for_tests())
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for persona in PERSONAS:
                yield pytest.param(
                    rule.endpoint,
                    method,
                    persona,
                    id=f"{method} {rule.endpoint} as {persona}",
                )


@pytest.mark.parametrize(("endpoint", "method", "persona"), list(cases()))
def test_authorization_matrix(app, client, world, endpoint, method, persona):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    url = url_for_rule(rule, world)
    if persona != "anonymous":
        client.sign_in(world.accounts[persona].email)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.submit(
            url, {}, page="/login" if persona == "anonymous" else "/account"
        )
    status, location = response.status_code, response.headers.get("Location", "")

    expected = POLICY[endpoint]
    signed_out_redirect = status == 302 and "/login" in location and "next=" in location
    if endpoint in OFF_UNLESS_CONFIGURED:
        assert status == 404
        return
    if expected == PUBLIC:
        assert status not in (403, 404) and not signed_out_redirect
        return
    if persona == "anonymous":
        assert signed_out_redirect, (status, location)
        return
    allowed = expected == SIGNED_IN or not PERSONA_ROLES[persona].isdisjoint(expected)
    if not allowed:
        assert status == 403
    elif persona in OUT_OF_SCOPE.get(endpoint, frozenset()):
        assert status == 404
    else:
        assert status not in (403, 404, 405, 500) and not signed_out_redirect, status


@pytest.mark.parametrize("persona", PERSONAS)
def test_one_tables_download_answers_everyone_as_its_reports_download_does(
    client, world, persona
):
    """`?table=` asks the report download for one table of its page: the same
    endpoint, the same rule, and for those allowed an unknown table is a 400."""
    base = (
        f"/reports/rounds/{world.survey_round.id}/wages/workplace/{world.here.id}/csv"
    )
    if persona != "anonymous":
        client.sign_in(world.accounts[persona].email)
    one_table = client.get(f"{base}?table=hourly_wage")
    unknown = client.get(f"{base}?table=no_such_table")
    if persona == "anonymous":
        for response in (one_table, unknown):
            assert response.status_code == 302
            assert "/login" in response.headers["Location"]
    elif PERSONA_ROLES[persona].isdisjoint(POLICY["reports.download"]):
        assert (one_table.status_code, unknown.status_code) == (403, 403)
    else:
        assert (one_table.status_code, unknown.status_code) == (200, 400)
        assert one_table.mimetype == "text/csv"
