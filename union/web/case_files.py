"""A grievance's case file for step meetings and arbitration: what the case page
says, laid out to print, in the reader's language. The print page and the PDF
are both drawn from the one PrintedDocument built here, so they never differ."""

from __future__ import annotations

from datetime import date, datetime

from union.adapters.pdf import Fact, PrintedDocument, Section
from union.i18n import _, current_language
from union.labels import label
from union.models import Grievance, GrievanceEvent, User
from union.rules.grievance_steps import Urgency, urgency
from union.web.filters import local_date, local_datetime, money


def _person(user: User | None) -> str:
    return user.display_name if user is not None else _("someone")


def _event_line(event: GrievanceEvent) -> str:
    line = f"{local_datetime(event.at, 'short')}: {_person(event.actor)}, "
    line += label(event.kind)
    if event.step is not None:
        line += f" ({label(event.step)})"
    if event.user is not None:
        line += f": {event.user.display_name}"
    if event.member is not None:
        line += f": {event.member.chosen_name}"
    return line


def _deadline(grievance: Grievance, today: date) -> str:
    deadline = local_date(grievance.deadline_on)
    flag = urgency(grievance.deadline_on, today)
    if flag is not None and flag is not Urgency.ON_TRACK:
        return f"{deadline} ({label(flag)})"
    return deadline


def _details(grievance: Grievance, today: date) -> Section:
    grievants = ", ".join(member.chosen_name for member in grievance.grievants)
    facts = [
        Fact(_("Case number"), grievance.number),
        Fact(_("Workplace"), grievance.workplace.name),
        Fact(_("About"), label(grievance.category)),
        Fact(
            _("Grievants"),
            grievants or _("A group or policy grievance: nobody is named."),
        ),
        Fact(
            _("Steward"),
            grievance.steward.display_name if grievance.steward else _("nobody"),
        ),
    ]
    if grievance.contact_preference is not None:
        facts.append(
            Fact(
                _("The member asks to be reached by"),
                label(grievance.contact_preference),
            )
        )
    facts += [
        Fact(
            _("When it happened"),
            local_date(grievance.incident_on) or _("not recorded"),
        ),
        Fact(_("Opened"), local_date(grievance.opened_on)),
        Fact(_("Step"), label(grievance.step)),
    ]
    if grievance.is_open:
        facts.append(Fact(_("Deadline for this step"), _deadline(grievance, today)))
    else:
        facts.append(Fact(_("Closed"), local_date(grievance.closed_on)))
    return Section(_("Details"), facts=facts)


def _outcome(grievance: Grievance) -> Section:
    return Section(
        _("Outcome"),
        facts=[
            Fact(_("Outcome"), label(grievance.outcome) if grievance.outcome else ""),
            Fact(
                _("Money recovered"),
                money(grievance.money_recovered_cents) or _("none"),
            ),
            Fact(_("What was won"), grievance.remedy_obtained or _("not recorded")),
        ],
    )


def case_file(
    grievance: Grievance,
    *,
    with_notes: bool,
    printed_by: User,
    printed_at: datetime,
    today: date,
    union_name: str,
) -> PrintedDocument:
    """The case file of a grievance loaded with everything its page shows
    (grievances.grievance_for(..., full=True)). Notes only when `with_notes`: the
    caller has checked the reader may see them."""
    title = _("Case %(number)s", number=grievance.number)
    if grievance.title:
        title += f": {grievance.title}"
    sections = [_details(grievance, today)]
    if grievance.erased_at is not None:
        sections.append(
            Section(
                _("Removed"),
                paragraphs=[
                    _(
                        "This case was closed long ago: its story, notes, documents "
                        "and grievants were removed on %(date)s, as the union's "
                        "keeping rules say. What is left only counts in the "
                        "statistics.",
                        date=local_date(grievance.erased_at),
                    )
                ],
            )
        )
    sections.append(
        Section(
            _("What happened"),
            paragraphs=[grievance.what_happened] if grievance.what_happened else [],
            empty=_("not recorded"),
        )
    )
    if grievance.remedy_sought:
        sections.append(
            Section(_("Remedy sought"), paragraphs=[grievance.remedy_sought])
        )
    if not grievance.is_open:
        sections.append(_outcome(grievance))
    sections.append(
        Section(
            _("Steps and deadlines"),
            items=[
                f"{label(record.step)}: "
                + _("from %(date)s", date=local_date(record.entered_on))
                + (
                    ", " + _("deadline %(date)s", date=local_date(record.deadline_on))
                    if record.deadline_on
                    else ""
                )
                for record in grievance.step_records
            ],
        )
    )
    sections.append(
        Section(_("Timeline"), items=[_event_line(event) for event in grievance.events])
    )
    sections.append(
        Section(
            _("Documents"),
            items=[
                f"{document.filename} ({_person(document.uploaded_by)}, "
                f"{local_date(document.uploaded_at)})"
                for document in grievance.documents
            ],
            empty=_("No documents yet."),
        )
    )
    if with_notes:
        sections.append(
            Section(
                _("Confidential notes"),
                items=[
                    f"{_person(note.author)}, {local_datetime(note.created_at, 'short')}:"
                    f"\n{note.body}"
                    for note in grievance.notes
                ],
                empty=_("No notes yet."),
            )
        )
    return PrintedDocument(
        title=title,
        subtitle=_(
            "%(union)s. Printed on %(date)s by %(name)s.",
            union=union_name,
            date=local_datetime(printed_at, "short"),
            name=printed_by.display_name,
        ),
        sections=sections,
        footer=(
            _("Confidential, with the stewards' notes: for the union only.")
            if with_notes
            else _("Confidential union case file.")
        ),
        page_numbering=_("Page %(page)s of %(pages)s"),
        language=current_language(),
    )
