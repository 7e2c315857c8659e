"""Each dues amount's Stripe price, and the card subscriptions moved to it.

Saving a level or an amount records, in the same transaction, a job that sets up
its price (`set_up_later`) and, for a new amount, a second job due when its month
begins (in the union's time zone) that moves the level's card subscriptions to it,
a batch per job. Both are safe to run again: a price is looked up by its lookup key
before one is created, and a subscription already on the price is skipped. `union
stripe-setup` sets prices up through the same `ensure_rate_price`.

A retired level keeps its members (they keep it and keep paying it), so its card
subscriptions move to its new amounts like any other level's, until the member
chooses another level.

The levels page reads how each amount stands (`card_states`) from the rates and the
jobs still waiting, running or parked: a fixed number of queries.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from union import clock
from union.adapters.payments import StripeGateway, SubscriptionEnded
from union.clock import first_of_month
from union.db import db
from union.models import DuesLevel, DuesRate, DuesSubscription, Job, JobState, Member
from union.services import jobs

PRICE_JOB = "stripe-price"
MOVE_JOB = "stripe-price-move"
#: Subscriptions moved by one job; the next batch is a job of its own, so a failure
#: repeats one batch at most.
MOVE_BATCH = 50
#: Stripe's statuses of a subscription that still bills.
LIVE_STATUSES = ("active", "trialing", "past_due", "incomplete")
_UNFINISHED = (JobState.WAITING, JobState.RUNNING, JobState.PARKED)


class PriceNotReady(Exception):
    """Subscriptions cannot move to an amount whose price is not set up yet: the
    job waits and tries again."""


# Recording the work -------------------------------------------------------------------


def _job_key(kind: str, rate: DuesRate) -> str:
    """Names the rate and amount, so the levels page finds the job without reading
    its payload; the rest is new each time, so an amount set back to what it was
    is set up again."""
    return f"{kind}:{rate.id}:{rate.monthly_cents}:{uuid.uuid4().hex}"


def _payload(rate: DuesRate, *, after_id: int = 0) -> dict[str, int]:
    """What a job needs: the rate, the amount it was recorded for, and for a move,
    the subscription after which its batch starts."""
    return {"rate_id": rate.id, "monthly_cents": rate.monthly_cents, "after": after_id}


def set_up_later(rate: DuesRate, *, now: datetime, move_subscriptions: bool) -> None:
    """Records the job that sets up the rate's price and, for a new amount of an
    existing level, the job that moves its card subscriptions when its month
    begins (flushed, in the caller's transaction)."""
    jobs.enqueue(PRICE_JOB, _payload(rate), now=now, key=_job_key(PRICE_JOB, rate))
    if move_subscriptions:
        _record_move(rate, now=now)


def _record_move(rate: DuesRate, *, now: datetime, after_id: int = 0) -> None:
    """The move job, due when the rate's month begins in the union's time zone
    (at once for an amount that starts this month)."""
    jobs.enqueue(
        MOVE_JOB,
        _payload(rate, after_id=after_id),
        now=now,
        key=_job_key(MOVE_JOB, rate),
        run_after=max(clock.start_of_day(rate.effective_on), now),
    )


def set_up_missing(levels: Iterable[DuesLevel], *, now: datetime) -> int:
    """Records a price job for every amount in force or to come that has neither
    a price nor a job on its way (levels made before Stripe was configured).
    Returns how many."""
    states = card_states(list(levels), now=now)
    recorded = 0
    for state in states.values():
        for amount in state.amounts:
            if amount.price is PriceState.NOT_SET_UP:
                set_up_later(amount.rate, now=now, move_subscriptions=False)
                recorded += 1
    return recorded


# Doing it -----------------------------------------------------------------------------


def lookup_key(level: DuesLevel, rate: DuesRate, *, current: bool) -> str:
    """`dues_<code>` always names the price in force; later amounts get a dated key."""
    if current:
        return f"dues_{level.code}"
    return f"dues_{level.code}_{rate.effective_on:%Y_%m}"


def ensure_rate_price(gateway: StripeGateway, rate: DuesRate, *, today: date) -> str:
    """Finds or creates the rate's monthly price and remembers it (flushed). The
    idempotency key comes from the rate and its amount, so a retried request never
    makes a second price; the lookup before it covers a retry a day later."""
    level = rate.level
    key = lookup_key(level, rate, current=level.rate_on(today) is rate)
    price_id = gateway.ensure_price(
        lookup_key=key,
        monthly_cents=rate.monthly_cents,
        idempotency_key=f"price-rate-{rate.id}-{rate.monthly_cents}",
        price_id=rate.stripe_price_id,
    )
    rate.stripe_price_id = price_id
    rate.stripe_setup_failed_at = None
    db.session.flush()
    return price_id


def _rate_as_recorded(rate_id: int, monthly_cents: int) -> DuesRate | None:
    """The rate a job was recorded for, or None when it is gone or its amount has
    been replaced since (the replacement has its own job)."""
    rate = db.session.get(DuesRate, rate_id)
    if rate is None or rate.monthly_cents != monthly_cents:
        return None
    return rate


def set_up_price(
    gateway: StripeGateway, rate_id: int, monthly_cents: int, *, now: datetime
) -> str | None:
    """The price job: sets up one amount's price (flushed). Raises GatewayError
    when Stripe cannot be reached, for the job to be tried again."""
    rate = _rate_as_recorded(rate_id, monthly_cents)
    if rate is None:
        return None
    if rate.stripe_price_id is not None:
        return rate.stripe_price_id
    gateway.ensure_product()
    return ensure_rate_price(gateway, rate, today=clock.today(now))


def record_failure(rate_id: int, *, now: datetime) -> None:
    """Remembers on the rate that its price could not be set up just now (flushed)."""
    rate = db.session.get(DuesRate, rate_id)
    if rate is not None and rate.stripe_price_id is None:
        rate.stripe_setup_failed_at = now
        db.session.flush()


def _subscriptions_to_move(
    level_id: int, price_id: str, after_id: int
) -> sa.Select[DuesSubscription]:
    return (
        sa.select(DuesSubscription)
        .join(Member, Member.id == DuesSubscription.member_id)
        .where(
            DuesSubscription.id > after_id,
            Member.dues_level_id == level_id,
            DuesSubscription.status.in_(LIVE_STATUSES),
            sa.or_(
                DuesSubscription.stripe_price_id.is_(None),
                DuesSubscription.stripe_price_id != price_id,
            ),
        )
        .order_by(DuesSubscription.id)
    )


def move_subscriptions(
    gateway: StripeGateway,
    rate_id: int,
    monthly_cents: int,
    *,
    now: datetime,
    after_id: int = 0,
) -> int:
    """The move job: moves one batch of the level's live card subscriptions (those
    after `after_id`) to the rate's price from their next invoice (no proration),
    records each move (flushed), and records the job for the next batch if any
    are left. One Stripe has ended meanwhile is left for the webhook or the
    reconciliation to record, and does not hold up the others. Returns how many
    moved.

    Nothing moves for an amount replaced since, or overtaken by a later amount in
    force (whose own job moves them); a job run before its month waits for it."""
    rate = _rate_as_recorded(rate_id, monthly_cents)
    if rate is None:
        return 0
    level = rate.level
    today = clock.today(now)
    if rate.effective_on > first_of_month(today):
        _record_move(rate, now=now, after_id=after_id)
        return 0
    if level.rate_on(today) is not rate:
        return 0
    price_id = rate.stripe_price_id
    if price_id is None:
        raise PriceNotReady(f"rate {rate.id}")
    batch = list(
        db.session.scalars(
            _subscriptions_to_move(level.id, price_id, after_id).limit(MOVE_BATCH + 1)
        )
    )
    moved = 0
    for subscription in batch[:MOVE_BATCH]:
        try:
            gateway.change_subscription_price(
                subscription_id=subscription.stripe_subscription_id,
                price_id=price_id,
                idempotency_key=f"move-{subscription.id}-{price_id}",
            )
        except SubscriptionEnded:
            continue
        subscription.stripe_price_id = price_id
        moved += 1
    db.session.flush()
    if len(batch) > MOVE_BATCH:
        _record_move(rate, now=now, after_id=batch[MOVE_BATCH - 1].id)
    return moved


# How it stands ------------------------------------------------------------------------


class PriceState(enum.Enum):
    READY = "ready"
    #: Its job waits for a worker, or one is running it.
    SETTING_UP = "setting up"
    #: Its job failed (Stripe could not be reached) and waits to try again.
    RETRYING = "retrying"
    #: Its job failed too often and waits for an admin to retry it.
    STOPPED = "stopped"
    #: No price and no job: made before Stripe was configured.
    NOT_SET_UP = "not set up"


@dataclass(frozen=True, slots=True)
class JobStanding:
    state: JobState
    attempts: int
    run_after: datetime

    @property
    def price_state(self) -> PriceState:
        if self.state is JobState.PARKED:
            return PriceState.STOPPED
        if self.state is JobState.WAITING and self.attempts > 0:
            return PriceState.RETRYING
        return PriceState.SETTING_UP


@dataclass(frozen=True, slots=True)
class MoveProgress:
    month: date
    moved: int
    total: int
    job: JobStanding


@dataclass(frozen=True, slots=True)
class AmountState:
    rate: DuesRate
    price: PriceState
    #: When a failed price job tries again (RETRYING).
    retry_at: datetime | None = None
    #: The move of card subscriptions to this amount, while it is still to do.
    move: MoveProgress | None = None


@dataclass(frozen=True, slots=True)
class LevelCardState:
    amounts: Sequence[AmountState]

    @property
    def needs_setting_up(self) -> bool:
        return any(a.price is PriceState.NOT_SET_UP for a in self.amounts)


def rates_to_price(level: DuesLevel, today: date) -> list[DuesRate]:
    """The amount in force today and every later one: each needs its price."""
    current = level.rate_on(today)
    return [
        rate
        for rate in level.rates
        if current is None or rate.effective_on >= current.effective_on
    ]


def _unfinished_jobs() -> dict[tuple[str, int, int], JobStanding]:
    """The newest unfinished price and move job of each rate and amount."""
    rows = db.session.execute(
        sa.select(Job.kind, Job.key, Job.state, Job.attempts, Job.run_after)
        .where(Job.state.in_(_UNFINISHED), Job.kind.in_((PRICE_JOB, MOVE_JOB)))
        .order_by(Job.id)
    ).all()
    found: dict[tuple[str, int, int], JobStanding] = {}
    for kind, key, state, attempts, run_after in rows:
        _kind, rate_id, cents, _nonce = key.split(":")
        found[(kind, int(rate_id), int(cents))] = JobStanding(
            state, attempts, run_after
        )
    return found


def _live_subscriptions_by_price(
    level_ids: Collection[int],
) -> dict[int, dict[str | None, int]]:
    """Live card subscriptions of members on these levels, counted by level and
    price."""
    if not level_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            Member.dues_level_id, DuesSubscription.stripe_price_id, sa.func.count()
        )
        .join(Member, Member.id == DuesSubscription.member_id)
        .where(
            DuesSubscription.status.in_(LIVE_STATUSES),
            Member.dues_level_id.in_(level_ids),
        )
        .group_by(Member.dues_level_id, DuesSubscription.stripe_price_id)
    ).all()
    counts: dict[int, dict[str | None, int]] = {}
    for level_id, price_id, count in rows:
        counts.setdefault(level_id, {})[price_id] = count
    return counts


def card_states(levels: list[DuesLevel], *, now: datetime) -> dict[int, LevelCardState]:
    """How each level's amounts stand on Stripe (rates loaded), in one query
    whatever the number of levels, jobs or subscriptions, and a second counting
    the card subscriptions of the levels whose members are being moved to a new
    price (tens of thousands of rows at 100,000 members, so only then)."""
    today = clock.today(now)
    unfinished = _unfinished_jobs()
    moving_rates = {rate_id for kind, rate_id, _cents in unfinished if kind == MOVE_JOB}
    subscriptions = _live_subscriptions_by_price(
        {
            level.id
            for level in levels
            if any(rate.id in moving_rates for rate in rates_to_price(level, today))
        }
    )
    states = {}
    for level in levels:
        by_price = subscriptions.get(level.id, {})
        amounts = []
        for rate in rates_to_price(level, today):
            price_job = unfinished.get((PRICE_JOB, rate.id, rate.monthly_cents))
            move_job = unfinished.get((MOVE_JOB, rate.id, rate.monthly_cents))
            if rate.stripe_price_id is not None:
                price = PriceState.READY
            elif price_job is not None:
                price = price_job.price_state
            else:
                price = PriceState.NOT_SET_UP
            move = None
            if move_job is not None:
                move = MoveProgress(
                    month=rate.effective_on,
                    moved=by_price.get(rate.stripe_price_id, 0)
                    if rate.stripe_price_id
                    else 0,
                    total=sum(by_price.values()),
                    job=move_job,
                )
            amounts.append(
                AmountState(
                    rate,
                    price,
                    retry_at=price_job.run_after
                    if price is PriceState.RETRYING and price_job
                    else None,
                    move=move,
                )
            )
        states[level.id] = LevelCardState(amounts)
    return states
