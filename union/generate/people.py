"""Staff accounts, stewards and members: who works where, in which job, at which
dues level, with or without an account."""

from __future__ import annotations

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


def _at(day: date) -> datetime:
    return datetime.combine(day, time(15, 0), tzinfo=UTC)


def _day_in(month: int, rng: Any, today: date) -> date:
    first = month_start(month)
    return min(today, first.replace(day=rng.randint(1, 28)))


def _levels(context: Context) -> tuple[list[int], list[float], int]:
    """(level ids, weights, the level for members short of money)."""
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
    return ids, weights, cheapest.id


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


def members(context: Context) -> None:
    rng, writer, now, today = context.rng, context.writer, context.now, context.today
    scale = context.scale
    level_ids, level_weights, cheapest = _levels(context)
    _staff(context)

    counter = db.session.get(Counter, "member_number")
    first_number = (counter.value if counter else 1000) + 1
    steward_count = max(1, round(len(context.workplace_ids) * 0.75))
    workplaces = rng.choices(
        context.workplace_ids, context.workplace_weights, k=scale.members
    )
    # Stewards work at (the first of) the workplaces they cover.
    for index in range(min(steward_count, len(context.workplace_ids))):
        workplaces[index] = context.workplace_ids[index]

    user_table, member_table = table(User), table(Member)
    job_table, choice_table = table(Employment), table(DuesLevelChoice)
    steward_user_ids: list[int] = []
    for start in range(0, scale.members, BATCH):
        count = min(BATCH, scale.members - start)
        member_ids = writer.ids(member_table, count)
        users: list[tuple[Any, ...]] = []
        rows: list[tuple[Any, ...]] = []
        jobs: list[tuple[Any, ...]] = []
        choices: list[tuple[Any, ...]] = []
        for offset, member_id in enumerate(member_ids):
            index = start + offset
            number = first_number + index
            workplace_id = workplaces[index]
            steward = index < steward_count
            applicant = not steward and rng.random() < 0.02
            if applicant:
                joined = context.this_month - rng.randint(0, 1)
                status, left, behind = MemberStatus.APPLICANT, None, 0
            else:
                if rng.random() < 0.7:
                    joined = context.first_month + rng.randint(0, 2)
                else:
                    joined = rng.randint(context.first_month, context.this_month)
                status, left, behind = _status(context, joined)
                if steward:
                    status, left, behind = MemberStatus.ACTIVE, None, 0
            joined_on = _day_in(joined, rng, today)
            left_on = _day_in(left, rng, today) if left is not None else None

            user_id = None
            if steward or applicant or rng.random() < 0.75:
                user_id = writer.ids(user_table, 1)[0]
                email = (
                    f"steward{index + 1}@example.org"
                    if steward
                    else f"member{number}@example.org"
                )
                activated = not applicant or rng.random() < 0.5
                users.append(
                    (
                        user_id,
                        email,
                        email_digest(email),
                        context.password_hash if activated else None,
                        _at(joined_on) if activated else None,
                        _at(joined_on),
                    )
                )
                if steward:
                    steward_user_ids.append(user_id)

            roll = rng.random()
            membership_class = (
                MembershipClass.EMPLOYED
                if roll < 0.85
                else MembershipClass.UNEMPLOYED
                if roll < 0.93
                else MembershipClass.STUDENT
            )
            level = (
                cheapest
                if membership_class is not MembershipClass.EMPLOYED
                else rng.choices(level_ids, level_weights)[0]
            )
            levels = [(joined, level)]
            if rng.random() < 0.08 and joined < context.this_month:
                changed = rng.randint(joined + 1, context.this_month + 1)
                levels.append((changed, rng.choice(level_ids)))

            method = "cash"
            if user_id is not None and rng.random() < 0.55:
                method = "card"
            elif rng.random() < 0.2:
                method = "etransfer"
            if method == "card":
                behind = max(behind, 0)

            first, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            phone = (
                f"416 555 {rng.randint(0, 9999):04d}" if rng.random() < 0.5 else None
            )
            preference = (
                ContactPreference.EMAIL
                if user_id is not None
                else ContactPreference.TEXT
                if phone
                else ContactPreference.IN_PERSON
            )
            rows.append(
                (
                    member_id,
                    f"{rng.getrandbits(96):024x}",
                    number,
                    user_id,
                    f"{first} {surname[0]}."
                    if rng.random() < 0.3
                    else f"{first} {surname}",
                    f"{first}a {surname}" if rng.random() < 0.4 else None,
                    rng.choice(PRONOUNS),
                    phone,
                    preference,
                    membership_class,
                    status,
                    levels[-1][1],
                    joined_on,
                    None if applicant else joined_on,
                    left_on,
                    f"cus_gen{member_id}" if method == "card" else None,
                    # Nothing covered yet: the dues section fills in the history.
                    month_start(joined),
                    0,
                    _at(joined_on),
                    now,
                )
            )
            classification = rng.choice(
                context.classification_ids_by_workplace[workplace_id]
            )
            started = joined_on.replace(year=joined_on.year - rng.randint(0, 4))
            jobs.append((member_id, workplace_id, classification, started, left_on))
            if rng.random() < 0.08:
                before = rng.choice(context.workplace_ids)
                jobs.append(
                    (
                        member_id,
                        before,
                        rng.choice(context.classification_ids_by_workplace[before]),
                        started.replace(year=started.year - 3),
                        started,
                    )
                )
            choices.extend(
                (member_id, level_id, month_start(month), _at(joined_on))
                for month, level_id in levels
            )
            if status is not MemberStatus.RESIGNED:
                context.members_by_workplace.setdefault(workplace_id, []).append(
                    member_id
                )
            context.members.append(
                MemberPlan(
                    id=member_id,
                    workplace_id=workplace_id,
                    joined=joined,
                    left=left,
                    status=status,
                    levels=levels,
                    user_id=user_id,
                    method=method,
                    behind=behind,
                )
            )

        writer.write(
            user_table,
            (
                "id",
                "email",
                "email_hash",
                "password_hash",
                "email_confirmed_at",
                "created_at",
            ),
            users,
        )
        writer.write(
            member_table,
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
            rows,
        )
        writer.write(
            job_table,
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
                    writer.ids(job_table, len(jobs)), jobs, strict=True
                )
            ],
        )
        writer.write(
            choice_table,
            ("id", "member_id", "level_id", "effective_month", "chosen_at"),
            [
                (choice_id, *choice)
                for choice_id, choice in zip(
                    writer.ids(choice_table, len(choices)), choices, strict=True
                )
            ],
        )
        context.progress("members", start + count, scale.members)

    _assign_stewards(context, steward_user_ids)
    context.counters["member_number"] = first_number + scale.members - 1


def counters(context: Context) -> None:
    """Moves the app's number sequences past everything generated."""
    for name, value in context.counters.items():
        counter = db.session.get(Counter, name)
        if counter is None:
            db.session.add(Counter(name=name, value=value))
        else:
            counter.value = max(counter.value, value)
    db.session.flush()
