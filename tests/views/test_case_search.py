"""Finding cases by words of their title or by a grievant, only ever among the
cases the reader may see; titles are searched through keyed word hashes, never
decrypted to be searched."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from union.adapters import blind_index
from union.db import db
from union.models import GrievanceOutcome, GrievanceStep, GrievanceTitleWord
from union.models.grievances import TITLE_WORDS
from union.services import grievances, retention
from union.services.grievances import GrievanceDetails


def found(client, query: str) -> list[str]:
    """The case numbers the case list shows for a search."""
    page = client.get("/grievances/cases", query_string={"q": query})
    assert page.status_code == 200
    return re.findall(
        r'<th scope="row"><a href="/grievances/[0-9a-f]+">([^<]+)</a>',
        page.get_data(as_text=True),
    )


@pytest.fixture
def cases(world, make):
    """Cases at both workplaces with overlapping words and grievants. Sky works
    at workplace B and also, now, at A."""
    make.member(world.here, name="Unrelated Person")
    sky_at_here = world.stranger
    sky_at_here.employments.append(
        type(world.member.employments[0])(workplace=world.here, created_at=make.now)
    )
    return {
        "overnight": make.grievance(
            world.here, title="Working alone on overnight shifts"
        ),
        "conges": make.grievance(world.here, title="Congés refusés sans raison"),
        "robin": make.grievance(
            world.here, title="Pay stubs missing hours", grievants=[world.member]
        ),
        "there": make.grievance(
            world.there,
            title="Working alone on overnight shifts",
            grievants=[world.stranger],
        ),
    }


def test_a_case_is_found_by_whole_words_and_word_beginnings_of_its_title(
    client, world, cases
):
    client.sign_in("steward@example.org")
    overnight = cases["overnight"].number
    assert found(client, "overnight") == [overnight]
    assert found(client, "OVERN") == [overnight]
    assert found(client, "shifts alone") == [overnight]
    assert found(client, "overnight dental") == []
    # Two letters find a whole word only; "on" is one.
    assert found(client, "ov") == []
    assert found(client, "on") == [overnight]
    # Without case or accents, either way round.
    assert found(client, "conges") == [cases["conges"].number]
    assert found(client, "REFUSÉ") == [cases["conges"].number]


def test_a_case_is_found_by_a_grievants_name_or_member_number(client, world, cases):
    client.sign_in("steward@example.org")
    # Robin is named on the world's own case too; newest number first.
    robin = [cases["robin"].number, world.grievance.number]
    assert found(client, "robin") == robin
    assert found(client, "n her") == robin
    assert found(client, str(world.member.member_number)) == robin
    assert found(client, f"#{world.member.member_number}") == robin
    assert found(client, "Unrelated") == []
    assert found(client, "%") == [] and found(client, "_") == []


def test_a_steward_never_finds_a_case_outside_their_workplaces(client, world, cases):
    client.sign_in("steward@example.org")
    # The same title at workplace B, a grievant who works at both, their number.
    assert cases["there"].number not in found(client, "overnight")
    assert found(client, "Sky") == []
    assert found(client, str(world.stranger.member_number)) == []
    client.sign_out()
    client.sign_in("other-steward@example.org")
    assert found(client, "overnight") == [cases["there"].number]
    assert found(client, "Robin") == []
    assert found(client, "pay stubs") == []
    client.sign_out()
    client.sign_in("admin@example.org")
    assert sorted(found(client, "overnight")) == sorted(
        [cases["overnight"].number, cases["there"].number]
    )


def test_the_search_keeps_the_other_filters(client, world, cases):
    client.sign_in("admin@example.org")
    page = client.get(
        "/grievances/cases",
        query_string={"q": "overnight", "workplace": str(world.there.id)},
    ).get_data(as_text=True)
    assert cases["there"].number in page and cases["overnight"].number not in page
    assert 'value="overnight"' in page


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "x" * 5000,
        "9" * 40,
        "#",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        " ".join(f"word{n}" for n in range(50)),
    ],
)
def test_odd_searches_find_nothing_and_never_fail(client, world, cases, query):
    client.sign_in("steward@example.org")
    shown = found(client, query)
    assert shown == [] or not query.strip()


def test_a_changed_title_is_found_by_its_new_words_only(make, world, now):
    steward = world.accounts["steward"]
    case = world.grievance
    grievances.update_details(
        case,
        GrievanceDetails(
            category=case.category,
            title="Vacation pay withheld",
            what_happened=case.what_happened,
            remedy_sought="",
            incident_on=None,
        ),
        actor=steward,
        now=now,
    )
    db.session.flush()
    for query, expected in (("vacation", [case]), ("short", [])):
        page = grievances.case_list(steward, query=query)
        assert list(page.items) == expected, query


def test_retention_erasing_a_closed_case_erases_its_title_words(app, world, now):
    case = world.grievance
    case.step = GrievanceStep.RESOLVED
    case.outcome = GrievanceOutcome.WON
    case.closed_on = now.date() - timedelta(days=800)
    db.session.flush()
    assert db.session.scalar(
        sa.select(sa.func.count())
        .select_from(GrievanceTitleWord)
        .where(GrievanceTitleWord.grievance_id == case.id)
    )
    retention.apply_retention(
        retention.RetentionPeriods(closed_grievances=timedelta(days=730)),
        now=now,
        storage=app.extensions["union_documents"],
    )
    db.session.flush()
    assert case.erased_at is not None
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(GrievanceTitleWord)
            .where(GrievanceTitleWord.grievance_id == case.id)
        )
        == 0
    )


def test_the_words_are_stored_only_as_keyed_numbers(world):
    stored = set(
        db.session.scalars(
            sa.select(GrievanceTitleWord.digest).where(
                GrievanceTitleWord.grievance_id == world.grievance.id
            )
        )
    )
    # "Short pay": short, sho, shor, pay.
    assert len(stored) == 4
    assert stored == blind_index.text_digests(TITLE_WORDS, "Short pay")
    assert not stored & blind_index.text_digests("another purpose", "Short pay")
    assert all(isinstance(digest, int) for digest in stored)


def test_the_search_runs_the_same_queries_for_a_few_or_many_cases(
    client, world, make, count_queries
):
    client.sign_in("steward@example.org")
    url = "/grievances/cases?q=overnight+shifts"
    client.get(url)
    with count_queries() as few:
        client.get(url)
    for number in range(30):
        make.grievance(
            world.here,
            title=f"Overnight shifts {number}",
            grievants=[make.member(world.here)],
        )
    with count_queries() as many:
        page = client.get(url).get_data(as_text=True)
    assert "30 cases found." in page
    assert many.count == few.count


def test_the_search_field_is_labelled_and_explained(client, world):
    client.sign_in("admin@example.org")
    page = html.unescape(client.get("/grievances/cases").get_data(as_text=True))
    assert '<label for="q">Title or grievant</label>' in page
    assert "Words from the case title, or a grievant's name or member number." in page
