"""Dagster's SQLite files get ``synchronous=NORMAL`` (or the configured level) and a keeper connection that stops
every close from checkpointing the log; other SQLite databases keep their own settings."""
import sqlite3
import subprocess
import sys

import dagster as dg
import pytest
import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from emission_assets.errors import UserInputError
from emission_assets.orchestration import sqlite_storage
from emission_assets.orchestration.sqlite_storage import close_keepers, install

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
    yield home
    close_keepers()


def wal_database(path):
    """A WAL-mode SQLite file opened through SQLAlchemy (which fires the project's connect listener)."""
    engine = sqlalchemy.create_engine(f"sqlite:///{path}", poolclass=NullPool)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        connection.commit()
    return engine


def insert(engine, value):
    with engine.connect() as connection:
        connection.exec_driver_sql(f"INSERT INTO t VALUES ({value})")
        connection.commit()


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


def test_a_close_is_not_the_last_while_the_keeper_holds_the_log(dagster_home):
    """Without the keeper every close of Dagster's per-event connection checkpoints and deletes the log."""
    with dg.DagsterInstance.get() as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="a", partition="2022-01-01"))
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="a", partition="2022-01-02"))
    index = next(dagster_home.rglob("index.db"))
    assert index.with_name("index.db-wal").exists()  # Dagster's connections are closed; the log stays
    close_keepers()  # the last close: the log goes into the database and is deleted
    assert not index.with_name("index.db-wal").exists()
    with sqlite3.connect(index) as connection:  # nothing lost
        partitions = {row[0] for row in connection.execute("SELECT partition FROM event_logs WHERE partition IS NOT NULL")}
    assert partitions == {"2022-01-01", "2022-01-02"}


def test_another_process_writes_while_the_keeper_is_open(dagster_home):
    engine = wal_database(dagster_home / "runs.db")
    insert(engine, 1)
    script = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=2); c.execute('INSERT INTO t VALUES (2)');"
              " c.commit(); print(sum(r[0] for r in c.execute('SELECT x FROM t')))")
    done = subprocess.run([sys.executable, "-c", script, str(dagster_home / "runs.db")], capture_output=True,
                          text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "3"), done.stderr
    insert(engine, 3)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 3


def test_keepers_are_bounded_and_only_for_files_under_the_dagster_home(dagster_home, tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_storage, "MAX_KEEPERS", 2)
    for name in ("one.db", "two.db", "three.db"):
        insert(wal_database(dagster_home / name), 1)
    insert(wal_database(tmp_path / "elsewhere.db"), 1)
    kept = {path.name for path in dagster_home.glob("*.db-wal")}
    assert kept == {"two.db-wal", "three.db-wal"}  # the oldest keeper was closed: its log checkpointed away
    assert not (tmp_path / "elsewhere.db-wal").exists()  # not Dagster's: no keeper, SQLite's own close
