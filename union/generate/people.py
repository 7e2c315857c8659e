"""Staff accounts, stewards and members: who works where, in which job, at which
dues level, with or without an account."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from union.adapters.bulk import table
from union.clock import month_start
from union.db import db
from union.generate import Context, MemberPlan
from union.models import (
    ContactPreference,
    Counter,
    DuesLevel,
    DuesLevelChoice,
    Employment,
    Member,
    MembershipClass,
    MemberStatus,
    Role,
    RoleGrant,
    StewardAssignment,
    User,
    email_digest,
)

#: Written a batch of members at a time, so memory stays flat and progress shows.
BATCH = 10_000

#: Staff accounts every generated union has (password as given to the generator).
STAFF = {
    "admin@example.org": ("Federation admin", Role.ADMIN),
    "treasurer@example.org": ("Federation treasurer", Role.TREASURER),
    "organizer@example.org": ("Federation organizer", Role.ORGANIZER),
}

FIRST_NAMES = (
    "Ash", "Bee", "Cal", "Dani", "Eli", "Fen", "Gray", "Hollis", "Indy", "Jules",
    "Kit", "Lee", "Mo", "Nico", "Oak", "Pat", "Quinn", "Remy", "Sky", "Tam",
    "Uli", "Val", "Wren", "Xan", "Yael", "Zee", "Avery", "Blair", "Cedar", "Drew",
    "Emery", "Frankie", "Gale", "Harper", "Ira", "Jo", "Kai", "Lane", "Marlo", "Noor",
    "Ollie", "Parker", "Rain", "Sage", "Tatum", "Umber", "Vesper", "Winter", "Yuki",
    "Zephyr", "Arden", "Bryn", "Corin", "Devon", "Ellis", "Finley", "Greer", "Haven",
)  # fmt: skip
SURNAMES = (
    "Ashdown", "Birchall", "Cobalt", "Dunmore", "Eastwick", "Fairweather", "Glenhurst",
    "Hartwell", "Inglewood", "Juniper", "Kestrel", "Larkspur", "Meadowcroft",
    "Northcote", "Oakhurst", "Penrose", "Quillfeather", "Rookwood", "Stillwater",
    "Thornbury", "Underhill", "Valemont", "Westbrook", "Yarrowby", "Zellwood",
    "Amberley", "Brightwater", "Coldstream", "Dovecote", "Elderfield", "Foxglove",
    "Greystone", "Hollowell", "Ivybridge", "Kingsmere", "Lindenfield", "Marchbank",
)  # fmt: skip
PRONOUNS = (None, None, None, "she/her", "he/him", "they/them", "she/they")
LEVEL_WEIGHTS = {"sub_minimum": 0.25, "minimum": 0.35, "regular": 0.30, "high": 0.10}


@dataclass(frozen=True, slots=True)
class _Levels:
    """The dues levels members choose from, with their weights, and the level for
    members short of money."""

    ids: list[int]
    weights: list[float]
    cheapest: int


@dataclass(frozen=True, slots=True)
class _NewMember:
    """What is settled about a member before anything about them is drawn."""

    id: int
    number: int
    workplace_id: int
    #: N in stewardN@example.org; None for members who are not stewards.
    steward_number: int | None


@dataclass(frozen=True, slots=True)
class _Joining:
    #: Month indexes (union.clock.month_index) of joining and of leaving.
    joined: int
    left: int | None
    status: MemberStatus
    behind: int


@dataclass(slots=True)
class _Batch:
    """The rows of a batch of members, written together."""

    users: list[tuple[Any, ...]] = field(default_factory=list)
    members: list[tuple[Any, ...]] = field(default_factory=list)
    jobs: list[tuple[Any, ...]] = field(default_factory=list)
    choices: list[tuple[Any, ...]] = field(default_factory=list)
    steward_user_ids: list[int] = field(default_factory=list)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(15, 0), tzinfo=UTC)


def _day_in(month: int, rng: Any, today: date) -> date:
    first = month_start(month)
    return min(today, first.replace(day=rng.randint(1, 28)))


def _levels(context: Context) -> _Levels:
    levels = db.session.scalars(
        sa.select(DuesLevel).options(selectinload(DuesLevel.rates))
    ).all()
    ids, weights = [], []
    cheapest = min(levels, key=lambda level: level.rates[-1].monthly_cents)
    for level in levels:
        context.level_cents[level.id] = level.rates[-1].monthly_cents
        if level.retired_on is None:
            ids.append(level.id)
            weights.append(LEVEL_WEIGHTS.get(level.code, 0.1))
    return _Levels(ids, weights, cheapest.id)


def _staff(context: Context) -> None:
    writer, now = context.writer, context.now
    users = table(User)
    ids = list(writer.ids(users, len(STAFF)))
    writer.write(
        users,
        (
            "id",
            "email",
            "email_hash",
            "name",
            "password_hash",
            "email_confirmed_at",
            "created_at",
        ),
        [
            (user_id, email, email_digest(email), name, context.password_hash, now, now)
            for user_id, (email, (name, _role)) in zip(ids, STAFF.items(), strict=True)
        ],
    )
    grants = table(RoleGrant)
    writer.write(
        grants,
        ("id", "user_id", "role", "granted_at"),
        [
            (grant_id, user_id, role, now)
            for grant_id, user_id, (_name, role) in zip(
                writer.ids(grants, len(ids)), ids, STAFF.values(), strict=True
            )
        ],
    )
    by_role = {
        role: user_id
        for user_id, (_name, role) in zip(ids, STAFF.values(), strict=True)
    }
    context.admin_id = by_role[Role.ADMIN]
    context.treasurer_id = by_role[Role.TREASURER]


def _assign_stewards(context: Context, steward_user_ids: list[int]) -> None:
    """Each workplace gets a steward (most stewards cover one or two workplaces) and
    one in ten a second one."""
    rng, writer, now = context.rng, context.writer, context.now
    pairs: list[tuple[int, int]] = []
    for index, workplace_id in enumerate(context.workplace_ids):
        covering = [steward_user_ids[index % len(steward_user_ids)]]
        if rng.random() < 0.1 and len(steward_user_ids) > 1:
            extra = rng.choice(steward_user_ids)
            if extra not in covering:
                covering.append(extra)
        context.stewards_by_workplace[workplace_id] = covering
        pairs.extend((user_id, workplace_id) for user_id in covering)
    assignments = table(StewardAssignment)
    writer.write(
        assignments,
        ("id", "user_id", "workplace_id", "assigned_at", "assigned_by_id"),
        [
            (assignment_id, user_id, workplace_id, now, context.admin_id)
            for assignment_id, (user_id, workplace_id) in zip(
                writer.ids(assignments, len(pairs)), pairs, strict=True
            )
        ],
    )
    grants = table(RoleGrant)
    writer.write(
        grants,
        ("id", "user_id", "role", "granted_at", "granted_by_id"),
        [
            (grant_id, user_id, Role.STEWARD, now, context.admin_id)
            for grant_id, user_id in zip(
                writer.ids(grants, len(steward_user_ids)), steward_user_ids, strict=True
            )
        ],
    )


def members(context: Context) -> None:
    levels = _levels(context)
    _staff(context)
    first_number = _next_member_number()
    steward_count = max(1, round(len(context.workplace_ids) * 0.75))
    workplaces = _workplace_of_each_member(context, steward_count)
    steward_user_ids: list[int] = []
    total = context.scale.members
    for start in range(0, total, BATCH):
        count = min(BATCH, total - start)
        batch = _Batch()
        member_ids = context.writer.ids(table(Member), count)
        for index, member_id in enumerate(member_ids, start):
            steward = index < steward_count
            new = _NewMember(
                member_id,
                first_number + index,
                workplaces[index],
                index + 1 if steward else None,
            )
            plan = _member(context, batch, levels, new)
            if plan.status is not MemberStatus.RESIGNED:
                context.members_by_workplace.setdefault(plan.workplace_id, []).append(
                    plan.id
                )
            context.members.append(plan)
        _write(context, batch)
        steward_user_ids += batch.steward_user_ids
        context.progress("members", start + count, total)

    _assign_stewards(context, steward_user_ids)
    context.counters["member_number"] = first_number + total - 1


def _next_member_number() -> int:
    counter = db.session.get(Counter, "member_number")
    return (counter.value if counter else 1000) + 1


def _workplace_of_each_member(context: Context, steward_count: int) -> list[int]:
    workplaces = context.rng.choices(
        context.workplace_ids, context.workplace_weights, k=context.scale.members
    )
    # Stewards work at (the first of) the workplaces they cover.
    for index in range(min(steward_count, len(context.workplace_ids))):
        workplaces[index] = context.workplace_ids[index]
    return workplaces


def _member(
    context: Context, batch: _Batch, levels: _Levels, new: _NewMember
) -> MemberPlan:
    """Draws one member's history and adds their rows to the batch.

    The steps draw from the one random sequence in a fixed order, so that a seed
    keeps making the same union: a new draw goes after the others."""
    rng, today = context.rng, context.today
    joining = _joining(context, steward=new.steward_number is not None)
    joined_on = _day_in(joining.joined, rng, today)
    left_on = None if joining.left is None else _day_in(joining.left, rng, today)
    user_id = _account(context, batch, new, joining.status, joined_on)
    membership_class = _membership_class(context)
    history = _level_history(context, levels, membership_class, joining.joined)
    method = _payment_method(context, has_account=user_id is not None)
    plan = MemberPlan(
        id=new.id,
        workplace_id=new.workplace_id,
        joined=joining.joined,
        left=joining.left,
        status=joining.status,
        levels=history,
        user_id=user_id,
        method=method,
        # A card is charged each month as it comes, so it never pays ahead.
        behind=max(joining.behind, 0) if method == "card" else joining.behind,
    )
    batch.members.append(
        _member_row(context, plan, new.number, membership_class, joined_on, left_on)
    )
    batch.jobs += _employments(context, plan, joined_on, left_on)
    batch.choices.extend(
        (plan.id, level_id, month_start(month), _at(joined_on))
        for month, level_id in history
    )
    return plan


def _joining(context: Context, *, steward: bool) -> _Joining:
    """When a member joined, and where they stand now: a few are applicants who
    asked this month or last, most joined at the start of the history."""
    rng = context.rng
    if not steward and rng.random() < 0.02:
        return _Joining(
            context.this_month - rng.randint(0, 1), None, MemberStatus.APPLICANT, 0
        )
    if rng.random() < 0.7:
        joined = context.first_month + rng.randint(0, 2)
    else:
        joined = rng.randint(context.first_month, context.this_month)
    # Drawn for stewards too (who are always active and paid up), so that a seed
    # keeps making the same union.
    status, left, behind = _status(context, joined)
    if steward:
        return _Joining(joined, None, MemberStatus.ACTIVE, 0)
    return _Joining(joined, left, status, behind)


def _status(context: Context, joined: int) -> tuple[MemberStatus, int | None, int]:
    """(status, month left, months behind at the end) for a member who joined then."""
    rng, this_month = context.rng, context.this_month
    roll = rng.random()
    months = this_month - joined + 1
    if roll < 0.06 and months > 4:
        left = rng.randint(joined + 2, this_month - 1)
        return MemberStatus.RESIGNED, left, 0 if rng.random() < 0.9 else 1
    if roll < 0.14 and months > 6:
        return MemberStatus.LAPSED, None, min(months, rng.randint(3, 18))
    roll = rng.random()
    if roll < 0.75:
        behind = 0
    elif roll < 0.85:
        behind = 1
    elif roll < 0.92:
        behind = 2
    elif roll < 0.96:
        behind = rng.randint(3, 6)
    else:
        behind = -rng.randint(1, 6)
    return MemberStatus.ACTIVE, None, min(behind, months)


def _account(
    context: Context,
    batch: _Batch,
    new: _NewMember,
    status: MemberStatus,
    joined_on: date,
) -> int | None:
    """The user id of the member's account, if they have one: every steward and
    applicant, and three members in four. Half the applicants have not activated
    theirs yet."""
    rng = context.rng
    applicant = status is MemberStatus.APPLICANT
    if new.steward_number is None and not applicant and rng.random() >= 0.75:
        return None
    user_id = context.writer.ids(table(User), 1)[0]
    if new.steward_number is None:
        email = f"member{new.number}@example.org"
    else:
        email = f"steward{new.steward_number}@example.org"
        batch.steward_user_ids.append(user_id)
    activated = not applicant or rng.random() < 0.5
    batch.users.append(
        (
            user_id,
            email,
            email_digest(email),
            context.password_hash if activated else None,
            _at(joined_on) if activated else None,
            _at(joined_on),
        )
    )
    return user_id


def _membership_class(context: Context) -> MembershipClass:
    roll = context.rng.random()
    if roll < 0.85:
        return MembershipClass.EMPLOYED
    if roll < 0.93:
        return MembershipClass.UNEMPLOYED
    return MembershipClass.STUDENT


def _level_history(
    context: Context, levels: _Levels, membership_class: MembershipClass, joined: int
) -> list[tuple[int, int]]:
    """(first month index, level id), oldest first: members without a job pay the
    cheapest level, and one in twelve changed level since joining."""
    rng = context.rng
    if membership_class is MembershipClass.EMPLOYED:
        level = rng.choices(levels.ids, levels.weights)[0]
    else:
        level = levels.cheapest
    history = [(joined, level)]
    if rng.random() < 0.08 and joined < context.this_month:
        changed = rng.randint(joined + 1, context.this_month + 1)
        history.append((changed, rng.choice(levels.ids)))
    return history


def _payment_method(context: Context, *, has_account: bool) -> str:
    """Card needs an account to pay through; otherwise cash or e-transfer."""
    rng = context.rng
    if has_account and rng.random() < 0.55:
        return "card"
    if rng.random() < 0.2:
        return "etransfer"
    return "cash"


def _member_row(
    context: Context,
    plan: MemberPlan,
    number: int,
    membership_class: MembershipClass,
    joined_on: date,
    left_on: date | None,
) -> tuple[Any, ...]:
    rng = context.rng
    first, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    phone = f"416 555 {rng.randint(0, 9999):04d}" if rng.random() < 0.5 else None
    public_id = f"{rng.getrandbits(96):024x}"
    chosen_name = (
        f"{first} {surname[0]}." if rng.random() < 0.3 else f"{first} {surname}"
    )
    legal_name = f"{first}a {surname}" if rng.random() < 0.4 else None
    pronouns = rng.choice(PRONOUNS)
    if plan.user_id is not None:
        preference = ContactPreference.EMAIL
    elif phone:
        preference = ContactPreference.TEXT
    else:
        preference = ContactPreference.IN_PERSON
    applicant = plan.status is MemberStatus.APPLICANT
    return (
        plan.id,
        public_id,
        number,
        plan.user_id,
        chosen_name,
        legal_name,
        pronouns,
        phone,
        preference,
        membership_class,
        plan.status,
        plan.levels[-1][1],
        joined_on,
        None if applicant else joined_on,
        left_on,
        f"cus_gen{plan.id}" if plan.method == "card" else None,
        # Nothing covered yet: the dues section fills in the history.
        month_start(plan.joined),
        0,
        _at(joined_on),
        context.now,
    )


def _employments(
    context: Context, plan: MemberPlan, joined_on: date, left_on: date | None
) -> list[tuple[Any, ...]]:
    """(member, workplace, job, started, ended): the job they hold, started up to four
    years before they joined, and for one in twelve the job they held before it."""
    rng = context.rng
    jobs_at = context.classification_ids_by_workplace
    classification = rng.choice(jobs_at[plan.workplace_id])
    started = joined_on.replace(year=joined_on.year - rng.randint(0, 4))
    jobs: list[tuple[Any, ...]] = [
        (plan.id, plan.workplace_id, classification, started, left_on)
    ]
    if rng.random() < 0.08:
        before = rng.choice(context.workplace_ids)
        jobs.append(
            (
                plan.id,
                before,
                rng.choice(jobs_at[before]),
                started.replace(year=started.year - 3),
                started,
            )
        )
    return jobs


def _write(context: Context, batch: _Batch) -> None:
    writer, now = context.writer, context.now
    writer.write(
        table(User),
        (
            "id",
            "email",
            "email_hash",
            "password_hash",
            "email_confirmed_at",
            "created_at",
        ),
        batch.users,
    )
    writer.write(
        table(Member),
        (
            "id",
            "public_id",
            "member_number",
            "user_id",
            "chosen_name",
            "legal_name",
            "pronouns",
            "phone",
            "contact_preference",
            "membership_class",
            "status",
            "dues_level_id",
            "joined_on",
            "accepted_on",
            "left_on",
            "stripe_customer_id",
            "first_uncovered_month",
            "months_covered_later",
            "created_at",
            "updated_at",
        ),
        batch.members,
    )
    jobs = table(Employment)
    writer.write(
        jobs,
        (
            "id",
            "member_id",
            "workplace_id",
            "classification_id",
            "started_on",
            "ended_on",
            "created_at",
        ),
        [
            (job_id, *job, now)
            for job_id, job in zip(
                writer.ids(jobs, len(batch.jobs)), batch.jobs, strict=True
            )
        ],
    )
    choices = table(DuesLevelChoice)
    writer.write(
        choices,
        ("id", "member_id", "level_id", "effective_month", "chosen_at"),
        [
            (choice_id, *choice)
            for choice_id, choice in zip(
                writer.ids(choices, len(batch.choices)), batch.choices, strict=True
            )
        ],
    )


def counters(context: Context) -> None:
    """Moves the app's number sequences past everything generated."""
    for name, value in context.counters.items():
        counter = db.session.get(Counter, name)
        if counter is None:
            db.session.add(Counter(name=name, value=value))
        else:
            counter.value = max(counter.value, value)
    db.session.flush()
