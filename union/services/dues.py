"""Dues: levels and their history, each member's standing and dues page, quotes,
receipts, and arrears reminders.

Money is written in union.services.ledger: this module only reads payments and the
months they cover.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from union import clock
from union.clock import first_of_month, month_index, month_start
from union.db import db
from union.errors import NotFound, ValidationFailed
from union.i18n import _
from union.models import (
    CARD_METHODS,
    DuesCoverage,
    DuesLevel,
    DuesLevelChoice,
    DuesNotice,
    DuesPayment,
    DuesRate,
    DuesSubscription,
    DuesWaiver,
    Member,
    MemberStatus,
    NoticeKind,
    Role,
    User,
    WaiverStatus,
)
from union.models.dues import in_language
from union.rules.standing import Standing, months_to_cover, standing
from union.services import audit, settings, treasury
from union.services.paging import Page, paginate
from union.services.scope import visible_members


@dataclass(frozen=True, slots=True)
class LevelOffer:
    id: int
    code: str
    name: str
    bracket: str
    monthly_cents: int
    name_fr: str | None = None
    bracket_fr: str | None = None

    def bracket_for(self, language: str) -> str:
        return in_language(language, self.bracket, self.bracket_fr)


@dataclass(frozen=True, slots=True)
class LevelWording:
    """What a level is called and who it is for, in English and optionally French."""

    name: str
    bracket: str
    name_fr: str = ""
    bracket_fr: str = ""


def offered_levels(day: date) -> list[LevelOffer]:
    """Levels a member can choose on `day`, cheapest first, with the amount then in force."""
    return _offers(all_levels(), day)


def _offers(levels: Iterable[DuesLevel], day: date) -> list[LevelOffer]:
    """The levels (in their order) still offered on `day`, with their amount then."""
    offers = []
    for level in levels:
        if level.retired_on is not None and level.retired_on <= day:
            continue
        amount = level.monthly_cents_on(day)
        if amount is not None:
            offers.append(
                LevelOffer(
                    level.id,
                    level.code,
                    level.name,
                    level.bracket,
                    amount,
                    level.name_fr,
                    level.bracket_fr,
                )
            )
    return offers


def level_by_code(code: str) -> DuesLevel | None:
    return db.session.scalar(sa.select(DuesLevel).where(DuesLevel.code == code))


def all_levels() -> list[DuesLevel]:
    """Every level with its rates, in one query (a handful of rows)."""
    return list(
        db.session.scalars(
            sa.select(DuesLevel)
            .options(joinedload(DuesLevel.rates))
            .order_by(DuesLevel.position, DuesLevel.id)
        ).unique()
    )


# Levels, for the treasurer ---------------------------------------------------------


def _check_level_text(code: str | None, wording: LevelWording) -> dict[str, str]:
    errors = {}
    if code is not None and not code.replace("_", "").isalnum():
        errors["code"] = _("Use letters, digits and underscores, like low_income.")
    if not wording.name.strip():
        errors["name"] = _("Give the level a name.")
    if not wording.bracket.strip():
        errors["bracket"] = _("Say in plain words who this level is for.")
    return errors


def _apply_wording(level: DuesLevel, wording: LevelWording) -> None:
    level.name, level.bracket = wording.name.strip(), wording.bracket.strip()
    level.name_fr = wording.name_fr.strip() or None
    level.bracket_fr = wording.bracket_fr.strip() or None


def _check_effective_month(effective_on: date, now: datetime) -> dict[str, str]:
    if effective_on.day != 1:
        return {"effective_on": _("Amounts change on the first day of a month.")}
    if effective_on < first_of_month(clock.today(now)):
        return {
            "effective_on": _(
                "Choose this month or a later one: past months may be paid already."
            )
        }
    return {}


def add_level(
    *,
    code: str,
    wording: LevelWording,
    monthly_cents: int,
    effective_on: date,
    actor: User,
    now: datetime,
) -> DuesLevel:
    code = code.strip().lower()
    errors = _check_level_text(code, wording) | _check_effective_month(
        effective_on, now
    )
    if monthly_cents <= 0:
        errors["monthly_amount"] = _("Enter an amount above zero.")
    if code and level_by_code(code) is not None:
        errors["code"] = _("Another level already has this code.")
    if errors:
        raise ValidationFailed(errors)
    position = (db.session.scalar(sa.select(sa.func.max(DuesLevel.position))) or 0) + 1
    level = DuesLevel(code=code, position=position, created_at=now)
    _apply_wording(level, wording)
    level.rates.append(
        DuesRate(monthly_cents=monthly_cents, effective_on=effective_on, created_at=now)
    )
    db.session.add(level)
    db.session.flush()
    audit.record("dues.level_added", actor=actor, now=now, subject=level)
    return level


def update_level(
    level: DuesLevel, *, wording: LevelWording, actor: User, now: datetime
) -> None:
    errors = _check_level_text(None, wording)
    if errors:
        raise ValidationFailed(errors)
    _apply_wording(level, wording)
    audit.record("dues.level_updated", actor=actor, now=now, subject=level)
    db.session.flush()


def schedule_rate(
    level: DuesLevel,
    *,
    monthly_cents: int,
    effective_on: date,
    actor: User,
    now: datetime,
) -> DuesRate:
    """Sets a new monthly amount from the first of a month on (replacing one already
    scheduled for that month). Earlier months keep the amount they had."""
    errors = _check_effective_month(effective_on, now)
    if monthly_cents <= 0:
        errors["monthly_amount"] = _("Enter an amount above zero.")
    if errors:
        raise ValidationFailed(errors)
    rate = next((r for r in level.rates if r.effective_on == effective_on), None)
    if rate is None:
        rate = DuesRate(
            effective_on=effective_on, monthly_cents=monthly_cents, created_at=now
        )
        level.rates.append(rate)
    else:
        rate.monthly_cents = monthly_cents
        rate.stripe_price_id = None
    audit.record(
        "dues.rate_scheduled",
        actor=actor,
        now=now,
        subject=level,
        detail=f"from={effective_on.isoformat()}",
    )
    db.session.flush()
    return rate


def retire_level(level: DuesLevel, *, actor: User, now: datetime) -> None:
    """Stops offering a level to new choices; members already on it keep it."""
    level.retired_on = clock.today(now)
    audit.record("dues.level_retired", actor=actor, now=now, subject=level)
    db.session.flush()


# Each member's level over time ------------------------------------------------------


def record_first_level(member: Member, *, now: datetime) -> None:
    """The level chosen when joining, in force from the month the member joined."""
    db.session.add(
        DuesLevelChoice(
            member_id=member.id,
            level_id=member.dues_level_id,
            effective_month=first_of_month(member.joined_on),
            chosen_at=now,
        )
    )


def level_choices(member_id: int) -> list[DuesLevelChoice]:
    return list(
        db.session.scalars(
            sa.select(DuesLevelChoice)
            .where(DuesLevelChoice.member_id == member_id)
            .order_by(DuesLevelChoice.effective_month)
        )
    )


def level_id_for_month(
    member: Member, choices: list[DuesLevelChoice], month: date
) -> int:
    """The level the member pays at in `month` (choices sorted by month)."""
    chosen = None
    for choice in choices:
        if choice.effective_month <= month:
            chosen = choice.level_id
    if chosen is None:
        chosen = choices[0].level_id if choices else member.dues_level_id
    return chosen


def change_level(
    member: Member, level_id: int, *, actor: User, now: datetime
) -> DuesLevelChoice:
    """Moves the member to another level from the first day of next month."""
    today = clock.today(now)
    if level_id not in {offer.id for offer in offered_levels(today)}:
        raise ValidationFailed(
            {"dues_level": _("Choose one of the dues levels shown.")}
        )
    effective = month_start(month_index(today) + 1)
    choice = db.session.scalar(
        sa.select(DuesLevelChoice).where(
            DuesLevelChoice.member_id == member.id,
            DuesLevelChoice.effective_month == effective,
        )
    )
    if choice is None:
        choice = DuesLevelChoice(member_id=member.id, effective_month=effective)
        db.session.add(choice)
    choice.level_id = level_id
    choice.chosen_at = now
    choice.chosen_by_id = actor.id
    member.dues_level_id = level_id
    audit.record("dues.level_changed", actor=actor, now=now, subject=member)
    db.session.flush()
    return choice


def _amount(
    member: Member,
    choices: list[DuesLevelChoice],
    levels: dict[int, DuesLevel],
    month: date,
) -> int:
    level = levels[level_id_for_month(member, choices, month)]
    amount = level.monthly_cents_on(month)
    return amount if amount is not None else level.rates[0].monthly_cents


def monthly_cents(member: Member, months: list[date]) -> list[int]:
    """What the member owes for each of `months`, at their level in that month."""
    choices = level_choices(member.id)
    levels = {level.id: level for level in all_levels()}
    return [_amount(member, choices, levels, month) for month in months]


# Standing -----------------------------------------------------------------------------


def start_month(member: Member) -> date:
    return first_of_month(member.joined_on)


def end_month(member: Member) -> date | None:
    return first_of_month(member.left_on) if member.left_on else None


def covered_months(member_id: int) -> set[date]:
    return set(
        db.session.scalars(
            sa.select(DuesCoverage.month).where(DuesCoverage.member_id == member_id)
        )
    )


def card_retrying(member_id: int) -> bool:
    """Whether Stripe is still retrying a failed card payment for this member."""
    return bool(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(DuesSubscription)
            .where(
                DuesSubscription.member_id == member_id,
                DuesSubscription.status == "past_due",
            )
        )
    )


def member_standing(
    member: Member, *, now: datetime, threshold: int | None = None
) -> Standing:
    """One member's standing, in a fixed number of queries."""
    if threshold is None:
        threshold = settings.current_settings().good_standing_max_arrears
    return standing(
        start_month=start_month(member),
        current_month=first_of_month(clock.today(now)),
        end_month=end_month(member),
        covered=covered_months(member.id),
        threshold=threshold,
        card_retrying=card_retrying(member.id),
    )


#: Payments shown on the dues page; the rest are on the history pages.
RECENT_PAYMENTS = 12


@dataclass(frozen=True, slots=True)
class MemberDues:
    """Everything the member's dues page shows."""

    member: Member
    standing: Standing
    level: DuesLevel
    monthly_cents: int
    #: A level chosen to start in a later month, if any, that month and its amount.
    next_level: DuesLevel | None
    next_month: date | None
    next_monthly_cents: int | None
    #: The levels the member may move to this month.
    offers: list[LevelOffer]
    initiation_paid: bool
    #: The latest payments, newest first, and how many there are in all.
    payments: list[DuesPayment]
    #: The months each of those payments covers, in order.
    months_by_payment: dict[int, list[date]]
    payment_count: int
    waivers: list[DuesWaiver]
    subscription: DuesSubscription | None
    #: A card subscription still charging (or trying to), if any.
    live_subscription: DuesSubscription | None
    #: What paying so many months now costs, for the months asked for.
    quotes: dict[int, Quote]

    @property
    def more_payments(self) -> bool:
        return self.payment_count > len(self.payments)


#: A payment that paid the initiation fee and was not refunded or disputed in full:
#: while one exists, the member owes no initiation fee.
_PAID_INITIATION = sa.and_(
    DuesPayment.initiation_cents > 0,
    DuesPayment.refunded_cents + DuesPayment.disputed_cents < DuesPayment.amount_cents,
)


def _payment_totals(member_id: int) -> tuple[int, bool]:
    """How many payments the member made, and whether one paid the initiation fee."""
    count, initiations = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(sa.case((_PAID_INITIATION, DuesPayment.id))),
        ).where(DuesPayment.member_id == member_id)
    ).one()
    return int(count), bool(initiations)


def _payments_newest_first(member_id: int) -> sa.Select[DuesPayment]:
    return (
        sa.select(DuesPayment)
        .where(DuesPayment.member_id == member_id)
        .order_by(DuesPayment.paid_on.desc(), DuesPayment.id.desc())
    )


def member_dues(
    member: Member, *, now: datetime, quote_months: Iterable[int] = ()
) -> MemberDues:
    """The member's dues page data, with the price of paying each of `quote_months`
    months now, in a fixed number of queries whatever the history."""
    today = clock.today(now)
    this_month = first_of_month(today)
    # Every covered month once: for the standing, and for the months each of the
    # latest payments covered.
    months_by_payment: dict[int, list[date]] = {}
    covered = set()
    for month, payment_id in db.session.execute(
        sa.select(DuesCoverage.month, DuesCoverage.payment_id)
        .where(DuesCoverage.member_id == member.id)
        .order_by(DuesCoverage.month)
    ):
        covered.add(month)
        if payment_id is not None:
            months_by_payment.setdefault(payment_id, []).append(month)
    subscriptions = list(
        db.session.scalars(
            sa.select(DuesSubscription)
            .where(DuesSubscription.member_id == member.id)
            .order_by(DuesSubscription.last_event_created.desc())
        )
    )
    current_standing = standing(
        start_month=start_month(member),
        current_month=this_month,
        end_month=end_month(member),
        covered=covered,
        threshold=settings.current_settings().good_standing_max_arrears,
        card_retrying=any(s.is_retrying for s in subscriptions),
    )
    choices = level_choices(member.id)
    ordered_levels = all_levels()
    levels = {level.id: level for level in ordered_levels}
    level = levels[level_id_for_month(member, choices, this_month)]
    upcoming = [c for c in choices if c.effective_month > this_month]
    next_level = levels[upcoming[-1].level_id] if upcoming else None
    next_month = upcoming[-1].effective_month if upcoming else None
    payments = list(
        db.session.scalars(_payments_newest_first(member.id).limit(RECENT_PAYMENTS))
    )
    payment_count, paid_initiation = _payment_totals(member.id)
    waivers = list(
        db.session.scalars(
            sa.select(DuesWaiver)
            .where(DuesWaiver.member_id == member.id)
            .order_by(DuesWaiver.requested_at.desc())
        )
    )
    return MemberDues(
        member=member,
        standing=current_standing,
        level=level,
        monthly_cents=level.monthly_cents_on(this_month)
        or level.rates[0].monthly_cents,
        next_level=next_level,
        next_month=next_month,
        next_monthly_cents=(
            next_level.monthly_cents_on(next_month)
            if next_level is not None and next_month is not None
            else None
        ),
        offers=_offers(ordered_levels, today),
        initiation_paid=paid_initiation,
        payments=payments,
        months_by_payment={p.id: months_by_payment.get(p.id, []) for p in payments},
        payment_count=payment_count,
        waivers=waivers,
        subscription=subscriptions[0] if subscriptions else None,
        live_subscription=next((s for s in subscriptions if s.is_live), None),
        quotes=_quotes(member, quote_months, covered, choices, levels, paid_initiation),
    )


def payment_history(member: Member, *, page: int, per_page: int) -> Page[DuesPayment]:
    """All of the member's payments, newest first, a page at a time."""
    return paginate(
        _payments_newest_first(member.id).options(selectinload(DuesPayment.coverage)),
        page=page,
        per_page=per_page,
    )


def initiation_paid(member_id: int) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(DuesPayment)
            .where(DuesPayment.member_id == member_id, _PAID_INITIATION)
        )
    )


# Quotes and receipts ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quote:
    """What a member owes for paying `months` months now."""

    months: list[date]
    dues_cents: int
    initiation_cents: int

    @property
    def total_cents(self) -> int:
        return self.dues_cents + self.initiation_cents


def quote(member: Member, months: int) -> Quote:
    """The price of the member's next `months` uncovered months, plus the initiation
    fee (one month at their level) if it has not been paid yet."""
    return quotes(member, (months,))[months]


def quotes(member: Member, counts: Iterable[int]) -> dict[int, Quote]:
    """Quotes for paying each of `counts` months now, from one read of the member's
    months, levels and payments (a fixed number of queries for any number of them)."""
    return _quotes(
        member,
        counts,
        covered_months(member.id),
        level_choices(member.id),
        {level.id: level for level in all_levels()},
        initiation_paid(member.id),
    )


def _quotes(
    member: Member,
    counts: Iterable[int],
    covered: set[date],
    choices: list[DuesLevelChoice],
    levels: dict[int, DuesLevel],
    paid_initiation: bool,
) -> dict[int, Quote]:
    initiation = 0
    if not paid_initiation:
        initiation = _amount(member, choices, levels, start_month(member))
    found = {}
    for count in counts:
        chosen = months_to_cover(start_month(member), covered, count)
        found[count] = Quote(
            months=chosen,
            dues_cents=sum(_amount(member, choices, levels, m) for m in chosen),
            initiation_cents=initiation,
        )
    return found


def payment_for_receipt(actor: User, receipt_number: int) -> DuesPayment:
    """A receipt, for the member it belongs to, the delegate who wrote it, stewards
    of the member's workplaces, the treasurer and admins; NotFound for anyone else."""
    payment = db.session.scalar(
        sa.select(DuesPayment).where(DuesPayment.receipt_number == receipt_number)
    )
    return _receipt_for(actor, payment)


def card_payment_for_receipt(actor: User, payment_id: int) -> DuesPayment:
    """A card payment's receipt, for the same people as a numbered receipt's:
    NotFound for anyone else, and for a payment that was not made by card."""
    payment = db.session.scalar(
        sa.select(DuesPayment).where(
            DuesPayment.id == payment_id, DuesPayment.method.in_(CARD_METHODS)
        )
    )
    return _receipt_for(actor, payment)


def _receipt_for(actor: User, payment: DuesPayment | None) -> DuesPayment:
    if payment is None:
        raise NotFound
    if actor.has_role(Role.TREASURER, Role.ADMIN) or payment.recorded_by_id == actor.id:
        return payment
    if actor.member is not None and actor.member.id == payment.member_id:
        return payment
    visible = db.session.scalar(
        visible_members(actor)
        .where(Member.id == payment.member_id)
        .with_only_columns(Member.id)
    )
    if visible is None:
        raise NotFound
    return payment


# Reminders ----------------------------------------------------------------------------

#: Members are reminded once they owe this many months (not counting a card payment
#: Stripe is still retrying): one month behind is just this month, not yet paid.
REMINDER_MIN_ARREARS = 2


@dataclass(frozen=True, slots=True)
class ArrearsReminder:
    """One member to remind about dues, and the months they owe."""

    member_id: int
    arrears: int


def claim_reminders(*, now: datetime) -> list[ArrearsReminder]:
    """Members to remind this month, each recorded as reminded so that however often
    the command runs, nobody gets a second reminder in the same month. Members with
    a pending waiver, or a granted one running this month, are never reminded."""
    today = clock.today(now)
    this_month = first_of_month(today)
    key = this_month.strftime("%Y-%m")
    arrears, retrying = treasury.arrears_columns(today)
    counted = arrears - sa.case((retrying, 1), else_=0)
    waived = sa.exists().where(
        DuesWaiver.member_id == Member.id,
        sa.or_(
            DuesWaiver.status == WaiverStatus.PENDING,
            sa.and_(
                DuesWaiver.status == WaiverStatus.GRANTED,
                DuesWaiver.last_month >= this_month,
            ),
        ),
    )
    reminded = sa.exists().where(
        DuesNotice.member_id == Member.id,
        DuesNotice.kind == NoticeKind.DUES_REMINDER,
        DuesNotice.key == key,
    )
    rows = db.session.execute(
        sa.select(Member.id, counted)
        .join(User, User.id == Member.user_id)
        .where(
            Member.status.in_((MemberStatus.ACTIVE, MemberStatus.LAPSED)),
            User.disabled_at.is_(None),
            counted >= REMINDER_MIN_ARREARS,
            ~waived,
            ~reminded,
        )
        .order_by(Member.id)
    ).all()
    for member_id, _owing in rows:
        db.session.add(
            DuesNotice(
                member_id=member_id, kind=NoticeKind.DUES_REMINDER, key=key, sent_at=now
            )
        )
    db.session.flush()
    return [ArrearsReminder(member_id, int(owing)) for member_id, owing in rows]
