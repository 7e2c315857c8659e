"""Every form the app shows, found by visiting its pages the way a person would.

The fuzz and log-canary tests use this, so a new page or form is covered without
anyone adding it to a list: each GET route (from the app's url_map, built with the
`world` fixture's objects) is opened as a persona, and every <form> on the answer is
read: where it posts, how, and its fields with their kinds and options. Query
parameters come from GET forms and from what the view functions read out of
`request.args`.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from tests.views.test_access_policy import url_for_rule

#: Routes that answer with something other than a page of forms.
NOT_PAGES = re.compile(
    r"(\.csv|\.json|\.ics|/documents/|/static/|/stripe/|/healthz|/readyz)"
)
ARGS_READ = re.compile(r"request\.args\.get\(\s*\"(\w+)\"")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Form:
    action: str
    method: str
    fields: tuple[Field, ...]
    #: The page the form was found on (its CSRF token comes from there).
    page: str
    multipart: bool = False

    @property
    def key(self) -> tuple[str, str, tuple[str, ...]]:
        return (
            urlsplit(self.action).path,
            self.method,
            tuple(f.name for f in self.fields),
        )


class _Parser(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self._form: dict[str, Any] | None = None
        self._select: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = {
                "action": values.get("action") or self.page,
                "method": (values.get("method") or "get").upper(),
                "multipart": "multipart" in values.get("enctype", ""),
                "fields": {},
            }
        elif self._form is None:
            return
        elif tag in ("input", "textarea") and values.get("name"):
            kind = values.get("type", "text") if tag == "input" else "textarea"
            if kind in ("submit", "button", "reset", "image"):
                return
            fields = self._form["fields"]
            name = values["name"]
            options = fields[name].options if name in fields else ()
            if kind in ("radio", "checkbox"):
                options = (*options, values.get("value", "y"))
            elif kind == "hidden":
                options = (values.get("value", ""),)
            fields[name] = Field(name, kind, options)
        elif tag == "select" and values.get("name"):
            self._select = {"name": values["name"], "options": []}
        elif tag == "option" and self._select is not None:
            self._select["options"].append(values.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None and self._form is not None:
            self._form["fields"][self._select["name"]] = Field(
                self._select["name"], "select", tuple(self._select["options"])
            )
            self._select = None
        elif tag == "form" and self._form is not None:
            self.forms.append(
                Form(
                    action=self._form["action"],
                    method=self._form["method"],
                    fields=tuple(self._form["fields"].values()),
                    page=self.page,
                    multipart=self._form["multipart"],
                )
            )
            self._form = None


def forms_on(page: str, html: str) -> list[Form]:
    parser = _Parser(page)
    parser.feed(html)
    return parser.forms


def get_routes(app: Any, world: Any) -> list[tuple[str, str]]:
    """(endpoint, URL) of every page-like GET route, built with the world's objects."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        url = url_for_rule(rule, world)
        if not NOT_PAGES.search(url):
            routes.append((rule.endpoint, url))
    return sorted(set(routes))


def query_parameters(app: Any, endpoint: str) -> set[str]:
    """The query parameters a view reads, found in its source."""
    view = app.view_functions[endpoint]
    try:
        source = inspect.getsource(inspect.unwrap(view))
    except (OSError, TypeError):
        return set()
    return set(ARGS_READ.findall(source))


def discover(client: Any, app: Any, world: Any) -> list[Form]:
    """Every distinct form a persona (whoever `client` is signed in as) can see."""
    found: dict[tuple[str, str, tuple[str, ...]], Form] = {}
    for _endpoint, url in get_routes(app, world):
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        for form in forms_on(url, response.get_data(as_text=True)):
            if urlsplit(form.action).path == "/logout":
                continue
            found.setdefault(form.key, form)
    return sorted(found.values(), key=lambda form: form.key)
