"""Writing to members, and a member's choices about messages."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Protocol

from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)

from union.forms.base import BaseForm, QuickSelect, SelectChoice, strip_filter
from union.i18n import _, _l
from union.labels import label
from union.models import SUBJECT_MAX, Sector


class NamedWorkplace(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


class ComposeForm(BaseForm):
    #: See MemberMessage.draft_key: new for each form shown, kept through the
    #: preview and the asking page.
    draft_key = HiddenField(default=lambda: secrets.token_urlsafe(24))
    # Any value is taken here: the service says what is wrong with a group the
    # writer may not address, in words, rather than "not a valid choice".
    segment = SelectField(
        _l("Who is it for?"),
        validate_choice=False,
        widget=QuickSelect(),
        description=_l(
            "You will see how many people it reaches before anything is sent. "
            "You never see their addresses."
        ),
    )
    subject_en = StringField(
        _l("Subject in English"),
        filters=[strip_filter],
        render_kw={"maxlength": SUBJECT_MAX},
    )
    body_en = TextAreaField(
        _l("Message in English"),
        filters=[strip_filter],
        render_kw={"rows": 10},
        description=_l("Plain text, up to 10,000 characters."),
    )
    subject_fr = StringField(
        _l("Subject in French (optional)"),
        filters=[strip_filter],
        render_kw={"maxlength": SUBJECT_MAX, "lang": "fr"},
        description=_l("Members who read French get the English version if empty."),
    )
    body_fr = TextAreaField(
        _l("Message in French (optional)"),
        filters=[strip_filter],
        render_kw={"rows": 10, "lang": "fr"},
    )

    def offer(self, workplaces: Sequence[NamedWorkplace], *, admin: bool) -> None:
        offered = [SelectChoice("", _l("Choose a group"))]
        if admin:
            offered += [
                SelectChoice("everyone", _l("Every member")),
                SelectChoice("good_standing", _l("Members in good standing")),
            ]
        # Translated once, not once for each of up to a thousand workplaces.
        workplace_label = _("Workplace: %(name)s")
        offered += [
            SelectChoice(
                f"workplace:{workplace.id}", workplace_label % {"name": workplace.name}
            )
            for workplace in workplaces
        ]
        offered += [
            SelectChoice(
                f"sector:{sector.value}",
                _("Sector: %(name)s", name=label(sector)),
            )
            for sector in Sector
        ]
        self.segment.choices = offered


class ConsentForm(BaseForm):
    email = BooleanField(
        _l("Union messages by email"),
        description=_l("About meetings, votes and campaigns."),
    )
    text = BooleanField(
        _l("Union messages by text message"),
        description=_l("Only if you gave us a mobile number."),
    )
