"""The audit log in plain words: every action the app records has its words, and
details read as sentences, never as codes or internal ids."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from union.models import TokenPurpose
from union.services.audit import SUBJECT_TYPES
from union.web.audit_text import (
    ACTIONS,
    AREAS,
    SUBJECT_KINDS,
    action_choices,
    action_label,
    detail_text,
    subject_text,
)

PACKAGE = Path(__file__).resolve().parents[2] / "union"


def _strings(node: ast.expr, assigned: dict[str, list[ast.expr]]) -> list[str]:
    """The action codes an argument can hold: a literal, either side of a
    conditional, or what the function assigned to a name it passes."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body, assigned) + _strings(node.orelse, assigned)
    if isinstance(node, ast.Name):
        return [
            found
            for value in assigned.get(node.id, [])
            for found in _strings(value, assigned)
        ]
    return []


def recorded_actions() -> set[str]:
    """Every action code passed to `audit.record` anywhere in the app, found by
    reading the source (codes built with an f-string are checked on their own)."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            assigned: dict[str, list[ast.expr]] = {}
            for node in ast.walk(function):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            assigned.setdefault(target.id, []).append(node.value)
            for node in ast.walk(function):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                if name == "record":
                    found.update(_strings(node.args[0], assigned))
    return found


def test_every_action_the_app_records_has_plain_words():
    recorded = recorded_actions()
    assert len(recorded) > 60, "the source scan found too few actions"
    assert recorded - set(ACTIONS) == set()


def test_every_password_link_has_plain_words():
    for purpose in TokenPurpose:
        assert f"account.password_set.{purpose}" in ACTIONS


def test_every_action_sits_in_an_area_the_filter_offers():
    assert {code.split(".", 1)[0] for code in ACTIONS} <= set(AREAS)
    offered = {
        code for options in action_choices().values() for code, _label in options
    }
    assert set(ACTIONS) <= offered
    assert "" in offered  # anything at all


def test_every_kind_of_subject_has_a_name():
    assert set(SUBJECT_KINDS) == set(SUBJECT_TYPES)


def test_an_unknown_action_is_shown_as_stored_rather_than_lost():
    assert action_label("member.viewed") == "Member record viewed"
    assert action_label("something.new") == "something.new"


@pytest.mark.parametrize(
    ("action", "detail", "words"),
    [
        ("role.granted", "role=steward", "Steward or delegate"),
        ("grievance.case_file_downloaded", "notes=omitted", "Without the confidential"),
        ("grievance.case_file_viewed", "notes=included", "With the confidential notes"),
        ("member.status_changed", "status=lapsed", "Now lapsed"),
        ("member.application_declined", "member_number=1061", "Member 1061"),
        ("member.data_downloaded", "format=json", "Downloaded as a file"),
        ("correction.resolved", "status=declined", "Not changed"),
        ("dues.payment_recorded", "method=cash,months=2", "Cash, 2 months"),
        ("dues.payment_recorded", "method=etransfer,months=1", "E-transfer, 1 month"),
        ("dues.payment_disputed", "reinstated", "The money came back to the union"),
        ("dues.rate_scheduled", "from=2027-01-01", "From Jan 1, 2027"),
        ("grievance.moved", "step=step_1", "To Step 1"),
        ("grievance.closed", "outcome=partly_won", "Partly won"),
        ("grievance.opened", "grievants=0", "A group or policy grievance"),
        ("grievance.document_viewed", "document=12", ""),
        ("workplace.merged", "from=34", ""),
        ("workplace.steward_assigned", "user=7", "Steward: Sam Steward"),
        ("workplace.steward_unassigned", "user=8", "Steward: a removed account"),
        ("access.refused", "endpoint=admin.users status=403", "Not allowed"),
        ("retention.applied", "login_sessions=3 account_tokens=2", "5 old records"),
        ("report.pulled", "report=wages/union/-/round 3", "union-wide"),
        ("setting.changed", "setting=auto_accept_applicants", "Accept applicants"),
        ("keys.rotated", "values=1204", "1,204 values encrypted again"),
    ],
)
def test_details_read_as_plain_words(action, detail, words):
    text = detail_text(action, detail, {7: "Sam Steward"})
    assert words in text if words else text == ""
    assert "=" not in text


@pytest.mark.parametrize(
    ("action", "detail"),
    [
        ("role.granted", "role=emperor"),
        ("dues.payment_recorded", "method=cash,months=many"),
        ("something.new", "key=value"),
    ],
)
def test_a_detail_in_an_unexpected_form_is_shown_as_stored(action, detail):
    assert detail_text(action, detail) == detail


def test_subjects_are_named_as_the_app_names_them_never_by_internal_id():
    assert subject_text("member", "1061") == "Member 1061"
    assert subject_text("user", "Robin Here") == "Account: Robin Here"
    assert subject_text("grievance", "2026-0042") == "Case 2026-0042"
    assert subject_text("workplace", None) == "A workplace"
    assert subject_text("duespayment", None) == "A payment"
    assert subject_text(None, None) == ""
