"""Choosing Dagster's storage from EMISSION_DAGSTER_POSTGRES_URL: the instance file, the batched event writes and
the checks of the URL (a secret: never echoed). The storage itself is tested over a real PostgreSQL server in
integration/test_dagster_postgres.py."""
from __future__ import annotations

import os

import pytest
import yaml

from emission_assets.cli.dagster_storage import (
    EVENT_BATCH_SIZE,
    EVENT_BATCH_SIZE_VARIABLE,
    POSTGRES_URL_VARIABLE,
    configure_event_batching,
    instance_yaml,
)
from emission_assets.cli.environment import INSTANCE_TEMPLATE
from emission_assets.errors import UserInputError
from emission_assets.settings import settings

URL = "postgresql+psycopg2://dagster:pw-UNIT-2f8a61c0-DO-NOT-SHOW@db.example:5432/dagster"


@pytest.fixture
def batch_size_restored():
    """configure_event_batching writes os.environ itself: put the variable back as it was after the test."""
    before = os.environ.get(EVENT_BATCH_SIZE_VARIABLE)
    yield
    if before is None:
        os.environ.pop(EVENT_BATCH_SIZE_VARIABLE, None)
    else:
        os.environ[EVENT_BATCH_SIZE_VARIABLE] = before


def test_without_the_variable_the_instance_is_the_template_on_sqlite(batch_size_restored):
    assert instance_yaml(INSTANCE_TEMPLATE) == INSTANCE_TEMPLATE.read_bytes()
    assert "storage" not in yaml.safe_load(instance_yaml(INSTANCE_TEMPLATE))
    configure_event_batching()
    assert EVENT_BATCH_SIZE_VARIABLE not in os.environ  # SQLite keeps Dagster's default: one write per event


def test_with_the_variable_the_instance_reads_the_url_from_it_and_writes_none(monkeypatch, batch_size_restored):
    monkeypatch.setenv(POSTGRES_URL_VARIABLE, URL)
    text = instance_yaml(INSTANCE_TEMPLATE)
    config = yaml.safe_load(text)
    assert config["storage"] == {"postgres": {"postgres_url": {"env": POSTGRES_URL_VARIABLE}}}
    assert {k: v for k, v in config.items() if k != "storage"} == yaml.safe_load(INSTANCE_TEMPLATE.read_text())
    assert b"pw-UNIT" not in text and b"db.example" not in text
    configure_event_batching()
    assert os.environ[EVENT_BATCH_SIZE_VARIABLE] == str(EVENT_BATCH_SIZE)


def test_a_batch_size_the_user_set_wins(monkeypatch, batch_size_restored):
    monkeypatch.setenv(POSTGRES_URL_VARIABLE, URL)
    os.environ[EVENT_BATCH_SIZE_VARIABLE] = "50"
    configure_event_batching()
    assert os.environ[EVENT_BATCH_SIZE_VARIABLE] == "50"


def test_the_url_is_a_secret_kept_out_of_repr(monkeypatch):
    monkeypatch.setenv(POSTGRES_URL_VARIABLE, URL)
    assert settings().storage.dagster_postgres_url.get_secret_value() == URL
    assert "pw-UNIT" not in repr(settings().storage) and "pw-UNIT" not in repr(settings())


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://dagster:pw-UNIT-2f8a61c0-DO-NOT-SHOW@db/dagster", "starts with postgresql://, which selects psycopg 3"),
    ("postgresql+psycopg://dagster:pw-UNIT-2f8a61c0-DO-NOT-SHOW@db/dagster", "starts with postgresql+psycopg://"),
    ("postgres://dagster:pw-UNIT-2f8a61c0-DO-NOT-SHOW@db/dagster", "is not a PostgreSQL URL"),
    ("db.example:5432", "is not a PostgreSQL URL"),
])
def test_a_url_of_another_driver_or_scheme_is_one_line_without_the_url(url, expected, monkeypatch):
    monkeypatch.setenv(POSTGRES_URL_VARIABLE, url)
    with pytest.raises(UserInputError, match=f"^{POSTGRES_URL_VARIABLE} ") as error:
        settings().check()
    message = str(error.value)
    assert expected in message and "expected postgresql+psycopg2://user:password@host:port/database" in message
    assert "\n" not in message and "pw-UNIT" not in message and "db.example" not in message
