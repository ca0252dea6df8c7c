"""Dagster's SQLite files get ``synchronous=NORMAL`` (or the configured level); other SQLite databases keep theirs."""
import sqlite3

import dagster as dg
import pytest
import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from emission_assets.errors import UserInputError
from emission_assets.orchestration.sqlite_storage import install

LEVELS = {0: "off", 1: "normal", 2: "full", 3: "extra"}


def synchronous_of(path) -> str:
    engine = sqlalchemy.create_engine(f"sqlite:///{path}", poolclass=NullPool)
    with engine.connect() as connection:
        level = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    engine.dispose()
    return LEVELS[level]


def sqlite_default() -> str:
    with sqlite3.connect(":memory:") as connection:
        return LEVELS[connection.execute("PRAGMA synchronous").fetchone()[0]]


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    home = tmp_path / "dagster"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    install()
    return home


def test_files_under_the_dagster_home_sync_at_checkpoints_others_keep_the_default(dagster_home, tmp_path):
    assert sqlite_default() == "full"  # what the setting changes
    assert synchronous_of(dagster_home / "runs.db") == "normal"
    assert synchronous_of(tmp_path / "elsewhere.db") == sqlite_default()


def test_full_restores_sqlites_default(dagster_home, monkeypatch):
    monkeypatch.setenv("EMISSION_DAGSTER_SQLITE_SYNC", "FULL")
    assert synchronous_of(dagster_home / "runs.db") == "full"


def test_dagsters_own_connections_get_the_level(dagster_home):
    """Every connection Dagster's storage opens for the events of a run of the instance in the home."""
    seen = []

    def record(connection, _record):
        if isinstance(connection, sqlite3.Connection):
            file = connection.execute("PRAGMA database_list").fetchone()[2]
            seen.append((file, LEVELS[connection.execute("PRAGMA synchronous").fetchone()[0]]))

    event.listen(Engine, "connect", record)  # after install(): runs after the project's listener
    try:
        with dg.DagsterInstance.get() as instance:
            for day in ("2022-01-01", "2022-01-02"):
                instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="a", partition=day))
            assert instance.get_latest_materialization_event(dg.AssetKey("a")).asset_materialization.partition \
                == "2022-01-02"
    finally:
        event.remove(Engine, "connect", record)
    files = {file for file, _ in seen}
    assert any(file.endswith("index.db") for file in files)
    assert {level for _, level in seen} == {"normal"}
    assert all(file.startswith(str(dagster_home.resolve())) for file in files)


def test_a_bad_level_names_the_variable(dagster_home, monkeypatch):
    monkeypatch.setenv("EMISSION_DAGSTER_SQLITE_SYNC", "off")
    with pytest.raises(UserInputError, match="EMISSION_DAGSTER_SQLITE_SYNC='off'"):
        install()
