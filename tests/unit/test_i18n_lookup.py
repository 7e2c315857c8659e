"""Translations kept for the request (union.i18n) say exactly what Flask-Babel
and Jinja's own newstyle gettext say, in both languages, inside and after
speaking() another language."""

from __future__ import annotations

import flask_babel
import jinja2
import pytest
from flask import Flask

from union.i18n import _, ngettext, speaking

TEMPLATES = [
    '{{ _("Ledger") }}',
    '{{ gettext("Ledger") }}',
    '{{ _("%(amount)s of it went back in refunds or disputes.", amount=given) }}',
    "{{ ngettext('%(num)d payment, %(amount)s in all.', "
    "'%(num)d payments, %(amount)s in all.', count, amount=given) }}",
    '{% autoescape false %}{{ _("Hello %(name)s,", name=given) }}{% endautoescape %}',
    '{{ _("100%% of it") }}',
]


def _jinja_reference() -> jinja2.Environment:
    """Jinja's own i18n extension over Flask-Babel's lookups, as Flask-Babel
    installs it."""
    environment = jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: flask_babel.get_translations().ugettext(s),
        ngettext=lambda s, p, n: flask_babel.get_translations().ungettext(s, p, n),
        newstyle=True,
    )
    return environment


@pytest.mark.parametrize("source", TEMPLATES)
@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("count", [1, 3])
def test_templates_translate_as_jinja_would(
    app: Flask, source: str, language: str, count: int
) -> None:
    values = {"given": "<b>Sam & co</b>", "count": count}
    with app.test_request_context("/"), speaking(language):
        ours = app.jinja_env.from_string(source).render(values)
        theirs = _jinja_reference().from_string(source).render(values)
    assert ours == theirs
    assert "<b>" not in ours or "autoescape false" in source


def test_the_language_spoken_inside_speaking_and_after_it(app: Flask) -> None:
    template = app.jinja_env.from_string('{{ _("Ledger") }}')
    with app.test_request_context("/"):
        english = template.render()
        assert english == _("Ledger") == flask_babel.gettext("Ledger") == "Ledger"
        with speaking("fr"):
            french = template.render()
            assert french == _("Ledger") == flask_babel.gettext("Ledger")
            assert french != "Ledger"
        assert template.render() == _("Ledger") == "Ledger"
        with speaking("fr"):
            assert template.render() == french


def test_num_is_the_count_unless_the_caller_writes_it() -> None:
    assert ngettext("%(num)s value", "%(num)s values", 1204) == "1204 values"
    assert (
        ngettext("%(num)s value", "%(num)s values", 1204, num="1,204") == "1,204 values"
    )


def test_outside_a_request_the_text_is_the_catalogue_s_own() -> None:
    assert _("Ledger") == "Ledger"
    assert _("Hello %(name)s,", name="Sam") == "Hello Sam,"
