"""The audit log is append-only in the database itself, and reads back by filter."""

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from union.db import db
from union.models import AuditEvent, AuditPurge
from union.services import audit

DAY = timedelta(days=1)


def count(**where):
    statement = sa.select(sa.func.count()).select_from(AuditEvent)
    for name, value in where.items():
        statement = statement.where(getattr(AuditEvent, name) == value)
    return db.session.scalar(statement)


def refused(statement: str) -> bool:
    """Runs raw SQL in a savepoint; True when the database refuses it."""
    savepoint = db.session.begin_nested()
    try:
        db.session.execute(sa.text(statement))
        db.session.flush()
    except sa.exc.DBAPIError:
        savepoint.rollback()
        return True
    savepoint.rollback()
    return False


def test_the_database_refuses_to_change_or_remove_an_audit_row(make, now):
    audit.record("member.viewed", actor=make.user(), now=now, detail="x=1")
    db.session.flush()
    assert refused("UPDATE audit_events SET action = 'nothing.happened'")
    assert refused("UPDATE audit_events SET actor_id = NULL")
    assert refused("DELETE FROM audit_events")
    assert count(action="member.viewed") == 1


def test_removing_an_account_leaves_its_audit_rows_untouched(make, now):
    user = make.user()
    audit.record("member.viewed", actor=user, now=now)
    db.session.flush()
    user_id = user.id
    db.session.delete(user)
    db.session.flush()
    assert count(actor_id=user_id) == 1


def test_only_rows_older_than_a_recorded_purge_can_be_deleted(make, now):
    for age in (400, 10):
        audit.record("member.viewed", actor=None, now=now - DAY * age)
    db.session.flush()
    assert refused("DELETE FROM audit_events")
    removed = audit.purge_older_than(now - DAY * 365, now=now)
    assert removed == 1
    assert count() == 1
    # The purge is on record for good, and only reaches back as far as it says.
    assert refused("DELETE FROM audit_purges")
    assert refused("UPDATE audit_purges SET cutoff_at = at")
    assert refused("DELETE FROM audit_events")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditPurge)) == 1


def test_a_purge_with_nothing_to_remove_records_nothing(now):
    assert audit.purge_older_than(now - DAY, now=now) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditPurge)) == 0


def test_the_service_offers_no_way_to_change_a_row():
    public = {name for name in dir(audit) if not name.startswith("_")}
    assert not {
        n for n in public if n.startswith(("update", "delete", "edit", "remove"))
    }


def test_report_pulls_name_the_report_and_artifact_never_figures(make, now):
    organizer = make.user()
    event = audit.record_report_pull(
        "wages_by_workplace_v1", actor=organizer, now=now, artifact_id=42
    )
    db.session.flush()
    assert (event.action, event.subject_type, event.subject_id, event.detail) == (
        "report.pulled",
        "report",
        "42",
        "report=wages_by_workplace_v1",
    )
    exported = audit.record_report_pull("x", actor=organizer, now=now, exported=True)
    assert exported.action == "report.exported"


def test_filters_and_pages(make, now):
    steward = make.user(name="Steward Sam")
    for day in range(5):
        audit.record("grievance.viewed", actor=steward, now=now - DAY * day)
    audit.record("role.granted", actor=None, now=now, detail="role=steward")
    db.session.flush()
    page = audit.audit_page(audit.AuditFilter(action="grievance."), page=1, per_page=2)
    assert (page.total, page.pages, len(page.items)) == (5, 3, 2)
    assert page.items[0].at == now and page.items[0].actor_name == "Steward Sam"
    by_actor = audit.audit_page(
        audit.AuditFilter(actor_id=steward.id), page=1, per_page=9
    )
    assert by_actor.total == 5
    one_day = audit.audit_page(
        audit.AuditFilter(from_day=(now - DAY).date(), to_day=(now - DAY).date()),
        page=1,
        per_page=9,
    )
    assert [row.at for row in one_day.items] == [now - DAY]
    literal = audit.audit_page(audit.AuditFilter(action="%"), page=1, per_page=9)
    assert literal.total == 0


def test_the_csv_is_safe_in_a_spreadsheet_and_its_export_is_recorded(make, now):
    admin = make.user(name='=HYPERLINK("http://evil.example")')
    audit.record("role.granted", actor=admin, now=now, detail="+cmd|' /C calc'!A0")
    db.session.flush()
    text = "".join(audit.audit_csv(audit.AuditFilter(), actor=admin, now=now))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(audit.AUDIT_COLUMNS)
    granted = next(row for row in rows if row[3] == "role.granted")
    assert granted[2].startswith("'=") and granted[6].startswith("'+")
    assert count(action="audit.exported") == 1


def test_entries_about_a_member_include_views_changes_and_their_sign_ins(make, now):
    member = make.member(account=True)
    steward = make.user(name="Steward Sam")
    other = make.member(account=True)
    audit.record("member.viewed", actor=steward, now=now, subject=member)
    audit.record("account.signed_in", actor=member.user, now=now)
    audit.record("member.viewed", actor=steward, now=now, subject=other)
    db.session.flush()
    actions = sorted(row.action for row in audit.entries_about(member))
    assert actions == ["account.signed_in", "member.viewed"]


@pytest.mark.parametrize("bad", ["x" * 300])
def test_detail_is_cut_to_its_column(now, bad):
    event = audit.record("x.y", actor=None, now=now, detail=bad)
    db.session.flush()
    assert len(event.detail) == 200
