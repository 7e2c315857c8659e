"""Plain-language, translatable names for every enum value shown to people."""

from __future__ import annotations

import enum

from flask_babel import LazyString

from union.i18n import _l
from union.models import (
    BargainingStatus,
    Channel,
    ConsentSource,
    ContactPreference,
    CorrectionStatus,
    GrievanceCategory,
    GrievanceEventKind,
    GrievanceOutcome,
    GrievanceStep,
    MembershipClass,
    MemberStatus,
    MessageState,
    NoticeKind,
    PaymentMethod,
    Role,
    Sector,
    WaiverReason,
    WaiverStatus,
    WorkplaceStatus,
)
from union.rules.grievance_steps import Urgency

LABELS: dict[enum.Enum, LazyString] = {
    MemberStatus.APPLICANT: _l("applicant"),
    MemberStatus.ACTIVE: _l("active"),
    MemberStatus.LAPSED: _l("lapsed"),
    MemberStatus.RESIGNED: _l("resigned"),
    MembershipClass.EMPLOYED: _l("Employed"),
    MembershipClass.UNEMPLOYED: _l("Unemployed"),
    MembershipClass.STUDENT: _l("Student"),
    ContactPreference.EMAIL: _l("Email"),
    ContactPreference.TEXT: _l("Text message"),
    ContactPreference.PHONE: _l("Phone call"),
    ContactPreference.IN_PERSON: _l("In person, through my steward"),
    Role.MEMBER: _l("Member"),
    Role.STEWARD: _l("Steward or delegate"),
    Role.ORGANIZER: _l("Organizer"),
    Role.TREASURER: _l("Treasurer"),
    Role.ADMIN: _l("Admin"),
    Sector.SUPERVISED_CONSUMPTION: _l("Supervised consumption"),
    Sector.OUTREACH: _l("Outreach"),
    Sector.DROP_IN: _l("Drop-in"),
    Sector.SHELTER: _l("Shelter"),
    Sector.PEER_PROGRAM: _l("Peer program"),
    Sector.HEALTH_CENTRE: _l("Community health centre"),
    Sector.HOUSING: _l("Housing"),
    Sector.OTHER: _l("Other"),
    BargainingStatus.UNORGANIZED: _l("Not organized"),
    BargainingStatus.ORGANIZING: _l("Organizing"),
    BargainingStatus.RECOGNIZED: _l("Recognized"),
    BargainingStatus.CERTIFIED: _l("Certified"),
    BargainingStatus.UNDER_CONTRACT: _l("Under contract"),
    PaymentMethod.CARD_SUBSCRIPTION: _l("Card, monthly"),
    PaymentMethod.CARD_ONE_OFF: _l("Card, one payment"),
    PaymentMethod.CASH: _l("Cash"),
    PaymentMethod.ETRANSFER: _l("E-transfer"),
    PaymentMethod.OPENING_BALANCE: _l("Paid before this system"),
    WaiverStatus.PENDING: _l("waiting for a decision"),
    WaiverStatus.GRANTED: _l("granted"),
    WaiverStatus.DECLINED: _l("declined"),
    GrievanceCategory.WAGE_DISCREPANCY: _l("Wage discrepancy"),
    GrievanceCategory.NO_RAISE: _l("No raise"),
    GrievanceCategory.BENEFITS: _l("Benefits"),
    GrievanceCategory.TIME_OFF: _l("Vacation or sick days"),
    GrievanceCategory.SOCIAL_ASSISTANCE: _l("Relying on social assistance"),
    GrievanceCategory.LIVED_EXPERIENCE: _l("Discrimination based on lived experience"),
    GrievanceCategory.PRECARIOUS_FUNDING: _l("Precarious funding or layoff"),
    GrievanceCategory.SCHEDULING: _l("Scheduling"),
    GrievanceCategory.HEALTH_SAFETY: _l("Health and safety"),
    GrievanceCategory.OTHER: _l("Other"),
    GrievanceStep.INTAKE: _l("Intake"),
    GrievanceStep.STEP_1: _l("Step 1"),
    GrievanceStep.STEP_2: _l("Step 2"),
    GrievanceStep.ARBITRATION: _l("Arbitration"),
    GrievanceStep.RESOLVED: _l("Resolved"),
    GrievanceStep.WITHDRAWN: _l("Withdrawn"),
    GrievanceStep.LOST: _l("Lost"),
    GrievanceOutcome.WON: _l("Won"),
    GrievanceOutcome.PARTLY_WON: _l("Partly won"),
    GrievanceOutcome.LOST: _l("Lost"),
    GrievanceOutcome.WITHDRAWN: _l("Withdrawn"),
    GrievanceEventKind.OPENED: _l("Case opened"),
    GrievanceEventKind.MOVED: _l("Moved on"),
    GrievanceEventKind.OUTCOME_RECORDED: _l("Closed with an outcome"),
    GrievanceEventKind.NOTE_ADDED: _l("Note added"),
    GrievanceEventKind.DOCUMENT_ADDED: _l("Document added"),
    GrievanceEventKind.STEWARD_REASSIGNED: _l("Steward changed"),
    GrievanceEventKind.GRIEVANT_ADDED: _l("Grievant added"),
    GrievanceEventKind.DETAILS_CHANGED: _l("Details changed"),
    NoticeKind.DUES_REMINDER: _l("Reminder about dues owed"),
    NoticeKind.PAYMENT_FAILED: _l("A card payment did not go through"),
    Urgency.OVERDUE: _l("Overdue"),
    Urgency.DUE_SOON: _l("Due soon"),
    Urgency.ON_TRACK: _l("On track"),
}


#: Enums with a value another enum has too ("other", "pending", "declined"). A
#: StrEnum hashes as its text, so in LABELS the later one's words would stand for
#: both: each of these keeps its words apart.
OWN_LABELS: dict[type[enum.Enum], dict[enum.Enum, LazyString]] = {
    MessageState: {
        MessageState.DRAFT: _l("not sent yet"),
        MessageState.SENDING: _l("being sent"),
        MessageState.PAUSED: _l("paused"),
        MessageState.SENT: _l("sent"),
    },
    Channel: {
        Channel.EMAIL: _l("Email"),
        Channel.TEXT: _l("Text message"),
        Channel.IN_PERSON: _l("In person"),
    },
    ConsentSource: {
        ConsentSource.JOINING_FORM: _l("on the joining form"),
        ConsentSource.PROFILE: _l("on your membership page"),
        ConsentSource.UNSUBSCRIBE_LINK: _l("with the link in a message"),
        ConsentSource.ADMIN: _l("by an admin, at your request"),
        ConsentSource.TEXT_REPLY: _l("by answering STOP to a text message"),
    },
    WaiverReason: {
        WaiverReason.UNEMPLOYMENT: _l("I lost my job or my contract ended"),
        WaiverReason.REDUCED_HOURS: _l("My hours or pay were cut"),
        WaiverReason.ILLNESS_OR_INJURY: _l("Illness or injury"),
        WaiverReason.FAMILY_OR_CARE: _l("Family or caring for someone"),
        WaiverReason.HOUSING_CRISIS: _l("Housing crisis"),
        WaiverReason.OTHER: _l("Something else"),
    },
    WorkplaceStatus: {
        WorkplaceStatus.PENDING: _l("Waiting for an organizer to confirm"),
        WorkplaceStatus.CONFIRMED: _l("Confirmed"),
    },
    CorrectionStatus: {
        CorrectionStatus.OPEN: _l("Waiting for an answer"),
        CorrectionStatus.CORRECTED: _l("Corrected"),
        CorrectionStatus.DECLINED: _l("Not changed"),
    },
}


#: A card subscription's state, as Stripe names it.
SUBSCRIPTION_STATUSES: dict[str, LazyString] = {
    "active": _l("Active"),
    "trialing": _l("Active"),
    "past_due": _l("Stripe is trying the card again"),
    "unpaid": _l("Stopped: the card was refused"),
    "incomplete": _l("Not finished"),
    "incomplete_expired": _l("Never finished"),
    "paused": _l("Paused"),
    "canceled": _l("Stopped"),
}


def lazy_label(value: enum.Enum) -> LazyString:
    """A value's words, translated when shown (for form choices made at import)."""
    own = OWN_LABELS.get(type(value))
    return own[value] if own is not None else LABELS[value]


def label(value: enum.Enum) -> str:
    return str(lazy_label(value))


def subscription_status(status: str) -> str:
    """A card subscription's state in plain words; one Stripe adds later is shown
    as Stripe names it."""
    found = SUBSCRIPTION_STATUSES.get(status)
    return str(found) if found is not None else status
