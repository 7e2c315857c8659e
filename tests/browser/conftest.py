"""Real-browser journeys: Debian's Chromium, headless, driven by Playwright, against the
app served on a free port with a fresh database, demo data and localstripe as Stripe.

Every page a journey visits is checked with axe-core and may have no serious or
critical violation; screenshots of the key pages and the axe results are kept
under test-artifacts/browser/. Where Chromium is missing the journeys skip and say
why; .ci/run installs it, so in CI they run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    expect,
    sync_playwright,
)
from werkzeug.serving import make_server

from tests.browser import axe
from tests.conftest import config_for_tests, empty_database
from tests.stripe_peer import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    free_port,
    http,
    signed,
)
from union import create_app
from union.adapters.mail import MemoryMailer, Message
from union.db import db
from union.generate import demo
from union.services import card_dues

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
DEMO_PASSWORD = "union-demo-password"
#: A small phone, as many members use.
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
LINK = re.compile(r"https?://\S+")
#: Two sentences run together ("November 2026.Nothing owed"): a template lost a space.
GLUED_SENTENCES = re.compile(r"[a-z0-9\u00e0-\u00ff][.!?:][A-Z\u00c0-\u00dd][a-z]")
#: A sentence ending in a time ("8:44 p.m.") given a full stop of its own.
DOUBLED_STOPS = re.compile(r"\w(?<!\.)\.\.(?!\.)")

#: One line per journey, printed at the end of the run.
AXE_SUMMARY: list[str] = []


def chromium_executable() -> str | None:
    named = os.environ.get("CHROMIUM")
    for candidate in [named] if named else ["chromium", "chromium-browser"]:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_executable()
    if executable is None:
        pytest.skip(
            "Chromium is not installed (apt-get install chromium); .ci/run installs "
            "it, so these journeys run in CI"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def axe_script() -> str:
    return axe.source()


@dataclass
class LiveUnion:
    """The app, served for real on 127.0.0.1, with what a test needs to reach into it."""

    app: Flask
    url: str

    @property
    def outbox(self) -> list[Message]:
        mailer = self.app.extensions["union_mailer"]
        assert isinstance(mailer, MemoryMailer)
        return mailer.outbox

    def last_mail_to(self, address: str, *, wait_seconds: float = 15) -> Message:
        """The newest email to `address`, waiting for it: joining and password
        resets send after the page has answered, so on a busy machine the email
        can land a moment after the browser shows "check your email"."""
        deadline = time.monotonic() + wait_seconds
        while True:
            found = [message for message in self.outbox if message.to == address]
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert found, f"no email to {address}"
        return found[-1]

    def link_in(self, message: Message) -> str:
        links = [
            link for link in LINK.findall(message.body) if link.startswith(self.url)
        ]
        assert links, message.body
        return links[0]

    def run(self, action: Any) -> Any:
        """Runs `action()` in an app context and commits, as a CLI command would."""
        with self.app.app_context():
            result = action()
            db.session.commit()
            return result

    def deliver(self, event: dict[str, Any]) -> int:
        """Posts an event to the webhook, signed by the stripe library's helper."""
        delivery = signed(event)
        request = urllib.request.Request(  # noqa: S310 -- loopback only
            f"{self.url}/stripe/webhook",
            data=delivery.body,
            method="POST",
            headers={
                "Stripe-Signature": delivery.signature,
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 -- loopback only
            return int(response.status)


def open_menu(page: Page) -> None:
    """Opens the site's menu where it is folded away behind "Menu" (a phone); on
    wider screens its links are in the open and nothing happens."""
    menu = page.locator("details.site-menu")
    if menu.is_visible() and menu.get_attribute("open") is None:
        menu.locator("summary").click()
        expect(menu.locator(".site-nav")).to_be_visible()


def menu_link(page: Page, name: str) -> Locator:
    """The site menu's link called `name`, the menu opened first on a phone."""
    open_menu(page)
    return page.locator(".site-nav:visible").get_by_role("link", name=name, exact=True)


def expect_signed_in(page: Page) -> None:
    """Signed in: the menu, open or folded, has a way to sign out."""
    expect(page.locator(".site-nav form[action='/logout']").first).to_be_attached()


#: Where localstripe's Checkout and Portal URLs lead unless it serves its pages.
UNANSWERED_STRIPE_PAGES = (
    "https://checkout.localstripe.test",
    "https://billing.localstripe.test",
)


@contextlib.contextmanager
def serve_union(
    folder: Path,
    localstripe: str,
    now: datetime,
    *,
    redirect_origins: tuple[str, ...] = UNANSWERED_STRIPE_PAGES,
) -> Iterator[LiveUnion]:
    """The demo union, freshly migrated and loaded, served on a free port with
    localstripe as Stripe, until the block ends."""
    http("DELETE", f"{localstripe}/_config/data")
    port = free_port()
    with empty_database(folder) as database_url:
        app = create_app(
            config_for_tests(
                SQLALCHEMY_DATABASE_URI=database_url,
                SERVER_NAME=f"127.0.0.1:{port}",
                STRIPE_SECRET_KEY=SECRET_KEY,
                STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                STRIPE_API_BASE=localstripe,
                STRIPE_REDIRECT_ORIGINS=redirect_origins,
                DOCUMENT_STORAGE_PATH=str(folder / "documents"),
            )
        )
        with app.app_context():
            flask_migrate.upgrade()
            demo.load_demo(password=DEMO_PASSWORD, now=now)
            card_dues.setup_catalog(app.extensions["union_payments"], now=now)
            db.session.commit()
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        hook = {"url": f"{url}/stripe/webhook", "secret": WEBHOOK_SECRET}
        http("POST", f"{localstripe}/_config/webhooks/browser", hook)
        try:
            yield LiveUnion(app, url)
        finally:
            # localstripe cannot remove a webhook; an empty event list mutes it.
            http(
                "POST",
                f"{localstripe}/_config/webhooks/browser",
                {**hook, "events": []},
            )
            server.shutdown()
            thread.join(timeout=10)
            app.extensions["union_payments"].close()
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def live_union(localstripe: str, tmp_path: Path, now: datetime) -> Iterator[LiveUnion]:
    with serve_union(tmp_path, localstripe, now) as live:
        yield live


@dataclass
class Journey:
    """One person's visit. `see` checks the page in front of them with axe and takes
    a screenshot; at the end every page they were on must have been checked."""

    page: Page
    name: str
    axe_script: str
    visited: list[str] = field(default_factory=list)
    checked: dict[str, list[str]] = field(default_factory=dict)
    shots: int = 0

    def __post_init__(self) -> None:
        self.folder = ARTIFACTS / self.name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.page.on("framenavigated", self._navigated)

    def _navigated(self, frame: Any) -> None:
        if frame == self.page.main_frame and frame.url.startswith("http://127.0.0.1"):
            self.visited.append(self._path(frame.url))

    @staticmethod
    def _path(url: str) -> str:
        return "/" + url.split("/", 3)[3].split("#")[0] if url.count("/") >= 3 else "/"

    def see(self, label: str) -> None:
        """Checks the current page: no serious or critical accessibility problem."""
        self.page.wait_for_load_state("load")
        self.page.evaluate(self.axe_script)
        results = self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        found = axe.violations(results)
        path = self._path(self.page.url)
        self.checked[path] = [str(v) for v in found]
        self.shots += 1
        self.page.screenshot(
            path=str(self.folder / f"{self.shots:02d}-{label}.png"), full_page=True
        )
        blocking = [v for v in found if v.impact in axe.BLOCKING]
        assert not blocking, f"{label} ({path}):\n" + "\n".join(map(str, blocking))
        text = self.page.locator("main").inner_text()
        glued = GLUED_SENTENCES.findall(text)
        assert not glued, f"{label} ({path}): sentences run together: {glued}"
        doubled = DOUBLED_STOPS.findall(text)
        assert not doubled, f"{label} ({path}): two full stops: {doubled}"

    def finish(self) -> None:
        (self.folder / "axe.json").write_text(
            json.dumps(self.checked, indent=2, sort_keys=True), encoding="utf-8"
        )
        unchecked = sorted(set(self.visited) - set(self.checked))
        assert not unchecked, f"pages visited but never checked: {unchecked}"
        minor = sum(len(problems) for problems in self.checked.values())
        AXE_SUMMARY.append(
            f"{self.name}: {len(self.checked)} pages, no serious or critical "
            f"violation, {minor} minor or moderate (see {self.folder}/axe.json)"
        )


@pytest.fixture
def journey(
    browser: Browser, axe_script: str, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """`journey(name, phone=True)` opens a fresh browser profile for one person."""
    contexts: list[BrowserContext] = []
    journeys: list[Journey] = []

    def start(name: str, *, phone: bool = False, locale: str = "en-CA") -> Journey:
        options: dict[str, Any] = dict(PHONE) if phone else {}
        context = browser.new_context(locale=locale, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        test_name = request.node.name.removeprefix("test_")
        started = Journey(context.new_page(), f"{test_name}/{name}", axe_script)
        journeys.append(started)
        return started

    yield start
    failed = request.node.stash.get(FAILED, False)
    for context in contexts:
        context.close()
    if not failed:
        for started in journeys:
            started.finish()


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if AXE_SUMMARY:
        terminalreporter.section("axe-core accessibility checks")
        for line in AXE_SUMMARY:
            terminalreporter.write_line(line)
