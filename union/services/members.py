"""Members: joining, acceptance, profiles, status, employment, and who sees whom."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from union import clock
from union.db import database_integer, db
from union.errors import InvalidTransition, NotFound, ValidationFailed
from union.i18n import _
from union.labels import label
from union.models import (
    Channel,
    ConsentSource,
    ContactPreference,
    Employment,
    JobClassification,
    Member,
    MembershipClass,
    MemberStatus,
    NotificationKind,
    Role,
    StewardAssignment,
    TokenPurpose,
    User,
    Workplace,
    normalise_email,
)
from union.services import (
    accounts,
    audit,
    dues,
    messages,
    notifications_feed,
    numbers,
    settings,
    workplaces,
)
from union.services.paging import (
    LIKE_ESCAPE,
    Page,
    Sort,
    SortKeys,
    contains_pattern,
    paginate,
)
from union.services.scope import NOT_DECRYPTED, acts_at, visible_members

#: What a phone number may look like, however a member's details come in (joining,
#: a profile edit, a roster import).
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()./-]{7,25}$")

#: Status moves a steward or admin may make by hand. Accepting an applicant is its
#: own action (it records who accepted), and declining removes the application.
STATUS_MOVES: dict[MemberStatus, frozenset[MemberStatus]] = {
    MemberStatus.APPLICANT: frozenset(),
    MemberStatus.ACTIVE: frozenset({MemberStatus.LAPSED, MemberStatus.RESIGNED}),
    MemberStatus.LAPSED: frozenset({MemberStatus.ACTIVE, MemberStatus.RESIGNED}),
    MemberStatus.RESIGNED: frozenset({MemberStatus.ACTIVE}),
}


@dataclass(frozen=True, slots=True)
class NewWorkplace:
    employer: str
    site: str = ""


@dataclass(frozen=True, slots=True)
class PersonalDetails:
    chosen_name: str
    contact_preference: ContactPreference
    membership_class: MembershipClass
    legal_name: str | None = None
    pronouns: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class JoinApplication:
    details: PersonalDetails
    email: str
    #: None when no level was chosen; checking the application says so.
    dues_level_id: int | None
    workplace_id: int | None = None
    new_workplace: NewWorkplace | None = None
    classification_id: int | None = None
    #: The language the application was made in: emails go out in it.
    language: str | None = None
    #: The channels ("email", "text") the applicant agreed to messages by.
    message_consent: tuple[str, ...] = ()


def application_payload(application: JoinApplication) -> dict[str, Any]:
    """The application as JSON values, for the join job that records it."""
    return dataclasses.asdict(application)


def application_from_payload(payload: Mapping[str, Any]) -> JoinApplication:
    details = dict(payload["details"])
    details["contact_preference"] = ContactPreference(details["contact_preference"])
    details["membership_class"] = MembershipClass(details["membership_class"])
    new_workplace = payload.get("new_workplace")
    return JoinApplication(
        details=PersonalDetails(**details),
        email=payload["email"],
        dues_level_id=payload.get("dues_level_id"),
        workplace_id=payload.get("workplace_id"),
        new_workplace=NewWorkplace(**new_workplace) if new_workplace else None,
        classification_id=payload.get("classification_id"),
        language=payload.get("language"),
        message_consent=tuple(payload.get("message_consent") or ()),
    )


class JoinKind(enum.Enum):
    NEW = "new"
    #: The email already has an account. Nothing changes; its owner is told by email.
    ALREADY_REGISTERED = "already registered"


@dataclass(frozen=True, slots=True)
class JoinOutcome:
    kind: JoinKind
    user: User
    #: A link token for choosing a password, when the account has none yet.
    activation_token: str | None


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def _check_details(details: PersonalDetails) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not details.chosen_name.strip():
        errors["chosen_name"] = _("Tell us what to call you.")
    phone = _clean(details.phone)
    if phone and not PHONE_PATTERN.match(phone):
        errors["phone"] = _("Enter a phone number using digits, like 416 555 0123.")
    needs_phone = details.contact_preference in (
        ContactPreference.TEXT,
        ContactPreference.PHONE,
    )
    if needs_phone and not phone:
        errors["phone"] = _("Add a phone number, or choose another way to reach you.")
    return errors


def _apply_details(member: Member, details: PersonalDetails) -> None:
    member.chosen_name = details.chosen_name.strip()
    member.legal_name = _clean(details.legal_name)
    member.pronouns = _clean(details.pronouns)
    member.phone = _clean(details.phone)
    member.contact_preference = details.contact_preference
    member.membership_class = details.membership_class


def check_application(application: JoinApplication, *, now: datetime) -> None:
    """Raises ValidationFailed for what the applicant must fix, whether or not the
    email has an account: the form's answer may depend on this, never on that."""
    _checked(application, clock.today(now))


def _checked(
    application: JoinApplication, today: date
) -> tuple[Workplace | None, JobClassification | None]:
    errors = _check_details(application.details)
    offered = {offer.id for offer in dues.offered_levels(today)}
    if application.dues_level_id not in offered:
        errors["dues_level"] = _("Choose one of the dues levels shown.")
    workplace = None
    if application.workplace_id is not None:
        workplace = db.session.get(Workplace, application.workplace_id)
        if workplace is None or not workplaces.is_joinable(workplace):
            errors["workplace"] = _("Choose a workplace from the list.")
    elif application.new_workplace is not None:
        if not application.new_workplace.employer.strip():
            errors["new_employer"] = _("Tell us the name of your employer.")
    elif application.details.membership_class is MembershipClass.EMPLOYED:
        errors["workplace"] = _(
            "Choose your workplace, or choose \u201cMy workplace isn\u2019t listed\u201d."
        )
    classification = None
    if application.classification_id is not None:
        classification = db.session.get(
            JobClassification, application.classification_id
        )
        if classification is None:
            errors["classification"] = _("Choose a job from the list.")
    if errors:
        raise ValidationFailed(errors)
    return workplace, classification


def join(
    application: JoinApplication, *, now: datetime, activation_lifetime: timedelta
) -> JoinOutcome:
    """Records an application to join, or, if the email already has an account,
    changes nothing so that the answer cannot reveal who is a member."""
    today = clock.today(now)
    workplace, classification = _checked(application, today)
    existing = accounts.user_by_email(application.email)
    if existing is not None:
        token = None
        if existing.password_hash is None and not existing.is_disabled:
            token = accounts.issue_token(
                existing, TokenPurpose.ACTIVATE, now=now, lifetime=activation_lifetime
            )
        return JoinOutcome(JoinKind.ALREADY_REGISTERED, existing, token)

    user = User(
        email=normalise_email(application.email),
        locale=application.language,
        created_at=now,
    )
    member = Member(
        member_number=numbers.next_number("member_number"),
        user=user,
        status=MemberStatus.APPLICANT,
        dues_level_id=application.dues_level_id,
        joined_on=today,
        created_at=now,
    )
    _apply_details(member, application.details)
    if workplace is None and application.new_workplace is not None:
        workplace = workplaces.add_pending_workplace(
            application.new_workplace.employer,
            application.new_workplace.site,
            now=now,
        )
    if workplace is not None:
        member.employments.append(
            Employment(
                workplace=workplace, classification=classification, created_at=now
            )
        )
    db.session.add(member)
    db.session.flush()
    dues.record_first_level(member, now=now)
    for channel in application.message_consent:
        if channel in (Channel.EMAIL.value, Channel.TEXT.value):
            messages.record_consent(
                member,
                Channel(channel),
                granted=True,
                source=ConsentSource.JOINING_FORM,
                now=now,
            )
    audit.record("member.joined", actor=None, now=now, subject=member)
    if not settings.current_settings().auto_accept_applicants:
        notifications_feed.notify(
            notifications_feed.people_accepting_at(
                job.workplace_id for job in member.employments
            ),
            NotificationKind.APPLICANT_WAITING,
            {"member_number": member.member_number},
            about=f"member-{member.id}",
            now=now,
        )
    token = accounts.issue_token(
        user, TokenPurpose.ACTIVATE, now=now, lifetime=activation_lifetime
    )
    return JoinOutcome(JoinKind.NEW, user, token)


def finish_joining(token: str, password: str, *, now: datetime) -> User:
    """Confirms the email through the emailed link and sets the password. When the
    union accepts applicants automatically, the applicant becomes active here."""
    user = accounts.set_password_with_token(
        token, TokenPurpose.ACTIVATE, password, now=now
    )
    member = user.member
    if (
        member is not None
        and member.status is MemberStatus.APPLICANT
        and settings.current_settings().auto_accept_applicants
    ):
        _accept(member, actor=None, now=now)
    return user


def _accept(member: Member, *, actor: User | None, now: datetime) -> None:
    # Only while the row still says applicant: two stewards accepting the same
    # person at the same moment (or one confirming twice) accept them once.
    accepted = db.session.execute(
        sa.update(Member)
        .where(Member.id == member.id, Member.status == MemberStatus.APPLICANT)
        .values(
            status=MemberStatus.ACTIVE,
            accepted_on=clock.today(now),
            accepted_by_id=actor.id if actor else None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire(member, ["status", "accepted_on", "accepted_by_id"])
    if accepted.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidTransition(_("Only applications can be accepted."))
    audit.record("member.accepted", actor=actor, now=now, subject=member)
    if member.user is not None:
        notifications_feed.notify(
            [member.user],
            NotificationKind.APPLICATION_ACCEPTED,
            {"on": clock.today(now).isoformat()},
            about=f"member-{member.id}",
            now=now,
        )
    db.session.flush()


def accept_application(member: Member, *, actor: User, now: datetime) -> None:
    """Makes an applicant an active member; InvalidTransition for anyone else,
    including someone accepted a moment ago by another steward."""
    if member.status is not MemberStatus.APPLICANT:
        raise InvalidTransition(_("Only applications can be accepted."))
    _accept(member, actor=actor, now=now)


def decline_application(member: Member, *, actor: User, now: datetime) -> None:
    """Removes an application and, if it was the only reason for the account, the
    account too: nothing is kept about someone who did not become a member."""
    if member.status is not MemberStatus.APPLICANT:
        raise InvalidTransition(_("Only applications can be declined."))
    user = member.user
    if user is not None:
        # The address goes with the email job, since the account may not be
        # there when it is written; the in-app row goes with the account.
        notifications_feed.notify(
            [user],
            NotificationKind.APPLICATION_DECLINED,
            {},
            about=f"member-{member.id}",
            now=now,
            address_now=True,
        )
    audit.record(
        "member.application_declined",
        actor=actor,
        now=now,
        detail=f"member_number={member.member_number}",
    )
    db.session.delete(member)
    db.session.flush()
    if user is not None and not user.role_grants:
        db.session.delete(user)
    db.session.flush()


def change_status(
    member: Member, status: MemberStatus, *, actor: User, now: datetime
) -> None:
    if status is member.status:
        return
    if status not in STATUS_MOVES[member.status]:
        raise InvalidTransition(
            _(
                "A member who is %(current)s cannot be made %(wanted)s.",
                current=label(member.status),
                wanted=label(status),
            )
        )
    member.status = status
    member.left_on = clock.today(now) if status is MemberStatus.RESIGNED else None
    audit.record(
        "member.status_changed",
        actor=actor,
        now=now,
        subject=member,
        detail=f"status={status}",
    )
    db.session.flush()


def update_details(
    member: Member, details: PersonalDetails, *, actor: User, now: datetime
) -> None:
    """Changes a member's own details (by the member, or a steward or admin for them)."""
    errors = _check_details(details)
    if errors:
        raise ValidationFailed(errors)
    _apply_details(member, details)
    member.updated_at = now
    audit.record("member.updated", actor=actor, now=now, subject=member)
    db.session.flush()


#: What a member page shows: account, dues level, workplaces and jobs, in 3 queries.
MEMBER_PAGE_LOADING = (
    joinedload(Member.user),
    joinedload(Member.dues_level),
    selectinload(Member.employments).joinedload(Employment.workplace),
    selectinload(Member.employments).joinedload(Employment.classification),
)


def member_for(actor: User, public_id: str) -> Member:
    """A member by public id, or NotFound when the actor may not see them."""
    member = db.session.scalar(
        visible_members(actor)
        .where(Member.public_id == public_id)
        .options(*MEMBER_PAGE_LOADING)
    )
    if member is None:
        raise NotFound
    return member


def member_by_number(actor: User, member_number: int) -> Member | None:
    """A member by member number among those the actor may see, else None."""
    return db.session.scalar(
        visible_members(actor).where(Member.member_number == member_number)
    )


def record_member_viewed(member: Member, *, actor: User, now: datetime) -> None:
    """Audits someone opening a member's record (never what it showed)."""
    audit.record("member.viewed", actor=actor, now=now, subject=member)
    db.session.flush()


def own_member(actor: User) -> Member:
    """The actor's own member record, loaded for their profile page."""
    if actor.member is None:
        raise NotFound
    member = db.session.scalar(
        sa.select(Member)
        .where(Member.id == actor.member.id)
        .options(*MEMBER_PAGE_LOADING)
    )
    if member is None:
        raise NotFound
    return member


def signed_in_member(actor: User) -> Member:
    """The actor's own member record as loaded with their sign-in, without the
    rows the profile page adds: for pages that need the record alone."""
    if actor.member is None:
        raise NotFound
    return actor.member


#: How the roster can be sorted; by name unless asked otherwise.
ROSTER_SORTS = SortKeys(
    ("name", "number", "joined"), default="name", first_descending=frozenset({"joined"})
)


def _roster_order(sort: Sort) -> list[Any]:
    # Each order ends with the member number, so that namesakes and members who
    # joined the same day keep one order across pages; the indexes on
    # (chosen_name, member_number) and (joined_on, member_number) serve them.
    if sort.key == "number":
        return sort.ordered(Member.member_number)
    if sort.key == "joined":
        return sort.ordered(Member.joined_on, Member.member_number)
    return sort.ordered(Member.chosen_name, Member.member_number)


def roster_page(
    actor: User,
    *,
    query: str = "",
    status: MemberStatus | None = None,
    workplace_id: int | None = None,
    sort: Sort | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page[Member]:
    """One page of the roster the actor may see, searched by name or member number,
    by name unless `sort` says otherwise."""
    statement = visible_members(actor)
    text = query.strip().lstrip("#")
    if text.isdecimal():
        number = database_integer(text)
        statement = statement.where(
            Member.member_number == number if number is not None else sa.false()
        )
    elif text:
        pattern = contains_pattern(text)
        # Legal names are encrypted at rest, so only chosen names are searched.
        statement = statement.where(
            sa.func.lower(Member.chosen_name).like(pattern, escape=LIKE_ESCAPE)
        )
    if status is not None:
        statement = statement.where(Member.status == status)
    if workplace_id is not None:
        statement = statement.where(
            Member.id.in_(
                sa.select(Employment.member_id).where(
                    Employment.workplace_id == workplace_id,
                    Employment.ended_on.is_(None),
                )
            )
        )
    statement = statement.options(
        *NOT_DECRYPTED,
        selectinload(Member.employments).joinedload(Employment.workplace),
        selectinload(Member.employments).joinedload(Employment.classification),
    ).order_by(*_roster_order(sort or ROSTER_SORTS.read(None)))
    return paginate(statement, page=page, per_page=per_page)


def _waiting_applications(actor: User) -> sa.Select[Member]:
    """Applications the actor may accept, the longest waiting first."""
    return (
        visible_members(actor)
        .where(Member.status == MemberStatus.APPLICANT)
        .order_by(Member.joined_on, Member.created_at, Member.member_number)
    )


def applicants_page(actor: User, *, page: int = 1, per_page: int = 50) -> Page[Member]:
    """One page of the applications waiting for the actor, oldest first, with
    where each applicant works."""
    statement = _waiting_applications(actor).options(
        *NOT_DECRYPTED,
        selectinload(Member.employments).joinedload(Employment.workplace),
        selectinload(Member.employments).joinedload(Employment.classification),
    )
    return paginate(statement, page=page, per_page=per_page)


#: The most applications accepted together: two pages of the list.
MOST_ACCEPTED_AT_ONCE = 100


def applications_among(actor: User, public_ids: Collection[str]) -> list[Member]:
    """Of the members with these public ids, the applicants the actor may accept,
    oldest first. Anyone else (no such member, one the actor may not see, someone
    accepted or declined meanwhile) is left out, so a list chosen a while ago
    can still be acted on."""
    if not public_ids:
        return []
    return list(
        db.session.scalars(
            _waiting_applications(actor)
            .where(Member.public_id.in_(list(public_ids)))
            .options(*NOT_DECRYPTED)
        )
    )


def add_employment(
    member: Member,
    *,
    workplace_id: int | None,
    classification_id: int | None,
    started_on: date | None,
    actor: User,
    now: datetime,
) -> Employment:
    """Records that the member works somewhere. Stewards may only place members at
    workplaces they cover; admins anywhere."""
    workplace = db.session.get(Workplace, workplace_id) if workplace_id else None
    if workplace is None or not acts_at(actor, workplace.id):
        raise ValidationFailed({"workplace": _("Choose a workplace from the list.")})
    classification = None
    if classification_id is not None:
        classification = db.session.get(JobClassification, classification_id)
        if classification is None:
            raise ValidationFailed({"classification": _("Choose a job from the list.")})
    if any(job.workplace_id == workplace.id for job in member.current_employments):
        raise ValidationFailed({"workplace": _("The member already works there.")})
    job = Employment(
        workplace=workplace,
        classification=classification,
        started_on=started_on,
        created_at=now,
    )
    member.employments.append(job)
    audit.record("member.employment_added", actor=actor, now=now, subject=member)
    db.session.flush()
    return job


def placeable_workplaces(actor: User) -> list[Workplace]:
    """Workplaces the actor may record a member as working at."""
    statement = sa.select(Workplace).order_by(Workplace.employer, Workplace.site)
    if not actor.has_role(Role.ADMIN):
        statement = statement.where(
            Workplace.id.in_(
                sa.select(StewardAssignment.workplace_id).where(
                    StewardAssignment.user_id == actor.id
                )
            )
        )
    return list(db.session.scalars(statement))


def end_employment(
    member: Member, employment_id: int, *, ended_on: date, actor: User, now: datetime
) -> None:
    """Records the member's last day at one of their current jobs. A job at a
    workplace the actor does not cover is NotFound, like one that does not exist."""
    job = next(
        (
            j
            for j in member.current_employments
            if j.id == employment_id and acts_at(actor, j.workplace_id)
        ),
        None,
    )
    if job is None:
        raise NotFound
    if job.started_on is not None and ended_on < job.started_on:
        raise ValidationFailed(
            {"ended_on": _("The end date is before the start date.")}
        )
    job.ended_on = ended_on
    audit.record("member.employment_ended", actor=actor, now=now, subject=member)
    db.session.flush()
