from __future__ import annotations

from typing import Any

from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import Email, EqualTo, InputRequired, Length

from union.forms.base import BaseForm, strip_filter
from union.i18n import _l
from union.rules.passwords import MAX_LENGTH, MIN_LENGTH


class LoginForm(BaseForm):
    email = EmailField(
        _l("Email"),
        filters=[strip_filter],
        validators=[InputRequired(_l("Enter your email."))],
    )
    password = PasswordField(
        _l("Password"), validators=[InputRequired(_l("Enter your password."))]
    )


class ForgotPasswordForm(BaseForm):
    email = EmailField(
        _l("Email"),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Enter your email.")),
            Email(_l("Enter an email address like name@example.org.")),
        ],
    )


def new_password_field(label: Any) -> PasswordField:
    return PasswordField(
        label,
        description=_l(
            "At least 8 characters. A few words you will remember work well."
        ),
        validators=[
            InputRequired(_l("Choose a password.")),
            Length(
                min=MIN_LENGTH,
                max=MAX_LENGTH,
                message=_l("Use between %(min)d and %(max)d characters."),
            ),
        ],
    )


class ChoosePasswordForm(BaseForm):
    password = new_password_field(_l("New password"))
    confirm = PasswordField(
        _l("Type it again"),
        validators=[
            InputRequired(_l("Type the password again.")),
            EqualTo("password", _l("The two passwords are not the same.")),
        ],
    )


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(_l("Enter your current password."))],
    )
    new_password = new_password_field(_l("New password"))
    confirm = PasswordField(
        _l("Type the new password again"),
        validators=[
            InputRequired(_l("Type the new password again.")),
            EqualTo("new_password", _l("The two passwords are not the same.")),
        ],
    )


class LanguageForm(BaseForm):
    """The switch between English and French; each button sends its language."""

    language = HiddenField()
    next = HiddenField()


class ConfirmPasswordForm(BaseForm):
    password = PasswordField(
        _l("Your password"), validators=[InputRequired(_l("Enter your password."))]
    )


class ChangeEmailForm(BaseForm):
    new_email = EmailField(
        _l("New email"),
        description=_l(
            "We send a link to it. Your email changes when you open that link."
        ),
        filters=[strip_filter],
        validators=[
            InputRequired(_l("Enter the new email.")),
            Length(max=254, message=_l("Keep this under 254 characters.")),
            Email(_l("Enter an email address like name@example.org.")),
        ],
    )
