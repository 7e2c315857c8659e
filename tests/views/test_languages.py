"""English and French: the language each person reads, remembered; French pages
with no English sentence from the catalogue; money, dates and emails per language."""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po

from tests.test_translations import CATALOGUES, forms
from union.db import db
from union.generate import demo
from union.generate.organisation import JOB_NAMES_FR
from union.models import User, email_digest
from union.web import handoff
from union.web.notifications import send_dues_reminder

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
GLUED = re.compile(r"[a-z0-9\u00e0-\u00ff][.!?][A-Z\u00c0-\u00dd][a-z]")
SKIPPED = re.compile(r"\.(csv|ics)$|/documents/|/calendar/|/export|/logout")


class VisibleText(HTMLParser):
    """What a reader sees: text outside tags, scripts and styles, plus the words
    screen readers say (labels in aria-label and alt)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "style", "title"):
            self._skipping += 1
        for name in ("aria-label", "alt", "placeholder"):
            if found.get(name):
                self.parts.append(f"\n{found[name]}\n")
        if tag == "a" and found.get("href"):
            self.links.append(found["href"] or "")
        if tag in ("p", "li", "td", "th", "dt", "dd", "h1", "h2", "h3", "label", "br"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"[ \t\r\f\v]+", " ", "".join(self.parts))


def read(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    return parser


def english_sentences() -> set[str]:
    """Pieces of catalogue messages long enough to be a tell-tale English phrase,
    from every message French says differently."""
    with (CATALOGUES / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        french = read_po(po)
    pieces = set()
    for entry in french:
        strings = forms(entry.string)
        for text in forms(entry.id):
            if not text or text in strings:
                continue
            for piece in PLACEHOLDER.split(text):
                for line in piece.split("\n"):
                    line = line.strip(" .,:;()")
                    if len(line) >= 14 and len(line.split()) >= 3:
                        pieces.add(line)
    return pieces


def crawl(client, start: str = "/", most: int = 60) -> dict[str, str]:
    """Every page reachable from `start` by links, as this client sees them."""
    seen: dict[str, str] = {}
    queue = deque([start])
    while queue and len(seen) < most:
        path = queue.popleft()
        if path in seen:
            continue
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            seen[path] = ""
            continue
        html = response.get_data(as_text=True)
        seen[path] = html
        for link in read(html).links:
            link = link.split("#")[0]
            if link.startswith("/") and not SKIPPED.search(link) and link not in seen:
                queue.append(link)
    return {path: html for path, html in seen.items() if html}


@pytest.fixture
def french_world(world):
    for account in world.accounts.values():
        account.locale = "fr"
    db.session.flush()
    return world


@pytest.mark.parametrize(
    "who", ["member", "steward", "organizer", "treasurer", "admin", None]
)
def test_french_pages_show_no_english_sentence_from_the_catalogue(
    client, french_world, who
):
    if who is None:
        client.set_cookie("language", "fr", domain="union.test")
    else:
        client.sign_in(french_world.accounts[who].email)
    start_pages = ["/"] if who else ["/", "/join", "/login", "/password/forgot"]
    english = english_sentences()
    pages: dict[str, str] = {}
    for start in start_pages:
        pages.update(crawl(client, start))
    assert len(pages) >= (4 if who is None else 5), sorted(pages)
    problems = []
    for path, html in pages.items():
        assert '<html lang="fr-CA">' in html, path
        text = read(html).text
        problems += [f"{path}: {phrase!r}" for phrase in english if phrase in text]
        problems += [f"{path}: run together {glued!r}" for glued in GLUED.findall(text)]
    assert not problems, "\n".join(sorted(problems)[:40])


def test_the_check_does_find_english_on_an_english_page(client, world):
    text = read(client.get("/join").get_data(as_text=True)).text
    found = [phrase for phrase in english_sentences() if phrase in text]
    assert len(found) >= 10, found


def test_a_visitors_browser_language_is_the_default(client, world):
    page = client.get("/join", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    html = page.get_data(as_text=True)
    assert '<html lang="fr-CA">' in html
    assert "Adhérer au syndicat" in html or "syndicat" in html
    english = client.get("/join", headers={"Accept-Language": "en-CA"})
    assert '<html lang="en-CA">' in english.get_data(as_text=True)


def test_the_switch_is_remembered_in_the_browser_and_on_the_account(client, world):
    response = client.submit(
        "/language", {"language": "fr", "next": "/join"}, page="/join"
    )
    assert (response.status_code, response.headers["Location"]) == (302, "/join")
    assert '<html lang="fr-CA">' in client.get("/join").get_data(as_text=True)

    client.sign_in("member@example.org")
    client.submit("/language", {"language": "fr", "next": "/dues"}, page="/dues")
    db.session.refresh(world.accounts["member"])
    assert world.accounts["member"].locale == "fr"
    elsewhere = client.application.test_client()
    elsewhere.sign_in("member@example.org")
    assert '<html lang="fr-CA">' in elsewhere.get(
        "/dues", headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
    client.submit("/language", {"language": "en", "next": "/dues"}, page="/dues")
    db.session.refresh(world.accounts["member"])
    assert world.accounts["member"].locale == "en"


def test_a_language_that_is_not_offered_changes_nothing(client, world):
    client.sign_in("member@example.org")
    response = client.submit(
        "/language", {"language": "xx", "next": "https://evil.example/"}, page="/dues"
    )
    assert response.headers["Location"] == "/"
    db.session.refresh(world.accounts["member"])
    assert world.accounts["member"].locale is None
    assert "language" not in {cookie.key for cookie in client._cookies.values()}


def test_money_and_dates_follow_the_language(client, french_world):
    client.sign_in("member@example.org")
    html = client.get("/dues").get_data(as_text=True)
    assert "22,00\u00a0$" in html
    assert "novembre 2026" in html
    client.submit("/language", {"language": "en", "next": "/dues"}, page="/dues")
    html = client.get("/dues").get_data(as_text=True)
    assert "$22.00" in html and "November 2026" in html


def test_joining_in_french_sends_the_link_in_french_and_remembers_it(
    client, world, outbox
):
    headers = {"Accept-Language": "fr-CA"}
    page = client.get("/join", headers=headers).get_data(as_text=True)
    level = re.search(r'<input(?=[^>]*name="dues_level")[^>]*value="(\d+)"', page)
    workplace = re.search(r'<option[^>]*value="(\d+)"[^>]*>Here Agency', page)
    assert level and workplace
    assert "11,00\u00a0$ par mois\u00a0: Moins de 2\u00a0000\u00a0$ par mois" in page
    assert "$11.00" not in page and "Under $2,000" not in page
    client.submit(
        "/join",
        {
            "chosen_name": "Camille",
            "email": "camille@example.org",
            "contact_preference": "email",
            "membership_class": "employed",
            "workplace": workplace.group(1),
            "dues_level": level.group(1),
        },
        page="/join",
        headers=headers,
    )
    # The others tell the stewards and admins that an applicant waits.
    [message] = [m for m in outbox if m.to == "camille@example.org"]
    assert message.subject == "Terminer votre adhésion au syndicat"
    assert "Bonjour" in message.body or "Camille" in message.body
    user = db.session.scalars(
        db.select(User).where(User.email_hash == email_digest("camille@example.org"))
    ).one()
    assert user.locale == "fr"


def test_reminders_go_out_in_each_members_language(app, make, outbox):
    french = make.user("fr@example.org", name=None)
    french.locale = "fr"
    english = make.user("en@example.org", name=None)
    with app.test_request_context():
        send_dues_reminder(french, arrears=3)
        send_dues_reminder(english, arrears=3)
        handoff.commit()
    by_address = {message.to: message for message in outbox}
    assert by_address["fr@example.org"].subject != by_address["en@example.org"].subject
    assert "cotisations" in by_address["fr@example.org"].subject
    assert "dues" in by_address["en@example.org"].subject
    assert "3 mois" in by_address["fr@example.org"].body


def test_job_titles_read_in_french_on_french_pages(client, french_world, make):
    peer = make.classification("Peer worker", name_fr="Pair·e aidant·e")
    make.classification("Job with no French name yet")
    french_world.here.classifications.append(peer)
    employment = french_world.member.employments[0]
    employment.classification = peer
    db.session.flush()
    client.set_cookie("language", "fr", domain="union.test")
    join = client.get("/join").get_data(as_text=True)
    assert "Pair·e aidant·e" in join and "Peer worker" not in join
    # Without a French title, the English one stands in rather than nothing.
    assert "Job with no French name yet" in join
    client.sign_in("steward@example.org")
    for path in (
        f"/members/{french_world.member.public_id}",
        f"/workplaces/{french_world.here.id}",
    ):
        page = client.get(path).get_data(as_text=True)
        assert "Pair·e aidant·e" in page and "Peer worker" not in page, path


def test_the_demos_job_titles_are_in_french_too(client, make):
    demo.load_demo(password="demo password", now=make.now)
    client.set_cookie("language", "fr", domain="union.test")
    join = read(client.get("/join").get_data(as_text=True)).text
    for english, french in JOB_NAMES_FR.items():
        if english in demo.DEMO_JOBS:
            assert french in join and english not in join, english


def test_the_treasury_chart_names_its_months_in_the_readers_language(
    client, french_world
):
    client.sign_in("treasurer@example.org")
    chart = re.search(
        r"<svg.*?</svg>", client.get("/treasurer/").get_data(as_text=True), re.S
    )
    assert chart is not None
    assert "nov. 26" in chart.group(0) and "Nov 26" not in chart.group(0)
    client.submit("/language", {"language": "en"}, page="/treasurer/")
    chart = re.search(
        r"<svg.*?</svg>", client.get("/treasurer/").get_data(as_text=True), re.S
    )
    assert chart is not None and "Nov 26" in chart.group(0)


def test_the_case_timeline_writes_days_in_words(client, french_world):
    client.sign_in("steward@example.org")
    path = f"/grievances/{french_world.grievance.public_id}"
    timeline = read(client.get(path).get_data(as_text=True)).text
    assert re.search(r"22 nov\. 2026, 10 h 00", timeline), timeline[-600:]
    assert not re.search(r"\d{4}-\d\d-\d\d", timeline)
    client.submit("/language", {"language": "en"}, page=path)
    timeline = read(client.get(path).get_data(as_text=True)).text
    assert (
        "Nov 22, 2026, 10:00\u202fa.m." in timeline
        or "Nov 22, 2026, 10:00 a.m." in timeline
    )
