"""Beyond axe: joining and signing in by keyboard alone, and every menu page usable
at 320 CSS pixels wide and at 200% zoom without scrolling sideways (WCAG 1.4.10)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import (
    DEMO_PASSWORD,
    Journey,
    LiveUnion,
    expect_signed_in,
    open_menu,
    serve_union,
)
from tests.conftest import FIXED_NOW

ACCOUNTS = (
    None,
    "member@example.org",
    "steward@example.org",
    "organizer@example.org",
    "treasurer@example.org",
    "admin@example.org",
)
#: Chromium at 200% zoom on a 1280 by 800 window lays pages out in 640 by 400
#: CSS pixels at two device pixels each; that is what is emulated here.
ZOOMED = ViewportSize(width=640, height=400)
NARROW = ViewportSize(width=320, height=640)


def tab_to(page: Page, selector: str, most: int = 60) -> None:
    """Presses Tab until the element matching `selector` has the focus, and checks
    that the focus can be seen."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            visible = page.evaluate(
                """() => {
                    const style = getComputedStyle(document.activeElement);
                    return style.outlineStyle !== 'none' && style.outlineWidth !== '0px'
                        || style.boxShadow !== 'none';
                }"""
            )
            assert visible, f"the focus on {selector} cannot be seen"
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_joining_and_signing_in_work_by_keyboard_alone(live_union, journey):
    person = journey("keyboard")
    page = person.page
    page.goto(f"{live_union.url}/join")
    person.see("join")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    tab_to(page, "#chosen_name")
    page.keyboard.type("Sam")
    tab_to(page, "#email")
    page.keyboard.type("sam.keys@example.org")
    tab_to(page, "#workplace")
    page.keyboard.press("ArrowDown")
    tab_to(page, "#classification")
    page.keyboard.press("ArrowDown")
    tab_to(page, "input[name=dues_level]")
    page.keyboard.press("Space")
    tab_to(page, "button[type=submit]:not(.site-nav button)")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check your email")
    person.see("sent")

    page.goto(live_union.link_in(live_union.last_mail_to("sam.keys@example.org")))
    person.see("choose-password")
    tab_to(page, "#password")
    page.keyboard.type("typed by keyboard only")
    tab_to(page, "#confirm")
    page.keyboard.type("typed by keyboard only")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome, Sam")
    person.see("welcome")

    tab_to(page, ".site-nav button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
    person.see("signed-out")
    tab_to(page, "a[href='/login']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/login")
    person.see("sign-in")
    tab_to(page, "#email")
    page.keyboard.type("sam.keys@example.org")
    tab_to(page, "#password")
    page.keyboard.type("typed by keyboard only")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    person.see("signed-in")


@pytest.fixture(scope="module")
def demo_union(
    localstripe: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveUnion]:
    folder: Path = tmp_path_factory.mktemp("reflow")
    with serve_union(folder, localstripe, FIXED_NOW) as live:
        yield live


def menu_pages(page: Page, live: LiveUnion, email: str | None) -> list[str]:
    """The pages this person reaches from the menu, and one page deeper from each
    list of records (a member, a case, a workplace ...)."""
    if email is not None:
        page.goto(f"{live.url}/login")
        page.get_by_role("textbox", name="Email").fill(email)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect_signed_in(page)
    else:
        page.goto(f"{live.url}/")
    paths = ["/"] + [
        href
        for href in page.locator(".site-nav-wide a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        if href != "/"
    ]
    deeper: list[str] = []
    for path in list(paths):
        page.goto(f"{live.url}{path}")
        sections = page.locator("main nav a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        first = page.locator("main table a, main .cards a").first
        if first.count():
            sections.append(first.get_attribute("href"))
        for href in sections:
            if href and href.startswith("/") and href not in paths + deeper:
                deeper.append(href)
    return paths + deeper


def sideways_overflow(page: Page) -> int:
    return int(
        page.evaluate(
            "() => document.documentElement.scrollWidth"
            " - document.documentElement.clientWidth"
        )
    )


def check_the_menu(person: Journey, name: str, first_page: bool) -> None:
    """At 320 pixels the links are folded behind "Menu" and the header stays short;
    opened, the menu lists them without scrolling sideways. Wider, they are in the
    open and there is no menu to open."""
    page = person.page
    menu = page.locator("details.site-menu")
    wide_links = page.locator(".site-nav-wide")
    if name != "320px":
        expect(menu).to_be_hidden()
        expect(wide_links).to_be_visible()
        return
    expect(wide_links).to_be_hidden()
    expect(menu.locator(".site-nav")).to_be_hidden()
    header = page.locator(".site-header").bounding_box()
    assert header is not None and header["height"] <= 0.25 * NARROW["height"], header
    open_menu(page)
    expect(menu.locator(".site-nav a").first).to_be_visible()
    if first_page:
        person.see("menu-open")
    overflow = sideways_overflow(page)
    assert overflow <= 0, (
        f"{page.url} with the menu open scrolls sideways by {overflow}px"
    )


@pytest.mark.parametrize(
    "email", ACCOUNTS, ids=lambda e: (e or "visitor").split("@")[0]
)
def test_every_menu_page_reflows_at_320_pixels_and_200_percent_zoom(
    browser: Browser, axe_script: str, demo_union: LiveUnion, email: str | None
):
    for name, size in (("320px", NARROW), ("zoom-200", ZOOMED)):
        context = browser.new_context(
            locale="en-CA", viewport=size, device_scale_factor=2
        )
        try:
            page = context.new_page()
            who = (email or "visitor").split("@")[0]
            person = Journey(page, f"reflow/{who}-{name}", axe_script)
            for index, path in enumerate(menu_pages(page, demo_union, email)):
                page.goto(f"{demo_union.url}{path}")
                label = path.strip("/").replace("/", "-").split("?")[0] or "home"
                person.see(label)
                overflow = sideways_overflow(page)
                assert overflow <= 0, (
                    f"{path} scrolls sideways by {overflow}px at {name}"
                )
                expect(page.get_by_role("heading", level=1)).to_be_in_viewport()
                check_the_menu(person, name, first_page=index == 0)
            person.visited = [p for p in person.visited if p in person.checked]
            person.finish()
        finally:
            context.close()
