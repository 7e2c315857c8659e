from pathlib import Path

import pytest

from union.config import ConfigError, build_config, normalise_database_url

GOOD = {
    "UNION_ENV": "production",
    "SECRET_KEY": "k" * 48,
    "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/union",
    "ENCRYPTION_KEYS": ["bXktdGVzdC1rZXktaXMtMzItYnl0ZXMtbG9uZy0wMDA="],
    "LOOKUP_HASH_KEY": "l" * 48,
    "MAIL_BACKEND": "smtp",
    "SMTP_URL": "smtp://mail.example.org:587",
    "PUBLIC_URL": "https://dues.example.org",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_a_safe_production_config_starts(tmp_path: Path):
    config = build_config(GOOD, tmp_path)
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert config["TRUSTED_HOSTS"] == ["dues.example.org"]


def test_the_public_address_comes_from_public_url_or_server_name(tmp_path: Path):
    assert build_config({"PUBLIC_URL": "https://a.example/"}, tmp_path)[
        "PUBLIC_URL"
    ] == ("https://a.example")
    assert build_config({"SERVER_NAME": "b.example"}, tmp_path)["PUBLIC_URL"] == (
        "http://b.example"
    )
    assert build_config({}, tmp_path)["PUBLIC_URL"] == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SECRET_KEY": "dev"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short-but-random"}, "SECRET_KEY"),
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"DEBUG": True}, "debug"),
        ({"SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"}, "SQLite"),
        ({"STRIPE_SECRET_KEY": "sk_test_x"}, "STRIPE_WEBHOOK_SECRET"),
        ({"ENCRYPTION_KEYS": []}, "ENCRYPTION_KEYS"),
        ({"LOOKUP_HASH_KEY": "short"}, "LOOKUP_HASH_KEY"),
        ({"MAIL_BACKEND": "console", "SMTP_URL": None}, "SMTP_URL"),
        ({"PUBLIC_URL": None}, "PUBLIC_URL"),
        ({"PUBLIC_URL": "http://dues.example.org"}, "PUBLIC_URL"),
        ({"PUBLIC_URL": "https://"}, "PUBLIC_URL"),
        ({"REDIS_URL": None}, "REDIS_URL"),
    ],
)
def test_production_refuses_unsafe_settings_and_says_which(
    tmp_path: Path, change, named
):
    with pytest.raises(ConfigError, match=named):
        build_config({**GOOD, **change}, tmp_path)


def test_every_problem_is_named_at_once(tmp_path: Path):
    with pytest.raises(ConfigError) as raised:
        build_config({**GOOD, "SECRET_KEY": "dev", "DEBUG": True}, tmp_path)
    assert "SECRET_KEY" in str(raised.value)
    assert "debug" in str(raised.value)


@pytest.mark.parametrize(
    ("setting", "file"),
    [
        ("SECRET_KEY", "secret_key"),
        ("ENCRYPTION_KEYS", "encryption_key"),
        ("LOOKUP_HASH_KEY", "lookup_hash_key"),
    ],
)
def test_development_gets_random_keys_kept_in_the_instance_folder(
    tmp_path: Path, setting, file
):
    empty = {"SECRET_KEY": None, "ENCRYPTION_KEYS": None, "LOOKUP_HASH_KEY": None}
    first = build_config(empty, tmp_path)[setting]
    second = build_config(empty, tmp_path)[setting]
    assert first == second
    assert len(str(first)) >= 40
    assert (tmp_path / file).stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x", "sqlite:///x"),
    ],
)
def test_database_urls_use_psycopg_3(url, expected):
    assert normalise_database_url(url) == expected


def test_postgresql_connections_turn_off_the_jit_compiler(tmp_path):
    from union.config import build_config

    postgres = build_config(
        {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@h/db"}, tmp_path
    )
    assert postgres["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {
        "options": "-c jit=off"
    }
    assert postgres["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    sqlite = build_config({"SQLALCHEMY_DATABASE_URI": "sqlite://"}, tmp_path)
    assert "connect_args" not in sqlite["SQLALCHEMY_ENGINE_OPTIONS"]


def test_behind_pgbouncer_nothing_is_prepared_and_no_start_up_options_are_sent(
    tmp_path,
):
    pooled = build_config(
        {**GOOD, "DATABASE_POOLER": "pgbouncer"}, tmp_path, environ={}
    )
    assert pooled["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {
        "prepare_threshold": None
    }
    from_environment = build_config(
        {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@h:6432/db"},
        tmp_path,
        environ={"DATABASE_POOLER": "pgbouncer"},
    )
    assert from_environment["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {
        "prepare_threshold": None
    }


def test_an_unknown_pooler_stops_the_app(tmp_path):
    with pytest.raises(ConfigError, match="DATABASE_POOLER must be empty or"):
        build_config({**GOOD, "DATABASE_POOLER": "pgpool"}, tmp_path, environ={})
    unchecked = build_config(
        {**GOOD, "DATABASE_POOLER": "pgpool"},
        tmp_path,
        environ={},
        refuse_unsafe=False,
    )
    assert unchecked["DATABASE_POOLER"] == "pgpool", "check-deploy names it"


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("min_count=4", "min_count"),
        ("epsilon_per_year=8", "epsilon_per_year"),
        ("epsilon_per_release=2.5", "epsilon_per_release"),
        ("min_noisy_sector=50", "min_noisy_sector"),
        ("epsilon_per_year=lots", "epsilon_per_year"),
        ("min_cout=9", "min_cout"),
    ],
)
def test_a_looser_disclosure_rule_or_budget_stops_the_app_by_name(
    tmp_path: Path, monkeypatch, setting, named
):
    monkeypatch.setenv("DISCLOSURE_RULES", setting)
    with pytest.raises(ConfigError, match=named):
        build_config({}, tmp_path)


def test_stricter_disclosure_rules_from_the_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("DISCLOSURE_RULES", "min_count=10, epsilon_per_year=2.5")
    config = build_config({}, tmp_path)
    assert config["DISCLOSURE_RULES"] == {"min_count": 10, "epsilon_per_year": 2.5}


def test_stripe_redirect_origins_come_from_the_environment(tmp_path: Path, monkeypatch):
    """A local Stripe peer's pages in development: the CSP lets forms lead there."""
    monkeypatch.setenv(
        "STRIPE_REDIRECT_ORIGINS", "http://127.0.0.1:8420/, https://billing.example"
    )
    config = build_config({}, tmp_path)
    assert config["STRIPE_REDIRECT_ORIGINS"] == (
        "http://127.0.0.1:8420",
        "https://billing.example",
    )


@pytest.mark.parametrize(
    "value",
    [
        "https://checkout.stripe.com; script-src *",
        "javascript:alert(1)",
        "https://checkout.stripe.com/pay?x=1",
        "https://user@checkout.stripe.com",
        "https://checkout.stripe.com:port",
        "checkout.stripe.com",
    ],
)
def test_a_redirect_origin_that_is_not_one_stops_the_app(
    tmp_path: Path, monkeypatch, value
):
    monkeypatch.setenv("STRIPE_REDIRECT_ORIGINS", value)
    with pytest.raises(ConfigError, match="STRIPE_REDIRECT_ORIGINS"):
        build_config({}, tmp_path)


def test_production_sends_payers_to_https_only(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("STRIPE_REDIRECT_ORIGINS", "http://127.0.0.1:8420")
    with pytest.raises(ConfigError, match="must all be https"):
        build_config(GOOD, tmp_path)
