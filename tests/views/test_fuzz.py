"""Hostile input into every form and query parameter, as every kind of user.

The forms are found by visiting the app's pages (tests/views/forms.py), so a new
form is fuzzed without being listed here. For each one, hypothesis sends values
that are huge, oddly encoded, NUL-laden, HTML, SQL, of the wrong type, or missing,
with a valid CSRF token so the view itself is reached. Two properties:

* the app never answers with a server error;
* a submission the app refuses (an error status, or the form shown again with
  its problems) leaves the database exactly as it was.

Each example runs in a savepoint that is rolled back, so examples do not pile up.
FUZZ_EXAMPLES sets the number of examples per field and route (default 4: the
whole run stays within a few minutes).
"""

from __future__ import annotations

import io
import os
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.views.forms import Form, discover, query_parameters
from union.adapters.throttle import MemoryCounters, Throttle
from union.db import Base, db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
PERSONAS = ("anonymous", "member", "steward", "organizer", "treasurer", "admin")
#: Tables a refused request may still write to: the audit log (refusals are
#: recorded on purpose) and "last seen" on the signed-in session.
MAY_CHANGE = {"audit_events", "login_sessions"}

TEXTS = (
    "",
    " ",
    "\t\r\n",
    "x" * 70_000,
    "\u202eevil\u202c \u0645\u0631\u062d\u0628\u0627 \U0001d518\U0001d52b",
    "Z\u0351\u0352\u0353\u0354" * 400,
    "\ufeff\u200b\u200d\u2028\u2029",
    "\U0001f3f3\ufe0f\u200d\u26a7\ufe0f" * 50,
    "nul\x00byte",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    "'; DROP TABLE members; --",
    "{{7*7}}${7*7}%s%n",
    '=HYPERLINK("http://evil.example")',
    "../../etc/passwd",
    "%00%0d%0a",
    "\r\nSet-Cookie: x=y",
)
#: Past what an integer column holds (2^31 - 1), a bigint (2^63 - 1) and an
#: unsigned 64-bit number, both signs; and digits Python's isdigit() accepts but
#: int() does not, or that are not ASCII.
PAST_ANY_COLUMN = (
    "2147483648",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999",
    "\u00b2",
    "\u0661\u0662\u0663",
)
NUMBERS = (
    *PAST_ANY_COLUMN,
    "-2147483649",
    "18446744073709551616",
    "-1",
    "0",
    "99999999999999999999999999999",
    "1e308",
    "NaN",
    "Infinity",
    "3.14159",
    "12,34.5.6",
    "99999999999999999.99",
    "-0.01",
)
DATES = ("2026-02-30", "9999-12-31", "0001-01-01", "2026-13", "10000-01", "1969-12-31")
EMAILS = ("a@b", "@example.org", "x" * 300 + "@example.org", "UPPER@EXAMPLE.ORG ")


def hostile_for(kind: str) -> st.SearchStrategy[Any]:
    """Values meant to break a field of this kind, the likeliest breakers first."""
    if kind == "file":
        return st.one_of(
            st.binary(max_size=3000).map(lambda data: ("upload", data)),
            st.sampled_from(TEXTS),
        )
    pool: tuple[str, ...]
    if kind == "number":
        pool = NUMBERS + TEXTS
    elif kind in ("date", "month"):
        pool = DATES + NUMBERS + TEXTS
    elif kind == "email":
        pool = EMAILS + TEXTS
    else:
        pool = TEXTS + NUMBERS + DATES
    return st.one_of(
        st.sampled_from(pool),
        st.text(max_size=200),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
    )


def value_strategy(field: Any) -> st.SearchStrategy[Any]:
    plain = hostile_for(field.kind)
    choices = [option for option in field.options if option is not None]
    if choices and field.kind != "file":
        plain = st.one_of(plain, st.sampled_from(choices))
    # One value, missing, or the same name twice.
    return st.one_of(plain, st.none(), st.lists(plain, min_size=2, max_size=2))


PLAUSIBLE = {
    "email": "fuzz@example.org",
    "password": "correct horse battery",
    "date": "2026-11-20",
    "month": "2026-11",
    "number": "3",
    "tel": "416 555 0100",
    "search": "Robin",
    "textarea": "Some plain words.",
}


def plausible(field: Any) -> Any:
    """A value the form would accept on its own, so that one hostile field next to
    plausible ones gets past validation of the others and reaches the service."""
    options = [option for option in field.options if option]
    if options:
        return options[0]
    if field.kind == "file":
        return ("upload", b"%PDF-1.4\n%%EOF\n")
    return PLAUSIBLE.get(field.kind, "Plain text 12")


def fields_of(form: Form) -> list[Any]:
    return [f for f in form.fields if not f.name.endswith("csrf_token")]


def one_hostile(form: Form, target: str) -> st.SearchStrategy[dict[str, Any]]:
    """Every field plausible except `target`."""
    return st.fixed_dictionaries(
        {
            f.name: value_strategy(f) if f.name == target else st.just(plausible(f))
            for f in fields_of(form)
        }
    )


def all_hostile(form: Form) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({f.name: value_strategy(f) for f in fields_of(form)})


def snapshot(connection: sa.Connection) -> dict[str, list[tuple[Any, ...]]]:
    state = {}
    for table in Base.metadata.sorted_tables:
        if table.name in MAY_CHANGE:
            continue
        rows = connection.execute(sa.select(table)).all()
        state[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return state


def refused(response: Any) -> bool:
    if response.status_code >= 400:
        return True
    if response.status_code != 200 or "text/html" not in response.content_type:
        return False
    page = response.get_data(as_text=True)
    return 'class="error-summary"' in page or 'class="field-error"' in page


def encode(form: Form, values: dict[str, Any], token: str) -> dict[str, Any]:
    def one(value: Any) -> Any:
        if isinstance(value, tuple) and value[0] == "upload":
            return (io.BytesIO(value[1]), "upload.pdf")
        return value

    data: dict[str, Any] = {}
    for field in form.fields:
        if field.name.endswith("csrf_token"):
            data[field.name] = token
    for name, value in values.items():
        if value is None:
            continue
        data[name] = [one(v) for v in value] if isinstance(value, list) else one(value)
    return data


class Session:
    """One persona's browser, put back as it was after every example."""

    def __init__(self, app: Any, client: Any, world: Any, persona: str) -> None:
        self.app, self.client, self.world, self.persona = app, client, world, persona
        if persona != "anonymous":
            client.sign_in(world.accounts[persona].email)
        self.token = client.csrf_token(
            "/login" if persona == "anonymous" else "/account"
        )
        cookie = client.get_cookie("session", domain="union.test")
        self.cookie = cookie.value if cookie else None
        bind = db.session.get_bind()
        assert isinstance(bind, sa.Connection)
        self.connection = bind

    def run(self, send: Any, check_refusal: bool) -> None:
        self.app.extensions["union_throttle"] = Throttle(MemoryCounters())
        savepoint = self.connection.begin_nested()
        try:
            before = snapshot(self.connection) if check_refusal else None
            response = send()
            assert response.status_code < 500, (
                response.status_code,
                response.get_data(as_text=True)[:500],
            )
            if before is not None and refused(response):
                assert snapshot(self.connection) == before, "a refused form saved data"
        finally:
            savepoint.rollback()
            db.session.expire_all()
            if self.cookie is not None:
                self.client.set_cookie("session", self.cookie, domain="union.test")
            else:
                self.client.delete_cookie("session", domain="union.test")


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONAS)
def test_no_form_answers_500_or_saves_what_it_refused(app, client, world, persona):
    session = Session(app, client, world, persona)
    forms = discover(client, app, world)
    assert forms, "no forms found"
    for form in forms:
        # Each field alone hostile (the others plausible, so validation of the rest
        # passes and the hostile value reaches the service), then all at once.
        for field in fields_of(form):
            fuzz_form(session, form, one_hostile(form, field.name))
        fuzz_form(session, form, all_hostile(form))


def fuzz_form(
    session: Session, form: Form, strategy: st.SearchStrategy[dict[str, Any]]
) -> None:
    client = session.client
    url = form.action.split("#", 1)[0]

    @FUZZ_SETTINGS
    @given(values=strategy)
    def fuzz(values: dict[str, Any]) -> None:
        if form.method == "GET":
            query = {
                name: value
                for name, value in values.items()
                if isinstance(value, str | list)
            }
            session.run(lambda: client.get(url, query_string=query), False)
            return
        data = encode(form, values, session.token)
        session.run(
            lambda: client.post(
                url,
                data=data,
                content_type="multipart/form-data" if form.multipart else None,
            ),
            True,
        )

    fuzz()


def pages_and_their_parameters(app, client, world):
    """Every page with every query parameter it reads or a form of it sends."""
    from tests.views.forms import get_routes

    get_forms: dict[str, set[str]] = {}
    for form in discover(client, app, world):
        if form.method == "GET":
            path = urlsplit(form.action).path
            get_forms.setdefault(path, set()).update(f.name for f in form.fields)
    for endpoint, url in get_routes(app, world):
        names = query_parameters(app, endpoint) | get_forms.get(
            urlsplit(url).path, set()
        )
        yield url, names | {"page", "next"}


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONAS)
def test_no_query_parameter_answers_500(app, client, world, persona):
    session = Session(app, client, world, persona)
    for url, names in list(pages_and_their_parameters(app, client, world)):
        fuzz_query(session, url, names)


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONAS)
def test_a_number_past_any_column_in_any_query_parameter_is_no_error(
    app, client, world, persona
):
    """Not left to chance: every number too big for the database, in every query
    parameter of every page, as every kind of user."""
    session = Session(app, client, world, persona)
    failed = []
    for url, names in list(pages_and_their_parameters(app, client, world)):
        for name in sorted(names):
            for number in PAST_ANY_COLUMN:
                send = partial(client.get, url, query_string={name: number})
                try:
                    session.run(send, False)
                except AssertionError:
                    failed.append((url, name, number))
    assert failed == []


def fuzz_query(session: Session, url: str, names: set[str]) -> None:
    client = session.client

    @FUZZ_SETTINGS
    @given(
        query=st.fixed_dictionaries(
            {name: st.one_of(hostile_for("text"), st.none()) for name in sorted(names)}
        )
    )
    def fuzz(query: dict[str, Any]) -> None:
        params = {name: value for name, value in query.items() if value is not None}
        session.run(lambda: client.get(url, query_string=params), False)

    fuzz()
