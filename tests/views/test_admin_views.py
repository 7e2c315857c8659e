import sqlalchemy as sa

from union.db import db
from union.models import AuditEvent, Role


def test_granting_a_role_changes_access_on_the_next_click(client, world):
    organizer_browser = client.application.test_client()
    organizer_browser.sign_in("organizer@example.org")
    assert organizer_browser.get("/members/").status_code == 403
    client.sign_in("admin@example.org")
    user_id = world.accounts["organizer"].id
    client.submit(
        f"/admin/users/{user_id}/roles",
        {"role": "admin"},
        page=f"/admin/users/{user_id}",
    )
    assert organizer_browser.get("/members/").status_code == 200
    client.submit(
        f"/admin/users/{user_id}/roles/admin/revoke", page=f"/admin/users/{user_id}"
    )
    # Taking a role away also ends the sessions opened with it.
    signed_out = organizer_browser.get("/members/")
    assert signed_out.status_code == 302
    assert signed_out.headers["Location"].startswith("/login")
    organizer_browser.sign_in("organizer@example.org")
    assert organizer_browser.get("/members/").status_code == 403
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.subject_id == str(user_id))
    ).all()
    assert actions == ["role.granted", "role.revoked"]


def test_member_cannot_be_granted_and_unknown_roles_are_ignored(client, world):
    client.sign_in("admin@example.org")
    user_id = world.accounts["treasurer"].id
    response = client.submit(
        f"/admin/users/{user_id}/roles",
        {"role": "member"},
        page=f"/admin/users/{user_id}",
    )
    assert response.status_code == 302
    response = client.submit(
        f"/admin/users/{user_id}/roles/overlord/revoke", page=f"/admin/users/{user_id}"
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert world.accounts["treasurer"].roles == {Role.TREASURER}


def test_disabling_an_account_signs_it_out_at_once(client, world):
    steward_browser = client.application.test_client()
    steward_browser.sign_in("steward@example.org")
    client.sign_in("admin@example.org")
    user_id = world.accounts["steward"].id
    client.submit(f"/admin/users/{user_id}/disable", page=f"/admin/users/{user_id}")
    assert steward_browser.get("/members/").status_code == 302
    again = steward_browser.submit(
        "/login", {"email": "steward@example.org", "password": "correct horse battery"}
    )
    assert again.status_code == 200


def test_the_only_admin_cannot_disable_themselves_or_drop_the_role(client, world):
    client.sign_in("admin@example.org")
    admin_id = world.accounts["admin"].id
    response = client.submit(
        f"/admin/users/{admin_id}/disable", page=f"/admin/users/{admin_id}"
    )
    assert "You cannot disable your own account." in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    client.submit(
        f"/admin/users/{admin_id}/roles/admin/revoke", page=f"/admin/users/{admin_id}"
    )
    db.session.expire_all()
    assert Role.ADMIN in world.accounts["admin"].roles


def test_the_accounts_list_searches(client, world):
    client.sign_in("admin@example.org")
    page = client.get("/admin/users?q=Treasurer@Example.org").get_data(as_text=True)
    assert "treasurer@example.org" in page and "steward@example.org" not in page
    # Emails are encrypted at rest: a fragment of one finds nothing.
    assert "treasurer@example.org" not in client.get(
        "/admin/users?q=treasurer"
    ).get_data(as_text=True)


def test_auto_accept_is_a_setting(client, world):
    client.sign_in("admin@example.org")
    client.submit("/admin/settings", {"auto_accept_applicants": "y"})
    assert "checked" in client.get("/admin/settings").get_data(as_text=True)


def test_background_work_shows_the_backlog_and_puts_parked_work_back(
    client, world, now
):
    from union.models import Job, JobState
    from union.services import jobs

    waiting = jobs.enqueue("email", {"to": "x@example.org"}, now=now)
    parked = jobs.enqueue("join", {"application": {}}, now=now)
    db.session.flush()
    parked.state = JobState.PARKED
    parked.attempts = jobs.MAX_ATTEMPTS
    parked.error_class = "SMTPServerDisconnected"
    waiting.run_after = now + jobs.LEASE
    db.session.commit()
    client.sign_in("admin@example.org")
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "A join application" in page
    assert "SMTPServerDisconnected" in page
    assert "x@example.org" not in page
    response = client.submit(
        "/admin/jobs/retry", {"job": str(parked.id)}, page="/admin/jobs"
    )
    assert response.status_code == 302
    # Back in line with fresh attempts, it ran at once (the queue is inline in
    # tests) and failed again on its empty application: waiting to retry.
    retried = db.session.get(Job, parked.id, populate_existing=True)
    assert (retried.state, retried.attempts) == (JobState.WAITING, 1)
    assert retried.error_class == "KeyError"
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "job.retried")
    )
    assert event is not None and event.subject_id == str(parked.id)
    again = client.submit(
        "/admin/jobs/retry", {"job": str(parked.id)}, page="/admin/jobs"
    )
    assert again.status_code == 302


def test_every_kind_of_background_work_has_words(app):
    from union.services import jobs
    from union.web.job_kinds import JOB_KINDS

    registered = {kind for kind in jobs.kinds() if not kind.startswith("test-")}
    assert registered - JOB_KINDS.keys() == set()
