import sqlalchemy as sa

from union.db import db
from union.models import FundingSource, Workplace, WorkplaceStatus


def test_organizers_see_counts_density_and_precarity_but_no_names(client, make, world):
    make.funding(world.here, ends_on=None, positions=4)
    client.sign_in("organizer@example.org")
    page = client.get("/workplaces/").get_data(as_text=True)
    assert "Here Agency" in page and "There Agency" in page
    assert "5%" in page
    assert "Robin Here" not in page and "Sky There" not in page


def test_a_steward_sees_only_the_workplaces_they_cover(client, world):
    client.sign_in("steward@example.org")
    page = client.get("/workplaces/").get_data(as_text=True)
    assert "Here Agency" in page and "There Agency" not in page
    assert client.get(f"/workplaces/{world.there.id}").status_code == 404
    detail = client.get(f"/workplaces/{world.here.id}").get_data(as_text=True)
    assert "Change details" not in detail
    assert client.get(f"/workplaces/{world.here.id}/edit").status_code == 403


def test_an_organizer_adds_a_workplace_with_jobs(client, make, world):
    job = make.classification("Kit maker")
    client.sign_in("organizer@example.org")
    response = client.submit(
        "/workplaces/new",
        {
            "employer": "Peer Works",
            "site": "Kit program",
            "sector": "peer_program",
            "bargaining_status": "organizing",
            "contract_expires_on": "",
            "estimated_headcount": "12",
            "listed_on_join": "",
            "classification_ids": [str(job.id)],
        },
    )
    assert response.status_code == 302
    workplace = db.session.scalar(
        sa.select(Workplace).where(Workplace.employer == "Peer Works")
    )
    assert (
        workplace.listed_on_join,
        workplace.estimated_headcount,
        workplace.classifications,
    ) == (False, 12, [job])


def test_bad_workplace_input_is_named(client, world):
    client.sign_in("organizer@example.org")
    response = client.submit(
        "/workplaces/new",
        {
            "employer": "",
            "sector": "space",
            "bargaining_status": "organizing",
            "estimated_headcount": "-3",
            "contract_expires_on": "soon",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for message in (
        "Enter the employer",
        "Not a valid choice",
        "Enter a number from 0 to 100,000.",
        "Enter a date like 2026-03-31.",
    ):
        assert message in page.replace("&#39;", "'")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Workplace)) == 2


def test_funding_with_a_bad_amount_is_refused_and_a_good_one_saved(client, world):
    client.sign_in("organizer@example.org")
    url = f"/workplaces/{world.here.id}/funding/new"
    bad = client.submit(
        url, {"funder": "City", "amount": "lots", "positions_funded": "2"}
    )
    assert "Enter an amount in dollars" in bad.get_data(as_text=True)
    good = client.submit(
        url,
        {
            "funder": "City",
            "amount": "$1,250,000.50",
            "ends_on": "2027-03-31",
            "positions_funded": "2",
        },
    )
    assert good.status_code == 302
    funding = db.session.scalar(
        sa.select(FundingSource).where(FundingSource.ends_on.is_not(None))
    )
    assert funding.amount_cents == 125_000_050
    page = client.get(f"/workplaces/{world.here.id}").get_data(as_text=True)
    assert "$1,250,000.50" in page
    assert "ends within 6 months" in page


def test_editing_funding_shows_the_amount_in_dollars(client, world):
    client.sign_in("organizer@example.org")
    page = client.get(
        f"/workplaces/{world.here.id}/funding/{world.funding.id}/edit"
    ).get_data(as_text=True)
    assert 'value="100000.00"' in page


def test_merging_a_pending_workplace_into_the_real_one(client, make, world):
    typed = make.workplace("here agncy", status=WorkplaceStatus.PENDING)
    member = make.member(typed)
    client.sign_in("organizer@example.org")
    response = client.submit_and_confirm(
        f"/workplaces/{typed.id}/merge",
        {"into": str(world.here.id)},
        page=f"/workplaces/{typed.id}",
    )
    assert response.headers["Location"] == f"/workplaces/{world.here.id}"
    db.session.expire_all()
    assert member.current_employments[0].workplace_id == world.here.id


def test_only_admins_assign_stewards_and_it_takes_effect_at_once(client, make, world):
    new_steward = make.user("new-steward@example.org", roles=())
    from union.models import Role, RoleGrant

    new_steward.role_grants.append(RoleGrant(role=Role.STEWARD, granted_at=make.now))
    db.session.flush()
    steward_browser = client.application.test_client()
    steward_browser.sign_in("new-steward@example.org")
    assert steward_browser.get(f"/members/{world.member.public_id}").status_code == 404
    client.sign_in("admin@example.org")
    client.submit(
        f"/workplaces/{world.here.id}/stewards",
        {"steward": str(new_steward.id)},
        page=f"/workplaces/{world.here.id}",
    )
    assert steward_browser.get(f"/members/{world.member.public_id}").status_code == 200


def test_the_workplace_list_takes_the_same_queries_for_few_or_many(
    client, make, world, count_queries
):
    client.sign_in("organizer@example.org")
    with count_queries() as few:
        client.get("/workplaces/")
    for _ in range(40):
        place = make.workplace()
        make.member(place)
        make.funding(place, ends_on=None)
    with count_queries() as many:
        page = client.get("/workplaces/").get_data(as_text=True)
    assert page.count("<tr>") >= 42
    assert many.count == few.count


def test_the_edit_page_ticks_the_jobs_already_chosen(client, make, world):
    chosen, other = (
        make.classification("Kit maker"),
        make.classification("Outreach worker"),
    )
    world.here.classifications.append(chosen)
    db.session.flush()
    client.sign_in("organizer@example.org")
    page = client.get(f"/workplaces/{world.here.id}/edit").get_data(as_text=True)
    import re

    ticked = re.findall(
        r'<input checked[^>]*value="(\d+)"|<input[^>]*value="(\d+)"[^>]*checked', page
    )
    assert {int(a or b) for a, b in ticked} == {chosen.id}
    assert f'value="{other.id}"' in page
