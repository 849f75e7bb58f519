"""Settings: typed, read from RECOUP_ variables, unknown names and insecure prod refused."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from recoup.domain.errors import ConfigurationError
from recoup.settings import DEV_SECRET, Settings, load_settings, redacted


@pytest.fixture(autouse=True)
def _no_recoup_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings tests start from an environment with no RECOUP_ variables at all."""
    for key in list(os.environ):
        if key.upper().startswith("RECOUP_"):
            monkeypatch.delenv(key)


def test_defaults_are_a_local_sqlite_file_in_dev() -> None:
    settings = load_settings()

    assert settings.environment == "dev"
    assert settings.database.url.get_secret_value() == "sqlite:///recoup.db"
    assert settings.database.auto_upgrade is True
    assert settings.database.sqlite_synchronous == "FULL"
    assert settings.ingest.batch_size == 5000
    assert settings.detection.duplicate_window == timedelta(hours=1)
    assert settings.security.secret_key.get_secret_value() == DEV_SECRET


def test_the_database_url_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOUP_DATABASE__URL", "postgresql+psycopg://recoup@db:5432/recoup")

    settings = load_settings()

    assert settings.database.url.get_secret_value() == "postgresql+psycopg://recoup@db:5432/recoup"


def test_the_batch_size_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOUP_INGEST__BATCH_SIZE", "250")

    assert load_settings().ingest.batch_size == 250


def test_variable_names_are_not_case_sensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("recoup_ingest__batch_size", "42")

    assert load_settings().ingest.batch_size == 42


def test_the_duplicate_window_is_read_in_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOUP_DETECTION__DUPLICATE_CHARGE_WINDOW_MINUTES", "90")

    assert load_settings().detection.duplicate_window == timedelta(minutes=90)


@pytest.mark.parametrize(
    "name", ["RECOUP_DATABSE__URL", "RECOUP_INGEST__BATCHSIZE", "RECOUP_SECRET_KEY"]
)
def test_an_unknown_recoup_variable_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "x")

    with pytest.raises(ConfigurationError) as excinfo:
        load_settings()

    assert excinfo.value.message == f"unknown setting {name}; see `recoup config show`"


def test_variables_without_the_prefix_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOUPX_ANYTHING", "1")
    monkeypatch.setenv("DATABASE__URL", "postgresql://elsewhere/db")

    assert load_settings().database.url.get_secret_value() == "sqlite:///recoup.db"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RECOUP_INGEST__BATCH_SIZE", "0"),
        ("RECOUP_INGEST__BATCH_SIZE", "lots"),
        ("RECOUP_INGEST__BATCH_SIZE", "100001"),
        ("RECOUP_ENVIRONMENT", "staging"),
        ("RECOUP_DATABASE__SQLITE_SYNCHRONOUS", "OFF"),
        ("RECOUP_DETECTION__DUPLICATE_CHARGE_WINDOW_MINUTES", "0"),
    ],
)
def test_an_invalid_value_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigurationError) as excinfo:
        load_settings()

    assert excinfo.value.message.startswith(f"setting {name}: ")


def test_prod_without_a_secret_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOUP_ENVIRONMENT", "prod")

    with pytest.raises(ConfigurationError, match="RECOUP_SECURITY__SECRET_KEY must be set"):
        load_settings()


@pytest.mark.parametrize("secret", ["", DEV_SECRET])
def test_prod_with_an_empty_or_dev_secret_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("RECOUP_ENVIRONMENT", "prod")
    monkeypatch.setenv("RECOUP_SECURITY__SECRET_KEY", secret)

    with pytest.raises(ConfigurationError, match="RECOUP_SECURITY__SECRET_KEY must be set"):
        load_settings()


def test_prod_with_a_secret_key_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOUP_ENVIRONMENT", "prod")
    monkeypatch.setenv("RECOUP_SECURITY__SECRET_KEY", "a-real-secret")

    settings = load_settings()

    assert settings.environment == "prod"
    assert settings.security.secret_key.get_secret_value() == "a-real-secret"


@pytest.mark.parametrize("environment", ["dev", "test"])
def test_the_dev_secret_is_allowed_outside_prod(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setenv("RECOUP_ENVIRONMENT", environment)

    assert load_settings().environment == environment


def test_settings_are_frozen() -> None:
    settings = Settings()

    with pytest.raises(ValueError, match="frozen"):
        settings.environment = "prod"  # type: ignore[misc]


def test_redacted_hides_the_database_password_and_the_secret_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RECOUP_DATABASE__URL", "postgresql://recoup:hunter2@db/recoup")
    monkeypatch.setenv("RECOUP_ENVIRONMENT", "prod")
    monkeypatch.setenv("RECOUP_SECURITY__SECRET_KEY", "s3cr3t-k3y")

    shown = redacted(load_settings())

    assert shown["database"]["url"] == "postgresql://recoup:***@db/recoup"  # type: ignore[index]
    assert shown["security"]["secret_key"] == "**********"  # type: ignore[index]
    assert "hunter2" not in repr(shown)
    assert "s3cr3t-k3y" not in repr(shown)
    assert shown["environment"] == "prod"
    assert shown["ingest"] == {"batch_size": 5000}


def test_redacted_shows_a_sqlite_url_as_is() -> None:
    shown = redacted(load_settings())

    assert shown["database"]["url"] == "sqlite:///recoup.db"  # type: ignore[index]


def test_an_unparseable_database_url_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RECOUP_DATABASE__URL", "not a url")

    with pytest.raises(ConfigurationError, match="RECOUP_DATABASE__URL"):
        redacted(load_settings())
