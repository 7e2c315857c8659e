"""Jinja filters and globals: money, dates and labels, formatted for the reader."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask import Flask, request, url_for
from flask_babel import (
    format_date,
    format_datetime,
    format_percent,
    get_locale,
)

from union import clock
from union.i18n import (
    current_language,
    format_day,
    format_minute,
    format_money,
    format_number,
)
from union.labels import label, subscription_status
from union.models import Role
from union.web import audit_text


def money(cents: int | None) -> str:
    return "" if cents is None else format_money(cents)


def local_date(value: date | None, style: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return str(format_date(value, style))
    return format_day(value, style)


def local_datetime(value: datetime | None, style: str = "medium") -> str:
    """A moment in the union's time zone. "short" is the day in words and the time
    to the minute ("Nov 17, 2026, 3:04 p.m.", "17 nov. 2026, 15 h 04"): CLDR's own
    short style writes the day in digits, as a machine would."""
    if value is None:
        return ""
    local = value.astimezone(clock.union_zone())
    if style != "short":
        return str(format_datetime(local, style))
    return format_minute(local)


def month_name(value: date | None) -> str:
    """A month the way people say it: "November 2026"."""
    return "" if value is None else format_day(value, "MMMM y")


def number(value: int | None) -> str:
    return "" if value is None else format_number(value)


def percent(value: float | None) -> str:
    return "" if value is None else str(format_percent(value))


def enum_label(value: enum.Enum | None) -> str:
    return "" if value is None else label(value)


def current_locale() -> str:
    """The page language as a BCP 47 tag for <html lang>, e.g. "en-CA"."""
    locale = get_locale()
    if locale is None:
        return "en"
    return (
        f"{locale.language}-{locale.territory}" if locale.territory else locale.language
    )


def url_with(**changes: Any) -> str:
    """The current page's URL with some query parameters changed (for pagination)."""
    if request.endpoint is None:
        return request.path
    arguments = {**(request.view_args or {}), **request.args.to_dict(), **changes}
    return url_for(request.endpoint, **arguments)


#: How much of a stored release's digest a page shows as its check code: enough
#: to tell two releases apart at a glance, short enough to read out.
CHECK_CODE_LENGTH = 12


def check_code(digest: str) -> str:
    return digest[:CHECK_CODE_LENGTH]


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        money=money,
        local_date=local_date,
        local_datetime=local_datetime,
        number=number,
        month_name=month_name,
        add_months=clock.add_months,
        percent=percent,
        label=enum_label,
        audit_action=audit_text.action_label,
        subscription_status=subscription_status,
        check_code=check_code,
    )
    app.jinja_env.globals.update(
        audit_detail=audit_text.detail_text,
        audit_subject=audit_text.subject_text,
        url_with=url_with,
        Role=Role,
        current_locale=current_locale,
        current_language=current_language,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
