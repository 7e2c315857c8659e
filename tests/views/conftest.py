from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from union.db import db
from union.models import (
    Breach,
    CorrectionRequest,
    DuesPayment,
    DuesWaiver,
    FundingSource,
    Grievance,
    GrievanceDocument,
    Member,
    PaymentMethod,
    Role,
    RosterImport,
    SurveyRound,
    User,
    WaiverReason,
    Workplace,
)
from union.services import grievances, ledger, privacy, survey, waivers


@pytest.fixture(autouse=True)
def _in_a_rolled_back_transaction(database):
    """Every view test runs on a transaction rolled back after it."""


@dataclass
class World:
    """A small union: workplace A (covered by `steward`) and B (by `other_steward`)."""

    here: Workplace
    there: Workplace
    member: Member
    stranger: Member
    funding: FundingSource
    accounts: dict[str, User]
    #: Cash the steward took from the member, with a receipt.
    receipt: DuesPayment
    #: The member's pending hardship waiver.
    waiver: DuesWaiver
    #: A case at workplace A naming `member`, with a note and a document.
    grievance: Grievance
    document: GrievanceDocument
    #: The secret of `steward`'s calendar feed.
    feed_token: str
    #: The member's open request to correct their record.
    correction: CorrectionRequest
    #: One entry in the breach register.
    breach: Breach
    #: A closed survey round the member answered, with its reports stored.
    survey_round: SurveyRound
    #: A roster file the admin imported (adding nobody).
    roster_import: RosterImport


@pytest.fixture
def world(make) -> World:
    here, there = make.workplace("Here Agency"), make.workplace("There Agency")
    member_user = make.user("member@example.org", name=None)
    member = make.member(here, user=member_user, name="Robin Here")
    stranger = make.member(there, name="Sky There", email="stranger@example.org")
    accounts = {
        "member": member_user,
        "steward": make.steward(here, email="steward@example.org"),
        "other steward": make.steward(there, email="other-steward@example.org"),
        "organizer": make.user("organizer@example.org", roles=(Role.ORGANIZER,)),
        "treasurer": make.user("treasurer@example.org", roles=(Role.TREASURER,)),
        "admin": make.user("admin@example.org", roles=(Role.ADMIN,)),
    }
    funding = make.funding(here, ends_on=None)
    receipt = ledger.record_hand_payment(
        member,
        method=PaymentMethod.CASH,
        months=1,
        amount_cents=2200,
        paid_on=make.now.date(),
        reference=None,
        actor=accounts["steward"],
        now=make.now,
    )
    waiver = waivers.request_waiver(
        member,
        reason=WaiverReason.OTHER,
        first_month=date(2026, 12, 1),
        last_month=date(2027, 1, 1),
        actor=member_user,
        now=make.now,
    )
    grievance = make.grievance(
        here, steward=accounts["steward"], grievants=[member], title="Short pay"
    )
    make.note(grievance, "Manager admitted the rate was wrong.", accounts["steward"])
    document = make.document(grievance, uploaded_by=accounts["steward"])
    feed_token = grievances.create_calendar_feed(
        actor=accounts["steward"], now=make.now
    )
    correction = privacy.request_correction(
        member, "My job is outreach worker.", actor=member_user, now=make.now
    )
    breach = privacy.record_breach(
        privacy.BreachDetails(
            discovered_on=make.now.date(),
            description="A steward's phone with the roster was lost.",
            data_affected="Names and phone numbers",
            people_affected=12,
            real_risk_of_significant_harm=True,
        ),
        actor=accounts["admin"],
        now=make.now,
    )
    survey_round = survey.open_round(
        "Spring", actor=accounts["organizer"], now=make.now
    )
    survey.answer(
        member,
        survey_round,
        survey.Answers(
            workplace_id=here.id, classification_id=make.classification().id
        ),
        now=make.now,
    )
    survey.close_round(survey_round, actor=accounts["organizer"], now=make.now)
    roster_import = RosterImport(
        imported_at=make.now, imported_by_id=accounts["admin"].id, members_added=0
    )
    db.session.add(roster_import)
    db.session.flush()
    return World(
        here,
        there,
        member,
        stranger,
        funding,
        accounts,
        receipt,
        waiver,
        grievance,
        document,
        feed_token,
        correction,
        breach,
        survey_round,
        roster_import,
    )
