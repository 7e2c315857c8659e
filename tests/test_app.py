"""Tests that build their own app, outside the shared test database."""

import flask_migrate

from tests.conftest import config_for_tests
from union import create_app
from union.web.access import public


def test_healthz_answers_503_when_the_database_is_down():
    app = create_app(
        config_for_tests(
            SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none"
        )
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503


def test_readyz_answers_503_and_nothing_more_when_the_database_is_down():
    app = create_app(
        config_for_tests(
            SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none"
        )
    )
    response = app.test_client().get("/readyz")
    assert (response.status_code, response.json) == (503, {"status": "not ready"})


def test_readyz_answers_503_until_the_database_is_migrated(tmp_path):
    app = create_app(
        config_for_tests(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'new.db'}")
    )
    client = app.test_client()
    assert client.get("/readyz").status_code == 503
    with app.app_context():
        flask_migrate.upgrade(revision="b4c2e8f1a9d3")
    behind = client.get("/readyz")
    assert (behind.status_code, behind.json) == (503, {"status": "not ready"})
    with app.app_context():
        flask_migrate.upgrade()
    assert client.get("/readyz").status_code == 200


def test_an_unexpected_error_shows_a_plain_500_page():
    app = create_app(config_for_tests())

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail: password=hunter2")

    public(boom)
    response = app.test_client().get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in page
    assert (
        "hunter2" not in page and "RuntimeError" not in page and "Traceback" not in page
    )


def test_production_adds_hsts_and_secure_cookies():
    app = create_app(
        config_for_tests(
            UNION_ENV="production",
            SQLALCHEMY_DATABASE_URI="postgresql+psycopg://u@127.0.0.1:1/x",
            PUBLIC_URL="https://union.test",
            REDIS_URL="redis://127.0.0.1:1/0",
        )
    )
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    response = app.test_client().get("/login")
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    cookie = response.headers.get("Set-Cookie", "")
    assert (
        cookie.startswith("__Host-session=")
        and "Secure" in cookie
        and "HttpOnly" in cookie
    )


def test_an_endpoint_without_a_declaration_answers_404(app):
    other = create_app(config_for_tests())

    @other.get("/forgotten")
    def forgotten():
        return "should never be shown"

    response = other.test_client().get("/forgotten")
    assert response.status_code == 404
    assert b"should never be shown" not in response.data
