import re


def test_healthz_answers_when_the_database_is_up(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_answers_when_the_database_is_migrated(client):
    response = client.get("/readyz")
    assert (response.status_code, response.json) == (200, {"status": "ready"})


def test_error_pages_reveal_nothing_internal(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_security_headers_are_set(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "script-src" not in csp or "'unsafe-inline'" not in csp
    # Forms post to the app; the only place a form's redirect may lead elsewhere is
    # Stripe's Checkout and Portal, where paying members are sent.
    assert (
        "form-action 'self' https://checkout.stripe.com https://billing.stripe.com"
        in csp
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_signed_in_pages_are_not_cached(client, make):
    make.user("sam@example.org")
    client.sign_in("sam@example.org")
    assert client.get("/account").headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_and_a_skip_link(client):
    page = client.get("/join").get_data(as_text=True)
    assert "<script" not in page
    assert 'href="#main"' in page
    assert 'lang="en-CA"' in page


def test_every_form_field_has_a_label(client, make):
    make.workplace()
    page = client.get("/join").get_data(as_text=True)
    import re

    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page)
    labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', page))
    unlabelled = [i for i in ids if i not in labelled and i != "csrf_token"]
    assert unlabelled == []


def test_every_described_field_names_only_elements_that_exist(app, client, make):
    """aria-describedby points at the hint and error shown with the field, and is
    left out when there are none (it once read "None" on checkboxes)."""
    import re

    from wtforms import BooleanField, Form

    class Ticks(Form):
        plain = BooleanField("Plain")
        explained = BooleanField("Explained", description="Why it matters")

    pages = [client.get("/join").get_data(as_text=True)]
    with app.test_request_context():
        ticks = Ticks()
        ticks.explained.errors = ["Tick it."]
        macros = app.jinja_env.get_template("_macros.html").module
        pages.append(
            str(macros.checkbox(ticks.plain) + macros.checkbox(ticks.explained))
        )
    for page in pages:
        ids = set(re.findall(r'\bid="([^"]+)"', page))
        described = re.findall(r'aria-describedby="([^"]*)"', page)
        assert described
        named = {name for value in described for name in value.split()}
        assert named <= ids, named - ids
    assert 'aria-describedby="explained-hint explained-error"' in pages[-1]


def test_the_benchmark_floor_is_off_unless_configured(client, app, monkeypatch):
    assert client.get("/floor").status_code == 404
    monkeypatch.setitem(app.config, "BENCHMARK_FLOOR", True)
    response = client.get("/floor")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "The app is up." in page
    assert 'href="#main"' in page


def test_the_benchmark_floor_runs_one_query_and_shows_no_data(
    client, app, make, monkeypatch, count_queries
):
    monkeypatch.setitem(app.config, "BENCHMARK_FLOOR", True)
    make.member(name="Robin Floor")
    with count_queries() as anonymous:
        page = client.get("/floor").get_data(as_text=True)
    assert anonymous.count == 1
    assert "Robin Floor" not in page


def test_the_floor_can_be_switched_on_from_the_environment(monkeypatch, tmp_path):
    from union.config import from_environment

    assert "BENCHMARK_FLOOR" not in from_environment({}, tmp_path)
    enabled = from_environment({"BENCHMARK_FLOOR": "1"}, tmp_path)
    assert enabled["BENCHMARK_FLOOR"] is True


def test_every_page_names_the_unions_icon(client):
    page = client.get("/join").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert icon is not None
    served = client.get(icon.group(1))
    assert served.status_code == 200
    assert served.content_type.startswith("image/svg+xml")
