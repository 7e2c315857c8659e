"""Small factories: each makes one thing with sensible defaults and flushes it."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from union.db import db
from union.models import (
    BargainingStatus,
    ContactPreference,
    DuesLevel,
    DuesPayment,
    Employment,
    FundingSource,
    Grievance,
    GrievanceCategory,
    GrievanceDocument,
    GrievanceEvent,
    GrievanceEventKind,
    GrievanceNote,
    GrievanceStep,
    JobClassification,
    Member,
    MembershipClass,
    MemberStatus,
    PaymentMethod,
    Role,
    RoleGrant,
    Sector,
    StepRecord,
    StewardAssignment,
    User,
    Workplace,
    WorkplaceStatus,
)
from union.rules.passwords import hash_password
from union.services import dues, ledger, numbers

PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

PASSWORD = "correct horse battery"
_sequence = itertools.count(1)


class Factories:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self._password_hash: str | None = None

    def _hash(self) -> str:
        if self._password_hash is None:
            self._password_hash = hash_password(PASSWORD)
        return self._password_hash

    def level(self, code: str = "minimum") -> DuesLevel:
        level = db.session.scalar(sa.select(DuesLevel).where(DuesLevel.code == code))
        assert level is not None, code
        return level

    def user(
        self,
        email: str | None = None,
        *,
        roles: Iterable[Role] = (),
        password: bool = True,
        name: str | None = "Test Person",
    ) -> User:
        user = User(
            email=email or f"person{next(_sequence)}@example.org",
            name=name,
            password_hash=self._hash() if password else None,
            email_confirmed_at=self.now if password else None,
            created_at=self.now,
        )
        for role in roles:
            user.role_grants.append(RoleGrant(role=role, granted_at=self.now))
        db.session.add(user)
        db.session.flush()
        return user

    def classification(
        self, name: str | None = None, *, name_fr: str | None = None
    ) -> JobClassification:
        classification = JobClassification(
            name=name or f"Job {next(_sequence)}", name_fr=name_fr, created_at=self.now
        )
        db.session.add(classification)
        db.session.flush()
        return classification

    def workplace(
        self,
        employer: str | None = None,
        *,
        site: str = "",
        status: WorkplaceStatus = WorkplaceStatus.CONFIRMED,
        headcount: int | None = 20,
        listed: bool = True,
        sector: Sector = Sector.OUTREACH,
        bargaining_status: BargainingStatus = BargainingStatus.ORGANIZING,
    ) -> Workplace:
        workplace = Workplace(
            employer=employer or f"Agency {next(_sequence)}",
            site=site,
            sector=sector,
            bargaining_status=bargaining_status,
            estimated_headcount=headcount,
            status=status,
            listed_on_join=listed,
            created_at=self.now,
        )
        db.session.add(workplace)
        db.session.flush()
        return workplace

    def funding(
        self,
        workplace: Workplace,
        *,
        ends_on: date | None,
        positions: int = 1,
        amount_cents: int | None = 100_000_00,
        funder: str = "City",
    ) -> FundingSource:
        funding = FundingSource(
            workplace=workplace,
            funder=funder,
            program="",
            amount_cents=amount_cents,
            ends_on=ends_on,
            positions_funded=positions,
            created_at=self.now,
        )
        db.session.add(funding)
        db.session.flush()
        return funding

    def member(
        self,
        workplace: Workplace | None = None,
        *,
        name: str | None = None,
        status: MemberStatus = MemberStatus.ACTIVE,
        user: User | None = None,
        email: str | None = None,
        account: bool = False,
        classification: JobClassification | None = None,
        level: str = "minimum",
        joined_on: date | None = None,
    ) -> Member:
        if user is None and (account or email):
            user = self.user(email, password=account, name=None)
        member = Member(
            member_number=numbers.next_number("member_number"),
            user=user,
            chosen_name=name or f"Member {next(_sequence)}",
            contact_preference=ContactPreference.EMAIL
            if user
            else ContactPreference.IN_PERSON,
            membership_class=MembershipClass.EMPLOYED,
            status=status,
            dues_level_id=self.level(level).id,
            joined_on=joined_on or self.now.date(),
            created_at=self.now,
        )
        if workplace is not None:
            member.employments.append(
                Employment(
                    workplace=workplace,
                    classification=classification,
                    created_at=self.now,
                )
            )
        db.session.add(member)
        db.session.flush()
        dues.record_first_level(member, now=self.now)
        db.session.flush()
        return member

    def payment(
        self,
        member: Member,
        months: int = 1,
        *,
        method: PaymentMethod = PaymentMethod.CASH,
        amount_cents: int | None = None,
        initiation_cents: int = 0,
        paid_on: date | None = None,
        stripe_invoice_id: str | None = None,
    ) -> DuesPayment:
        """A payment as if it had come in, covering the oldest uncovered months."""
        return ledger.record_payment(
            member,
            method=method,
            amount_cents=amount_cents if amount_cents is not None else 1100 * months,
            initiation_cents=initiation_cents,
            months=months,
            paid_on=paid_on or self.now.date(),
            now=self.now,
            stripe_invoice_id=stripe_invoice_id,
        )

    def steward(self, *workplaces: Workplace, email: str | None = None) -> User:
        user = self.user(email, roles=(Role.STEWARD,))
        for workplace in workplaces:
            db.session.add(
                StewardAssignment(user=user, workplace=workplace, assigned_at=self.now)
            )
        db.session.flush()
        return user

    def grievance(
        self,
        workplace: Workplace,
        *,
        steward: User | None = None,
        grievants: Iterable[Member] = (),
        title: str | None = None,
        what_happened: str = "Paid less than the posted rate for the same work.",
        category: GrievanceCategory = GrievanceCategory.WAGE_DISCREPANCY,
        deadline_on: date | None = None,
    ) -> Grievance:
        """An open case at intake, as opening one through the service leaves it."""
        sequence = next(_sequence)
        grievance = Grievance(
            number=f"{self.now.year}-T{sequence:04d}",
            workplace=workplace,
            category=category,
            title=title or f"Case {sequence}",
            what_happened=what_happened,
            remedy_sought="",
            steward_id=steward.id if steward else None,
            step=GrievanceStep.INTAKE,
            deadline_on=deadline_on or self.now.date() + timedelta(days=14),
            opened_on=self.now.date(),
            created_at=self.now,
            updated_at=self.now,
        )
        grievance.grievants = list(grievants)
        db.session.add(grievance)
        db.session.add(
            StepRecord(
                grievance=grievance,
                step=GrievanceStep.INTAKE,
                entered_at=self.now,
                entered_on=self.now.date(),
                deadline_on=grievance.deadline_on,
            )
        )
        db.session.add(
            GrievanceEvent(
                grievance=grievance, kind=GrievanceEventKind.OPENED, at=self.now
            )
        )
        db.session.flush()
        return grievance

    def note(
        self, grievance: Grievance, body: str = "A note.", author: User | None = None
    ) -> GrievanceNote:
        note = GrievanceNote(
            grievance=grievance, author=author, body=body, created_at=self.now
        )
        db.session.add(note)
        self._on_timeline(grievance, GrievanceEventKind.NOTE_ADDED, author)
        db.session.flush()
        return note

    def document(
        self,
        grievance: Grievance,
        *,
        data: bytes = PDF_BYTES,
        filename: str = "letter.pdf",
        uploaded_by: User | None = None,
    ) -> GrievanceDocument:
        """A document stored through the app's document storage."""
        from flask import current_app

        from union.adapters.documents import document_type

        kind = document_type(data)
        assert kind is not None
        key = current_app.extensions["union_documents"].save(data)
        document = GrievanceDocument(
            grievance=grievance,
            uploaded_by=uploaded_by,
            uploaded_at=self.now,
            filename=filename,
            content_type=kind.content_type,
            size_bytes=len(data),
            storage_key=key,
            sha256="0" * 64,
        )
        db.session.add(document)
        self._on_timeline(grievance, GrievanceEventKind.DOCUMENT_ADDED, uploaded_by)
        db.session.flush()
        return document

    def _on_timeline(
        self, grievance: Grievance, kind: GrievanceEventKind, actor: User | None
    ) -> None:
        """As the services do: every note and document is on the case's timeline."""
        db.session.add(
            GrievanceEvent(
                grievance=grievance,
                kind=kind,
                at=self.now,
                actor_id=actor.id if actor else None,
            )
        )
