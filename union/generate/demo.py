"""Demo data for trying the app: invented people and places, never real ones."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from union import clock
from union.clock import first_of_month, month_index
from union.db import db
from union.generate.organisation import JOB_NAMES_FR, JOBS
from union.generate.people import FIRST_NAMES
from union.models import (
    BargainingStatus,
    ContactPreference,
    Employment,
    EmploymentType,
    GrievanceCategory,
    GrievanceOutcome,
    GrievanceStep,
    JobClassification,
    Member,
    MembershipClass,
    MemberStatus,
    PaymentMethod,
    Role,
    Sector,
    User,
    WaiverReason,
    Workplace,
    YesNoUnsure,
)
from union.rules.passwords import hash_password
from union.services import (
    accounts,
    dues,
    grievances,
    ledger,
    numbers,
    survey,
    waivers,
    workplaces,
)
from union.services.workplaces import FundingDetails, WorkplaceDetails

#: One account per role, as DESIGN.md promises; steward and member are also members.
DEMO_ACCOUNTS: dict[str, tuple[str, tuple[Role, ...]]] = {
    "admin@example.org": ("Demo Admin", (Role.ADMIN,)),
    "treasurer@example.org": ("Demo Treasurer", (Role.TREASURER,)),
    "organizer@example.org": ("Demo Organizer", (Role.ORGANIZER,)),
    "steward@example.org": ("Demo Steward", (Role.STEWARD,)),
    "member@example.org": ("Demo Member", ()),
}
MEMBER_ACCOUNTS = ("steward@example.org", "member@example.org")

#: The demo's small union lists only the first few of the generator's jobs.
DEMO_JOBS = JOBS[:6]

#: The demo union has charged dues since January of the year this many years ago:
#: before anyone in it joined (the earliest joined about 900 days ago), and recent.
FOUNDED_YEARS_AGO = 3

#: Survey rounds are named for the season they open in, as organizers name them.
SEASONS = {
    12: "Winter", 1: "Winter", 2: "Winter",
    3: "Spring", 4: "Spring", 5: "Spring",
    6: "Summer", 7: "Summer", 8: "Summer",
    9: "Autumn", 10: "Autumn", 11: "Autumn",
}  # fmt: skip

#: The demo's members are named from the first few of the generator's names.
DEMO_FIRST_NAMES = FIRST_NAMES[:30]
LAST_INITIALS = "ABCDEFGHJKLMNPRSTVWY"


@dataclass(frozen=True, slots=True)
class DemoGrant:
    funder: str
    program: str
    amount_cents: int
    #: Months from today until the grant ends; None for ongoing funding.
    months_left: int | None
    positions: int


@dataclass(frozen=True, slots=True)
class DemoPlace:
    details: WorkplaceDetails
    grants: tuple[DemoGrant, ...]
    members: int


PLACES = (
    DemoPlace(
        WorkplaceDetails(
            employer="Riverside Community Health Centre",
            site="Supervised consumption site",
            sector=Sector.SUPERVISED_CONSUMPTION,
            bargaining_status=BargainingStatus.UNDER_CONTRACT,
            estimated_headcount=24,
        ),
        (
            DemoGrant(
                "Province of Ontario", "Consumption and treatment services", 84_000_000, None, 12
            ),
            DemoGrant("City of Toronto", "Overdose prevention pilot", 18_000_000, 4, 5),
        ),
        16,
    ),
    DemoPlace(
        WorkplaceDetails(
            employer="Eastside Harm Reduction Collective",
            site="Street outreach",
            sector=Sector.OUTREACH,
            bargaining_status=BargainingStatus.RECOGNIZED,
            estimated_headcount=18,
        ),
        (DemoGrant("Federal substance use program", "Peer outreach", 42_000_000, 14, 6),),
        12,
    ),
    DemoPlace(
        WorkplaceDetails(
            employer="Queen West Drop-In",
            sector=Sector.DROP_IN,
            bargaining_status=BargainingStatus.CERTIFIED,
            estimated_headcount=15,
        ),
        (DemoGrant("United Way", "Drop-in meals and supplies", 9_000_000, 2, 3),),
        10,
    ),
    DemoPlace(
        WorkplaceDetails(
            employer="Harbourfront Shelter Network",
            site="Overnight program",
            sector=Sector.SHELTER,
            bargaining_status=BargainingStatus.ORGANIZING,
            estimated_headcount=30,
        ),
        (DemoGrant("City of Toronto", "Shelter services", 250_000_000, None, 20),),
        9,
    ),
    DemoPlace(
        WorkplaceDetails(
            employer="Peer Works",
            site="Kit making program",
            sector=Sector.PEER_PROGRAM,
            bargaining_status=BargainingStatus.ORGANIZING,
            estimated_headcount=12,
        ),
        (DemoGrant("Community foundation", "Peer employment", 6_000_000, 5, 8),),
        7,
    ),
    DemoPlace(
        WorkplaceDetails(
            employer="Parkdale Housing Support",
            sector=Sector.HOUSING,
            bargaining_status=BargainingStatus.UNORGANIZED,
            estimated_headcount=20,
            listed_on_join=False,
        ),
        (),
        3,
    ),
)  # fmt: skip


def demo_loaded() -> bool:
    return accounts.user_by_email("admin@example.org") is not None


def load_demo(*, password: str, now: datetime, seed: int = 2014) -> int:
    """Adds the demo union (run once) and returns how many members it has."""
    rng = random.Random(seed)  # noqa: S311 -- invented demo data, not a secret
    today = clock.today(now)
    _date_the_dues_schedule(date(today.year - FOUNDED_YEARS_AGO, 1, 1))
    jobs = [
        workplaces.add_classification(
            name, name_fr=JOB_NAMES_FR[name], actor=None, now=now
        )
        for name in DEMO_JOBS
    ]

    places: list[tuple[DemoPlace, Workplace]] = []
    for place in PLACES:
        chosen = tuple(job.id for job in rng.sample(jobs, 4))
        workplace = workplaces.create_workplace(
            replace(place.details, classification_ids=chosen), actor=None, now=now
        )
        for grant in place.grants:
            ends_on = None
            if grant.months_left is not None:
                ends_on = clock.add_months(today, grant.months_left)
            workplaces.add_funding(
                workplace,
                FundingDetails(
                    funder=grant.funder,
                    program=grant.program,
                    amount_cents=grant.amount_cents,
                    starts_on=clock.add_months(today, -20),
                    ends_on=ends_on,
                    positions_funded=grant.positions,
                ),
                actor=None,
                now=now,
            )
        places.append((place, workplace))
    unconfirmed = workplaces.add_pending_workplace("Westend Outreach Van", "", now=now)

    password_hash = hash_password(password)
    users: dict[str, User] = {}
    for email, (name, roles) in DEMO_ACCOUNTS.items():
        user = accounts.create_account(
            email, name=name, password=None, roles=roles, actor=None, now=now
        )
        user.password_hash = password_hash
        user.email_confirmed_at = now
        users[email] = user

    covered = [workplace for _place, workplace in places[:2]]
    for workplace in covered:
        workplaces.assign_steward(
            workplace, users["steward@example.org"], actor=None, now=now
        )

    maker = _MemberMaker(
        rng, dues.offered_levels(today), now, collector=users["steward@example.org"]
    )
    for place, workplace in places:
        for index in range(place.members):
            maker.add(
                workplace,
                rng.choice(workplace.classifications),
                status=maker.status(),
                with_email=index % 3 != 0,
            )
    for email in MEMBER_ACCOUNTS:
        maker.add(
            covered[0],
            covered[0].classifications[0],
            status=MemberStatus.ACTIVE,
            user=users[email],
            name=DEMO_ACCOUNTS[email][0],
        )
    maker.add(unconfirmed, None, status=MemberStatus.APPLICANT, with_email=True)
    db.session.flush()
    for member in maker.members:
        maker.pay_history(member)
    _ask_for_waiver(maker.members, now=now)
    db.session.flush()
    _add_demo_grievances(covered, users["steward@example.org"], now)
    _add_demo_survey(rng, maker.members, now=now)
    return maker.count


def _date_the_dues_schedule(founded_on: date) -> None:
    """The default levels come with amounts in force since 2000, a placeholder
    no real union has; the demo's start when the demo union was founded."""
    for level in dues.all_levels():
        first = level.rates[0] if level.rates else None
        if first is not None and first.effective_on < founded_on:
            first.effective_on = founded_on
    db.session.flush()


def _round_name(opened_at: datetime) -> str:
    opened_on = clock.today(opened_at)
    return f"{SEASONS[opened_on.month]} {opened_on.year}"


def _add_demo_survey(
    rng: random.Random, members: list[Member], *, now: datetime
) -> None:
    """A closed round most members answered, last spring or so (so organizers
    have reports to read), and an open one for the demo member to try."""
    opened_at = now - timedelta(days=200)
    spring = survey.open_round(_round_name(opened_at), actor=None, now=opened_at)
    for member in members:
        employment = next(iter(member.employments), None)
        if (
            not survey.may_answer(member)
            or employment is None
            or employment.classification_id is None
            or rng.random() < 0.15
        ):
            continue
        never = rng.random() < 0.2
        survey.answer(
            member,
            spring,
            survey.Answers(
                workplace_id=employment.workplace_id,
                classification_id=employment.classification_id,
                employment_type=rng.choice(list(EmploymentType)),
                hourly_wage_cents=rng.randrange(2000, 3400, 25),
                weekly_hours=rng.choice((24, 30, 35, 37, 40)),
                health_benefits=rng.random() < 0.6,
                dental_benefits=rng.random() < 0.45,
                paid_sick_days=rng.choice((0, 0, 3, 5, 10)),
                vacation_days=rng.choice((0, 10, 15, 20)),
                months_since_raise=None if never else rng.randint(2, 40),
                never_had_raise=never,
                grant_funded=rng.choice(list(YesNoUnsure)),
                relies_on_social_assistance=rng.random() < 0.25,
                discrimination_lived_experience=rng.random() < 0.3,
            ),
            now=now,
        )
    survey.close_round(spring, actor=None, now=now - timedelta(days=150))
    opened_at = now - timedelta(days=7)
    survey.open_round(_round_name(opened_at), actor=None, now=opened_at)


def _ask_for_waiver(members: list[Member], *, now: datetime) -> None:
    """One pending hardship case, so the treasurer's list has something to decide."""
    this_month = first_of_month(clock.today(now))
    for member in members:
        if member.status is MemberStatus.LAPSED and member.user is not None:
            waivers.request_waiver(
                member,
                reason=WaiverReason.REDUCED_HOURS,
                first_month=this_month,
                last_month=clock.add_months(this_month, 2),
                actor=member.user,
                now=now,
            )
            return


def _add_demo_grievances(
    covered: list[Workplace], steward: User, now: datetime
) -> None:
    """A few cases at the demo steward's workplaces: one overdue, one won."""
    first, second = covered
    demo_member = steward_member = None
    for member in grievances.candidate_grievants(first.id):
        if member.user is not None and member.user.email == "member@example.org":
            demo_member = member
        elif member.user is not None and member.user.email == "steward@example.org":
            steward_member = member
    others = [
        m
        for m in grievances.candidate_grievants(first.id)
        if m not in (demo_member, steward_member)
    ]
    weeks_ago = now - timedelta(days=20)
    wages = grievances.open_grievance(
        grievances.NewGrievance(
            workplace_id=first.id,
            details=grievances.GrievanceDetails(
                category=GrievanceCategory.WAGE_DISCREPANCY,
                title="Peer workers paid a flat honorarium for hourly work",
                what_happened="Three-hour shifts paid $10 in total while the posted "
                "rate for the same work at the other site is $15 an hour.",
                remedy_sought="Back pay at the posted hourly rate.",
                incident_on=clock.today(weeks_ago) - timedelta(days=10),
            ),
            grievant_ids=tuple(m.id for m in [demo_member, *others[:2]] if m),
        ),
        actor=steward,
        now=weeks_ago,
    )
    grievances.add_note(
        wages,
        "Coordinator said the honorarium was set by the funder. Ask for the grant terms.",
        actor=steward,
        now=weeks_ago,
    )
    grievances.open_grievance(
        grievances.NewGrievance(
            workplace_id=second.id,
            details=grievances.GrievanceDetails(
                category=GrievanceCategory.TIME_OFF,
                title="No paid sick days for outreach staff",
                what_happened="Staff on the street outreach team lose pay for "
                "every sick day.",
            ),
        ),
        actor=steward,
        now=now - timedelta(days=12),
    )
    raise_case = grievances.open_grievance(
        grievances.NewGrievance(
            workplace_id=first.id,
            details=grievances.GrievanceDetails(
                category=GrievanceCategory.NO_RAISE,
                title="No raise in four years",
                what_happened="Wages have not changed since the program began.",
            ),
            grievant_ids=tuple(m.id for m in others[2:4]),
        ),
        actor=steward,
        now=now - timedelta(days=60),
    )
    grievances.move_grievance(
        raise_case,
        GrievanceStep.STEP_1,
        actor=steward,
        now=now - timedelta(days=40),
    )
    grievances.close_grievance(
        raise_case,
        grievances.Closing(
            outcome=GrievanceOutcome.PARTLY_WON,
            money_recovered_cents=1_250_00,
            remedy_obtained="A 3% raise from next month and a one-time payment.",
        ),
        actor=steward,
        now=now - timedelta(days=5),
    )


class _MemberMaker:
    def __init__(
        self,
        rng: random.Random,
        levels: list[dues.LevelOffer],
        now: datetime,
        *,
        collector: User,
    ) -> None:
        self.rng = rng
        self.levels = levels
        self.now = now
        #: The steward who takes the cash payments.
        self.collector = collector
        self.members: list[Member] = []
        self.count = 0

    def status(self) -> MemberStatus:
        roll = self.rng.random()
        if roll < 0.08:
            return MemberStatus.APPLICANT
        if roll < 0.16:
            return MemberStatus.LAPSED
        if roll < 0.19:
            return MemberStatus.RESIGNED
        return MemberStatus.ACTIVE

    def add(
        self,
        workplace: Workplace,
        job: JobClassification | None,
        *,
        status: MemberStatus,
        user: User | None = None,
        name: str | None = None,
        with_email: bool = False,
    ) -> Member:
        rng, now = self.rng, self.now
        number = numbers.next_number("member_number")
        if user is None and with_email:
            user = User(email=f"member{number}@example.org", created_at=now)
        joined_on = clock.today(now) - timedelta(days=rng.randint(20, 900))
        member = Member(
            member_number=number,
            user=user,
            chosen_name=name
            or f"{rng.choice(DEMO_FIRST_NAMES)} {rng.choice(LAST_INITIALS)}.",
            pronouns=rng.choice((None, None, "she/her", "he/him", "they/them")),
            contact_preference=ContactPreference.EMAIL
            if user
            else ContactPreference.IN_PERSON,
            membership_class=MembershipClass.EMPLOYED,
            status=status,
            dues_level_id=rng.choice(self.levels).id,
            joined_on=joined_on,
            accepted_on=None if status is MemberStatus.APPLICANT else joined_on,
            left_on=clock.today(now) if status is MemberStatus.RESIGNED else None,
            created_at=now,
        )
        member.employments.append(
            Employment(
                workplace=workplace,
                classification=job,
                started_on=joined_on - timedelta(days=rng.randint(30, 1500)),
                created_at=now,
            )
        )
        db.session.add(member)
        db.session.flush()
        dues.record_first_level(member, now=now)
        self.members.append(member)
        self.count += 1
        return member

    def pay_history(self, member: Member) -> None:
        """Months paid by card (one invoice a month) or in cash to the steward (a few
        months at a time); some members stopped a while ago, a few paid ahead."""
        if member.status is MemberStatus.APPLICANT:
            return
        rng = self.rng
        today = clock.today(self.now)
        start = first_of_month(member.joined_on)
        last = (
            first_of_month(member.left_on) if member.left_on else first_of_month(today)
        )
        owed = month_index(last) - month_index(start) + 1
        roll = rng.random()
        if member.status is MemberStatus.LAPSED or roll < 0.15:
            paid = max(0, owed - rng.randint(3, 6))
        elif roll < 0.25:
            paid = owed + rng.randint(1, 3)
        else:
            paid = owed - rng.randint(0, 1)
        by_card = member.user is not None and rng.random() < 0.5
        rate = next(
            o.monthly_cents for o in self.levels if o.id == member.dues_level_id
        )
        covered = 0
        while covered < paid:
            months = 1 if by_card else min(rng.randint(1, 3), paid - covered)
            first = covered == 0
            paid_on = min(
                today,
                clock.add_months(start, covered) + timedelta(days=rng.randint(0, 20)),
            )
            ledger.record_payment(
                member,
                method=PaymentMethod.CARD_SUBSCRIPTION
                if by_card
                else PaymentMethod.CASH,
                amount_cents=rate * (months + (1 if first else 0)),
                initiation_cents=rate if first else 0,
                months=months,
                paid_on=paid_on,
                now=self.now,
                recorded_by=None if by_card else self.collector,
                receipt_number=None if by_card else numbers.next_number("receipt"),
                send_receipt=False,
            )
            covered += months
