"""The quick select widget writes what WTForms' own select writes."""

from __future__ import annotations

from wtforms import Form, SelectField, widgets

from union.forms.base import QuickSelect, SelectChoice

CHOICES = [
    SelectChoice("", "Choose a group"),
    SelectChoice("workplace:1", "Harbour Light \u2013 Drop-in"),
    SelectChoice("workplace:2", 'Rue "Saint" & <Fils>'),
    SelectChoice("sector:shelter", "Sector: Shelter", render_kw={"lang": "en"}),
]


def rendered(widget: widgets.Select, data: str) -> str:
    class Picking(Form):
        segment = SelectField("Who?", choices=CHOICES, widget=widget)

    form = Picking(data={"segment": data})
    return str(form.segment(**{"aria-describedby": "segment-hint"}))


def test_it_writes_the_same_markup_as_the_stock_select():
    for data in ("", "workplace:2", "sector:shelter", "nothing"):
        assert rendered(QuickSelect(), data) == rendered(widgets.Select(), data)
    page = rendered(QuickSelect(), "workplace:2")
    assert '<option selected value="workplace:2">' in page
    assert "Rue &#34;Saint&#34; &amp; &lt;Fils&gt;" in page
