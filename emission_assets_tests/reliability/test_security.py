"""Security after a full run: no secret anywhere, personal reservoir files owner-only, consumer views at their level.

The unit tests of the clients (tibber/test_client.py, tibber/test_live.py, redispatch/test_client.py) check each
error path for the token; this file runs the whole pipeline (SMARD and Tibber from fakes on 127.0.0.1, a Pulse live
session, factors, gold, the report) with recognisable secrets in the environment and DEBUG logging, then greps
everything a run leaves behind: log records, console output, the Dagster instance's runs and events, every file
under EMISSION_HOME (the SQLite stores dumped, the Delta tables read), and the errors of an authentication failure.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import sqlite3
import stat
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from deltalake import DeltaTable
from werkzeug import Request, Response

from emission_assets.cli import failure_message, main, run_materialize
from emission_assets.lakehouse.registry import TABLES
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.settings import paths
from emission_assets.tibber.client import TibberClient
from emission_assets.tibber.live import LiveRecorder
from emission_assets.tibber.reservoir import fill as tibber_fill
from emission_assets.timeutil import local_midnight
from emission_assets_tests.support import fake_tibber
from emission_assets_tests.support.fake_tibber_ws import FakeTibber

TIBBER_TOKEN = "tbr-SECURITY-3f9a1c7e5b2d8a60-DO-NOT-LEAK"
WRONG_TOKEN = "tbr-MISTYPED-8e1d4c2a9f7b3e51-ALSO-SECRET"
DATABRICKS_TOKEN = "dapi-SECURITY-0c4e7a91b3d5f268-DO-NOT-LEAK"
PSEUDONYM_KEY = "pk-SECURITY-6b2e9d0f4a7c1e83-DO-NOT-LEAK"  # the HMAC key of the pseudonymised views
SECRETS = (TIBBER_TOKEN, WRONG_TOKEN, DATABRICKS_TOKEN, PSEUDONYM_KEY)
# the secrets and a distinctive middle part of each (a token cut in two is still a leak)
PIECES = [piece for secret in SECRETS for piece in (secret, secret[9:29])]
HOME = fake_tibber.DEMO_HOME_ID
DAY = date(2022, 6, 1)  # a Wednesday of the sample year; SMARD's window starts on Monday 2022-05-30


def tibber_api(server) -> str:
    """A fake Tibber GraphQL API (the recorded demo home's values over June 2022) for ``TIBBER_TOKEN``; any other
    token gets Tibber's 401, whose body echoes the token it was sent (a careless upstream: the client must not pass
    it on)."""
    account = fake_tibber.FakeTibber(
        fake_tibber.recorded_history(local_midnight(date(2022, 5, 1)), local_midnight(date(2022, 7, 1))),
        token=TIBBER_TOKEN)

    def handle(request: Request) -> Response:
        presented = request.headers.get("Authorization", "")
        if presented != f"Bearer {TIBBER_TOKEN}":
            body = {"errors": [{"message": f"invalid token in '{presented}'", "extensions": {"code": "UNAUTHENTICATED"}}]}
            return Response(json.dumps(body), status=401, content_type="application/json")
        return account.respond(request)

    return account.serve(server, handle)


def pulse_measurements(count: int) -> list[dict]:
    """Pulse samples every 10 s from local midnight of DAY, with the meter's counter since midnight."""
    start = local_midnight(DAY)
    return [{"timestamp": (start + timedelta(seconds=10 * i + 9)).isoformat(timespec="milliseconds"),
             "power": 600.0, "accumulatedConsumption": round(0.6 * (10 * i + 9) / 3600, 6),
             "accumulatedCost": 0.0, "currency": "EUR"} for i in range(count)]


def streaming(measurements: list[dict]):
    def script(conn):
        conn.handshake()
        for item in measurements:
            conn.send_next(item)
        conn.hold()

    return script


def leaks(text: str) -> list[str]:
    return [piece for piece in PIECES if piece in text]


def instance_records(dagster_home: Path) -> dict[str, str]:
    """Every run (with its config and tags) and every event (messages, metadata, errors with their stack traces) of
    the Dagster instance, serialised as the instance stores them."""
    from dagster import DagsterInstance, serialize_value

    found = {}
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        for run in instance.get_runs():
            found[f"run {run.run_id}"] = serialize_value(run)
            for n, entry in enumerate(instance.all_logs(run.run_id)):
                found[f"run {run.run_id} event {n}"] = serialize_value(entry)
    return found


def stored_texts(home: Path) -> dict[str, str]:
    """Every file under the home as text (bytes decoded leniently), SQLite databases dumped as SQL (a long value
    spans overflow pages, so the raw bytes could split it), and every Delta table's rows read with delta-rs
    (parquet pages are compressed)."""
    texts = {}
    for path in home.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        texts[str(path)] = data.decode("utf-8", "replace")
        if data.startswith(b"SQLite format 3"):
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                texts[f"{path} (dump)"] = "\n".join(db.iterdump())
    registry = open_lakehouse().registry
    for name in TABLES:
        if Path(registry.path(name), "_delta_log").is_dir():
            texts[f"table {name}"] = DeltaTable(registry.path(name)).to_pandas().to_csv()
    return texts


def view_texts() -> dict[str, str]:
    """Every gold view's definition as the engine's catalog stores it (what ``DESCRIBE TABLE EXTENDED`` shows)."""
    spark = open_lakehouse().spark
    texts = {}
    for view in spark.sql("SHOW VIEWS IN gold").collect():
        rows = spark.sql(f"DESCRIBE TABLE EXTENDED gold.{view.tableName}").collect()
        texts[f"view gold.{view.tableName}"] = "\n".join(f"{r.col_name}: {r.data_type}" for r in rows)
    return texts


def test_no_secret_in_logs_run_records_files_or_errors_after_a_full_run(
        spark, fake_smard, httpserver, monkeypatch, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TIBBER_TOKEN", TIBBER_TOKEN)
    monkeypatch.setenv("TIBBER_API_URL", tibber_api(httpserver))
    monkeypatch.setenv("DATABRICKS_HOST", "https://dbc-00000000-0000.cloud.databricks.com")
    monkeypatch.setenv("DATABRICKS_TOKEN", DATABRICKS_TOKEN)
    monkeypatch.setenv("EMISSION_PSEUDONYM_KEY", PSEUDONYM_KEY)
    monkeypatch.setenv("DAGSTER_HOME", str(paths().dagster_home))  # the CLI sets it; restored after the test
    fake_smard.publish_weeks(DAY, 1)
    outputs = {}

    # A live session through the CLI: home lookup over HTTP with the token, then the Pulse stream.
    fake = FakeTibber(streaming(pulse_measurements(30)), token=TIBBER_TOKEN)
    try:
        live = CliRunner().invoke(main, ["live", "--ws-url", fake.url, "--flush-seconds", "1", "--duration", "2"])
    finally:
        fake.close()
    assert live.exit_code == 0, live.output
    assert "30 measurements" in live.output
    outputs["live command"] = live.output

    # Every asset for the day (SMARD, Tibber hourly + live, factors, redispatch, gold, the report).
    result = run_materialize(DAY, DAY, [], {})
    assert result.success, failure_message(result)
    assert open_lakehouse().spark.sql(
        "SELECT count(*) FROM silver.consumption WHERE home_id = '%s'" % HOME).collect()[0][0] == 24

    # The user mistypes the token: the run and the live command fail, clearly, without showing it.
    monkeypatch.setenv("TIBBER_TOKEN", WRONG_TOKEN)
    failed = run_materialize(DAY + timedelta(days=1), DAY + timedelta(days=1), ["tag:source=tibber"], {})
    assert not failed.success
    message = failure_message(failed)
    assert "TibberAuthError" in message and "TIBBER_TOKEN" in message and "401" in message
    outputs["failure message"] = message
    outputs["failed run's events"] = "\n".join(repr(event) for event in failed.all_events)
    refused = CliRunner().invoke(main, ["live", "--ws-url", "ws://127.0.0.1:9/unused", "--duration", "1"])
    assert refused.exit_code == 2 and "TIBBER_TOKEN" in refused.output
    outputs["refused live command"] = refused.output + repr(refused.exception)

    captured = capfd.readouterr()
    outputs["stdout"], outputs["stderr"] = captured.out, captured.err
    outputs["log"] = caplog.text
    for n, record in enumerate(caplog.records):
        outputs[f"log record {n} ({record.name})"] = f"{record.getMessage()} {record.exc_text or ''} {vars(record)!r}"
    assert len(caplog.records) > 100  # DEBUG logging was on: the grep below has something to look at

    outputs.update(instance_records(paths().dagster_home))
    outputs.update(stored_texts(paths().home))
    outputs.update(view_texts())
    assert "home_pseudonyms USING ( home_id )" in outputs["view gold.consumer_public"]  # the catalog's text was read
    assert any(name.endswith(".png") for name in outputs)  # the report was written and is searched too
    assert any("/reservoir/tibber/live/" in name for name in outputs)
    found = {where: leaks(text) for where, text in outputs.items() if leaks(text)}
    assert not found, f"secrets found in: {found}"
    # ... and the search would have found them: the secrets are where they belong
    assert os.environ["TIBBER_TOKEN"] == WRONG_TOKEN and os.environ["DATABRICKS_TOKEN"] == DATABRICKS_TOKEN
    assert os.environ["EMISSION_PSEUDONYM_KEY"] == PSEUDONYM_KEY
    assert leaks(f"Bearer {TIBBER_TOKEN}") and leaks(WRONG_TOKEN[5:35])

    # Consumer views on the real gold views: the public one is monthly and pseudonymised through and through.
    sql = open_lakehouse().spark.sql
    public = sql("SELECT * FROM gold.consumer_public").collect()
    assert public and not {"interval_start", "interval_end", "day", "home_id"} & set(public[0].asDict())
    assert len({(r.year, r.month, r.home_key, r.model, r.basis) for r in public}) == len(public)  # one row a month
    assert {r.home_key for r in public} == {hmac.new(PSEUDONYM_KEY.encode(), HOME.encode(), hashlib.sha256).hexdigest()}
    for view in ("gold.consumer_public", "gold.consumer_analyst"):
        values = {str(v) for row in sql(f"SELECT * FROM {view}").collect() for v in row}
        assert not any(HOME in value for value in values), view


def tibber_files(root: Path) -> list[Path]:
    return sorted(root.joinpath("tibber").rglob("*"))


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_personal_consumption_files_and_their_folders_are_owner_only(httpserver, umask):
    """Tibber hourly pages and live batches with their sidecars are 0600 and the folders the code creates for them
    0700, also when the process runs with a permissive umask."""
    root = Path(os.environ["EMISSION_HOME"]) / "reservoir"
    reservoir = Reservoir(root)
    previous = os.umask(umask)
    try:
        client = TibberClient(TIBBER_TOKEN, tibber_api(httpserver), backoff_factor=0.01)
        hourly = tibber_fill(client, reservoir, DAY, DAY, home_id=HOME).written
        fake = FakeTibber(streaming(pulse_measurements(5)), token=TIBBER_TOKEN)
        try:
            recorder = LiveRecorder(fake.url, TIBBER_TOKEN, HOME, reservoir, flush_seconds=0.2)
            stop = threading.Event()
            worker = threading.Thread(target=lambda: recorder.run(stop=stop))
            worker.start()
            for _ in range(1000):  # until all five arrived (not a time bound: at most ~10 s of polling)
                if recorder.stats.measurements_received == 5:
                    break
                stop.wait(0.01)
            stop.set()  # the recorder writes what it holds when it stops
            worker.join(20)
            stats = recorder.stats
        finally:
            fake.close()
    finally:
        os.umask(previous)
    assert hourly and stats.batches_written and stats.measurements_received == 5

    files = [p for p in tibber_files(root) if p.is_file()]
    folders = [root, *(p for p in tibber_files(root) if p.is_dir())]
    kinds = {p.relative_to(root).parts[1] for p in files}
    assert kinds == {"hourly", "live"} and any(p.name.endswith(".meta.json") for p in files)
    assert {p: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p: "0o600" for p in files}
    assert {p: oct(stat.S_IMODE(p.stat().st_mode)) for p in folders} == {p: "0o700" for p in folders}
