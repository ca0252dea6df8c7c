"""The settings object: every variable the package reads, its default, its check (naming the variable) and the
secrets kept out of ``repr``."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from dagster import EnvVar

from emission_assets.errors import UserInputError
from emission_assets.settings import (
    DATABRICKS_DEFAULT_SECRETS,
    GROUPS,
    SMARD_DEFAULT_BASE_URL,
    TIBBER_DEFAULT_API_URL,
    VARIABLES,
    settings,
)

PACKAGE = Path(__file__).resolve().parents[2] / "emission_assets"
SECRETS = {
    "TIBBER_TOKEN": "tbr-SETTINGS-4c1d9e7a-DO-NOT-SHOW",
    "NETZTRANSPARENZ_CLIENT_SECRET": "ntp-SETTINGS-8b2f0a6c-DO-NOT-SHOW",
    "DATABRICKS_TOKEN": "dapi-SETTINGS-3e9a7d1f-DO-NOT-SHOW",
    "EMISSION_PSEUDONYM_KEY": "pk-SETTINGS-5a0c2e8b-DO-NOT-SHOW",
}


@pytest.fixture(autouse=True)
def _no_variables(monkeypatch, tmp_path):
    """No variable from the shell or the shared fixtures; the working directory is the test's own."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_without_any_variable(tmp_path):
    current = settings().check()
    assert current.storage.home == (tmp_path / ".emission_home").resolve()
    assert current.storage.reservoir is None
    assert (current.engine.environment, current.engine.selected_engine, current.engine.catalog) == (
        "local", "embedded", None)
    assert current.smard.base_url == SMARD_DEFAULT_BASE_URL
    assert current.smard.sensor_regions == ("DE",) and current.smard.sensor_resolutions == ("quarterhour",)
    assert current.tibber.api_url == TIBBER_DEFAULT_API_URL and current.tibber.token is None
    assert not current.tibber.configured
    assert (current.gold.home_region, current.gold.control_area) == ("DE", "TenneT")
    assert current.privacy.pseudonym_key is None
    assert current.databricks.workers == 1 and current.databricks.poll_seconds == 5.0
    assert current.databricks.secrets == DATABRICKS_DEFAULT_SECRETS and not current.databricks.on_cluster


def test_every_field_reads_one_variable_and_says_what_it_is():
    assert len(VARIABLES) == len(set(VARIABLES)) >= 36
    for group in GROUPS.values():
        for name, field in group.model_fields.items():
            assert re.fullmatch(r"[A-Z][A-Z0-9_]+", field.validation_alias), name
            assert len(field.description or "") > 10, f"{field.validation_alias} has no description"


def test_values_are_read_stripped_and_a_blank_variable_is_unset(monkeypatch):
    monkeypatch.setenv("EMISSION_ENV", " Databricks ")
    monkeypatch.setenv("SPARK_REMOTE", "sc://spark.example:15002")
    monkeypatch.setenv("SMARD_SENSOR_FILTERS", "1223, 4066,")
    monkeypatch.setenv("EMISSION_SECRETS", "TIBBER_TOKEN,EMISSION_PSEUDONYM_KEY")
    monkeypatch.setenv("EMISSION_DATABRICKS_WORKERS", " 3 ")
    monkeypatch.setenv("EMISSION_BRONZE_AUTOLOADER", "1")
    monkeypatch.setenv("TIBBER_API_URL", "   ")
    current = settings()
    assert current.engine.environment == "databricks" and current.engine.selected_engine == "remote"
    assert current.smard.sensor_filters == ("1223", "4066")
    assert current.databricks.secrets == ("TIBBER_TOKEN", "EMISSION_PSEUDONYM_KEY")
    assert current.databricks.workers == 3 and current.databricks.bronze_autoloader
    assert current.tibber.api_url == TIBBER_DEFAULT_API_URL and not current.tibber.configured


@pytest.mark.parametrize(("name", "value", "words"), [
    ("EMISSION_HOME", "{file}", ["EMISSION_HOME='", "a_file' is a file, not a directory"]),
    ("EMISSION_RESERVOIR", "{file}", ["EMISSION_RESERVOIR='", "is a file, not a directory"]),
    ("EMISSION_ENV", "cloud", ["EMISSION_ENV='cloud'", "choose one of local, databricks"]),
    ("EMISSION_ENGINE", "jvm", ["EMISSION_ENGINE='jvm'", "choose one of embedded, remote, databricks"]),
    ("SPARK_REMOTE", "http://spark:15002", ["SPARK_REMOTE='http://spark:15002'", "sc://host:port"]),
    ("SMARD_BASE_URL", "www.smard.de", ["SMARD_BASE_URL='www.smard.de'", "https:// or http:// or file://"]),
    ("SMARD_BASE_URL", "file:///no/such/replay", ["SMARD_BASE_URL=", "folder /no/such/replay does not exist"]),
    ("TIBBER_API_URL", "ftp://api.tibber.com", ["TIBBER_API_URL='ftp://api.tibber.com'", "sample://"]),
    ("TIBBER_WS_URL", "https://tibber.com", ["TIBBER_WS_URL='https://tibber.com'", "wss:// or ws://"]),
    ("NETZTRANSPARENZ_TOKEN_URL", "https://", ["NETZTRANSPARENZ_TOKEN_URL='https://' has no host"]),
    ("NETZTRANSPARENZ_API_URL", "sample://x", ["NETZTRANSPARENZ_API_URL='sample://x'", "https:// or http://"]),
    ("EMISSION_DATABRICKS_WORKERS", "two", ["EMISSION_DATABRICKS_WORKERS='two'", "expected a whole number"]),
    ("EMISSION_DATABRICKS_WORKERS", "-1", ["EMISSION_DATABRICKS_WORKERS='-1'", "a whole number >= 0"]),
    ("EMISSION_DATABRICKS_POLL_SECONDS", "0", ["EMISSION_DATABRICKS_POLL_SECONDS='0'", "a number >= 0.1"]),
    ("EMISSION_DATABRICKS_MAX_WAIT_SECONDS", "1.5", ["EMISSION_DATABRICKS_MAX_WAIT_SECONDS='1.5'", "whole number"]),
    ("EMISSION_BRONZE_AUTOLOADER", "maybe", ["EMISSION_BRONZE_AUTOLOADER='maybe'", "true/false"]),
    ("EMISSION_DAGSTER_SQLITE_SYNC", "off", ["EMISSION_DAGSTER_SQLITE_SYNC='off'", "normal", "full"]),
    ("EMISSION_PSEUDONYM_KEY", "short-key", ["EMISSION_PSEUDONYM_KEY is too short (9 characters)", "at least 16"]),
])
def test_a_bad_value_names_its_variable_and_what_is_expected(name, value, words, monkeypatch, tmp_path):
    (tmp_path / "a_file").write_text("not a directory\n")
    monkeypatch.setenv(name, value.format(file=tmp_path / "a_file"))
    with pytest.raises(UserInputError, match=re.escape(words[0])) as error:
        settings().check()
    message = str(error.value)
    assert "\n" not in message
    for word in words:
        assert word in message
    if name == "EMISSION_PSEUDONYM_KEY":
        assert value not in message  # a secret is never echoed, not even a wrong one


def test_a_group_is_validated_on_its_own(monkeypatch):
    """A bad Tibber URL fails what reads Tibber settings (and the CLI's check of everything), not the storage."""
    monkeypatch.setenv("TIBBER_API_URL", "not-a-url")
    assert settings().storage.home.name == ".emission_home"
    assert settings().smard.base_url == SMARD_DEFAULT_BASE_URL
    with pytest.raises(UserInputError, match=r"TIBBER_API_URL='not-a-url' is not a URL"):
        settings().tibber  # noqa: B018
    with pytest.raises(UserInputError, match=r"TIBBER_API_URL='not-a-url' is not a URL"):
        settings().check()


def test_secrets_are_hidden_in_repr_but_readable(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    current = settings().check()
    shown = repr(current) + str(current.tibber) + str(current.databricks) + repr(current.netztransparenz)
    for value in SECRETS.values():
        assert value not in shown
    assert "**********" in shown
    assert current.tibber.token.get_secret_value() == SECRETS["TIBBER_TOKEN"]
    assert current.netztransparenz.client_secret.get_secret_value() == SECRETS["NETZTRANSPARENZ_CLIENT_SECRET"]
    assert current.databricks.token.get_secret_value() == SECRETS["DATABRICKS_TOKEN"]
    assert current.privacy.pseudonym_key.get_secret_value() == SECRETS["EMISSION_PSEUDONYM_KEY"]


def test_a_changed_variable_or_working_directory_is_seen_at_once(monkeypatch, tmp_path):
    first = settings()
    assert settings() is first  # unchanged: the same validated object
    monkeypatch.setenv("EMISSION_HOME_REGION", "TenneT")
    assert settings().gold.home_region == "TenneT"
    monkeypatch.delenv("EMISSION_HOME_REGION")
    assert settings().gold.home_region == "DE"
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    assert settings().storage.home == (other / ".emission_home").resolve()


def test_resources_take_the_variables_that_are_set_as_env_vars(monkeypatch):
    """What Dagster reads from the environment is bound as EnvVar (shown as such in the UI, never stored as a value
    in run config); what is unset keeps its default."""
    from emission_assets.smard.client import DEFAULT_BASE_URL
    from emission_assets.sources import resources_for_environment

    def resources_from_env():
        return resources_for_environment()

    unset = resources_from_env()
    assert unset["smard"].base_url == DEFAULT_BASE_URL and unset["tibber"].token is None
    assert unset["reservoir"].root is None and unset["spark"].engine == "embedded"

    monkeypatch.setenv("SMARD_BASE_URL", "https://smard.example/app")
    monkeypatch.setenv("TIBBER_TOKEN", SECRETS["TIBBER_TOKEN"])
    monkeypatch.setenv("TIBBER_HOME_ID", "home-1")
    monkeypatch.setenv("EMISSION_RESERVOIR", "/srv/reservoir")
    monkeypatch.setenv("SPARK_REMOTE", "sc://spark.example:15002")
    resources = resources_from_env()
    assert resources["smard"].base_url == EnvVar("SMARD_BASE_URL")
    assert isinstance(resources["tibber"].token, EnvVar) and resources["tibber"].token == "TIBBER_TOKEN"
    assert resources["tibber"].home_id == EnvVar("TIBBER_HOME_ID")
    assert resources["reservoir"].root == EnvVar("EMISSION_RESERVOIR")
    assert resources["spark"].spark_remote == EnvVar("SPARK_REMOTE") and resources["spark"].engine == "remote"


# Reads of the process environment that are not project settings: Dagster's and the engine libraries' own
# variables, and the demo setting its defaults.
NOT_SETTINGS = {
    ("cli/environment.py", "DAGSTER_HOME"), ("cli/ui.py", "EMISSION_HOME"), ("engine/session.py", "RUST_LOG"),
    ("engine/session.py", "MIMALLOC_PURGE_DELAY"),
    ("engine/session.py", "SPARK_CONNECT_LOG_LEVEL"), ("cli/demo.py", "SMARD_BASE_URL"),
    ("cli/demo.py", "TIBBER_API_URL"), ("cli/environment.py", "PLANNED_EVENTS_VARIABLE"),
    ("cli/dagster_storage.py", "EVENT_BATCH_SIZE_VARIABLE"), ("orchestration/sqlite_storage.py", "DAGSTER_HOME"),
}


def test_no_module_reads_the_environment_past_the_settings():
    found = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "settings.py":
            continue
        for match in re.finditer(r"os\.(?:environ|getenv)\b(?:\.\w+)?\(?\[?\s*([\w\"']*)", path.read_text()):
            found.add((relative, match.group(1).strip("\"'")))
    assert found <= NOT_SETTINGS, sorted(found - NOT_SETTINGS)
