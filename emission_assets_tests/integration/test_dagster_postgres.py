"""Dagster's run, event log and schedule storage in PostgreSQL (``EMISSION_DAGSTER_POSTGRES_URL``) over a real
server: pgserver's PostgreSQL, one server per test process in a temporary directory, one database per test."""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy
import yaml

from emission_assets.cli import DEMO_REPLAY
from emission_assets.cli.dagster_storage import EVENT_BATCH_SIZE, EVENT_BATCH_SIZE_VARIABLE, POSTGRES_URL_VARIABLE
from emission_assets_tests.support.cli import run
from emission_assets_tests.support.postgres import PostgresUnavailable, new_database, start_server

PASSWORD = "pg-PASSWORD-7d3e1b9c-DO-NOT-SHOW"
DAY_ASSETS = ("reservoir/smard_responses", "bronze/smard_responses", "silver/production")


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    try:
        server = start_server(tmp_path_factory.mktemp("postgres") / "data")
    except PostgresUnavailable as error:
        pytest.skip(f"no PostgreSQL server for the Postgres storage tests: {error}")
    yield server
    server.cleanup()


@pytest.fixture
def postgres_url(postgres_server, monkeypatch):
    """A new database, selected through the variable. The CLI sets DAGSTER_EVENT_BATCH_SIZE in os.environ itself;
    it is removed after the test, so the next tests of this process see Dagster's default again."""
    url = new_database(postgres_server, f"dagster_{uuid.uuid4().hex[:12]}", password=PASSWORD)
    monkeypatch.setenv(POSTGRES_URL_VARIABLE, url)
    user_value = os.environ.get(EVENT_BATCH_SIZE_VARIABLE)
    yield url
    if user_value is None:
        os.environ.pop(EVENT_BATCH_SIZE_VARIABLE, None)
    else:
        os.environ[EVENT_BATCH_SIZE_VARIABLE] = user_value


def rows(url: str, sql: str) -> list[tuple]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sqlalchemy.text(sql))]
    finally:
        engine.dispose()


def test_a_range_run_records_its_runs_and_events_in_postgres(spark, postgres_url, monkeypatch, tmp_path):
    from dagster import AssetKey, DagsterInstance

    from emission_assets.settings import paths

    monkeypatch.setenv("SMARD_BASE_URL", DEMO_REPLAY.as_uri())

    result = run("materialize", "--start", "2022-01-03", "--end", "2022-01-05", "--resolution", "hour",
                 "--select", "tag:source=smard", "--select", "tag:source=factors")

    assert result.exit_code == 0, result.output
    assert "materialised 2022-01-03..2022-01-05" in result.output
    assert os.environ[EVENT_BATCH_SIZE_VARIABLE] == str(EVENT_BATCH_SIZE)  # batched event writes for Postgres
    # The runs and their events are in the database, not in SQLite files under the Dagster home.
    dagster_home = paths().dagster_home
    assert not (dagster_home / "history").exists()
    runs = rows(postgres_url, "SELECT run_id, status FROM runs")
    assert len(runs) == 1 and runs[0][1] == "SUCCESS"  # factors ride with the day run
    materialised = dict(rows(postgres_url, "SELECT asset_key, count(*) FROM event_logs WHERE "
                                           "dagster_event_type = 'ASSET_MATERIALIZATION' GROUP BY asset_key"))
    for asset in DAY_ASSETS:
        assert materialised[AssetKey.from_user_string(asset).to_db_string()] == 3  # one per day
    with DagsterInstance.get() as instance:  # what the UI reads: the partitions, from Postgres
        assert [r.run_id for r in instance.get_runs()] == [runs[0][0]]
        assert instance.get_materialized_partitions(AssetKey(["silver", "production"])) == {
            "2022-01-03", "2022-01-04", "2022-01-05"}
    # The instance file names the variable; neither the URL nor its password is in any file of the home or in
    # the event log.
    instance_file = (dagster_home / "dagster.yaml").read_text()
    assert yaml.safe_load(instance_file)["storage"] == {"postgres": {"postgres_url": {"env": POSTGRES_URL_VARIABLE}}}
    for path in paths().home.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert rows(postgres_url, f"SELECT count(*) FROM event_logs WHERE event LIKE '%{PASSWORD}%'") == [(0,)]
    assert PASSWORD not in result.output


def test_the_instance_opens_on_postgres_and_switches_back_to_sqlite(postgres_url, monkeypatch):
    from dagster import DagsterInstance

    from emission_assets.cli import prepare_dagster_home

    home = prepare_dagster_home()
    with DagsterInstance.get() as instance:
        assert type(instance.run_storage).__module__.startswith("dagster_postgres")
        assert instance.get_runs() == []
    assert rows(postgres_url, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'runs'") == [(1,)]

    monkeypatch.delenv(POSTGRES_URL_VARIABLE)
    prepare_dagster_home()
    assert "storage" not in yaml.safe_load((home / "dagster.yaml").read_text())  # SQLite, Dagster's default
    assert (home / "history" / "runs.db").is_file()


@pytest.mark.parametrize(("url", "words"), [
    ("postgresql+psycopg2://dagster:{password}@127.0.0.1:9/dagster",
     ["cannot use the PostgreSQL server", '"127.0.0.1", port 9 failed']),
    ("postgresql+psycopg2://dagster:{password}@/dagster?host={missing}", ["cannot use the PostgreSQL server",
                                                                           "No such file or directory"]),
    ("postgresql://dagster:{password}@127.0.0.1:9/dagster", ["selects psycopg 3", "postgresql+psycopg2://"]),
    ("mysql://dagster:{password}@127.0.0.1/dagster", ["is not a PostgreSQL URL", "postgresql+psycopg2://"]),
])
def test_a_bad_url_is_one_line_naming_the_variable_and_hiding_the_password(url, words, monkeypatch, tmp_path):
    monkeypatch.setenv(POSTGRES_URL_VARIABLE, url.format(password=PASSWORD, missing=tmp_path / "no-server"))

    result = run("materialize", "--start", "2022-01-03", "--end", "2022-01-03", "--resolution", "hour")

    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {POSTGRES_URL_VARIABLE}"), result.stderr
    for word in words:
        assert word in lines[0]
    assert PASSWORD not in result.output
    assert not (tmp_path / "home" / "dagster" / "dagster.yaml").exists()  # nothing written before the check


def test_a_missing_database_is_one_line(postgres_server, monkeypatch):
    from sqlalchemy.engine import make_url

    url = make_url(new_database(postgres_server, f"dagster_{uuid.uuid4().hex[:12]}", password=PASSWORD))
    monkeypatch.setenv(POSTGRES_URL_VARIABLE, url.set(database="no_such_database").render_as_string(False))

    result = run("materialize", "--start", "2022-01-03", "--end", "2022-01-03", "--resolution", "hour")

    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        f"Error: {POSTGRES_URL_VARIABLE}: cannot use the PostgreSQL server for Dagster's storage: connection to "
        f'server on socket "{url.query["host"]}/.s.PGSQL.5432" failed: FATAL: database "no_such_database" does '
        "not exist"]
