from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField

from union.forms.base import BaseForm, SelectChoice
from union.i18n import _l
from union.labels import LABELS
from union.models import GRANTABLE_ROLES


class RoleForm(BaseForm):
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, LABELS[role]) for role in GRANTABLE_ROLES],
    )


class SettingsForm(BaseForm):
    auto_accept_applicants = BooleanField(
        _l("Accept new members automatically"),
        description=_l(
            "When on, people who join become active members as soon as they confirm "
            "their email. When off, a steward of their workplace or an admin accepts them."
        ),
    )


class ImportForm(BaseForm):
    file = FileField(
        _l("Spreadsheet file (.xlsx or .csv)"),
        validators=[
            FileRequired(_l("Choose a spreadsheet file.")),
            FileAllowed(["csv", "txt", "xlsx"], _l("Choose a .xlsx or .csv file.")),
        ],
    )
    check_only = BooleanField(_l("Only check the file; import nothing"))
