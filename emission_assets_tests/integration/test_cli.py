"""The ``emission-tracker`` command line, run in-process with click's CliRunner on the tmp ``$EMISSION_HOME``."""
from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from emission_assets import timeutil
from emission_assets.cli import main
from emission_assets.settings import paths
from emission_assets_tests.support.cli import run
from emission_assets_tests.support.paths import FIXTURES

FIXTURES = FIXTURES / "smard"
AUTUMN = FIXTURES / "smard_realisierte_erzeugung_DE_hour_2022-10-29_2022-10-31.csv"
QUARTER = FIXTURES / "smard_realisierte_erzeugung_DE_quarterhour_2025-08-28_2025-08-29.csv"


def reservoir_files() -> list[Path]:
    root = paths().reservoir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_user_error(result, *fragments: str) -> str:
    """Exit code 2, one ``Error: ...`` line on stderr, nothing on stdout, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --- import smard-csv ------------------------------------------------------------------------------------------


def test_import_smard_csv_writes_windows_into_the_reservoir():
    result = run("import", "smard-csv", str(AUTUMN))

    assert result.exit_code == 0, result.output
    assert result.exception is None
    metas = sorted(paths().reservoir.rglob("*.meta.json"))
    assert metas, "no reservoir files written"
    assert all(p.is_relative_to(paths().reservoir / "smard") for p in metas)
    # 2022-10-29..31 touches the weeks from Monday 2022-10-24 and Monday 2022-10-31 (local dates)
    assert {p.parent.name for p in metas} == {"2022-10-24", "2022-10-31"}
    for meta_path in metas:
        assert meta_path.with_name(meta_path.name.replace(".meta.json", ".json")).is_file()
    sidecars = [json.loads(p.read_text()) for p in metas]
    assert {m["source"] for m in sidecars} == {"csv-import"}
    assert {m["region"] for m in sidecars} == {"DE"}
    assert {m["resolution"] for m in sidecars} == {"hour"}
    values = sum(m["non_null_points"] for m in sidecars)
    nulls = sum(m["points"] - m["non_null_points"] for m in sidecars)

    stdout = result.stdout
    assert f"imported 1 file(s): {len(metas)} windows, {values} values, {nulls} empty slots" in stdout
    assert "(hour), region DE" in stdout
    # 29.10.2022 00:00 CEST is 28.10. 22:00 UTC; 31.10.2022 23:00 CET is 22:00 UTC
    assert "2022-10-28 22:00:00+00:00 .. 2022-10-31 22:00:00+00:00 UTC" in stdout


def test_import_smard_csv_region_option_is_recorded():
    result = run("import", "smard-csv", "--region", "50Hertz", str(QUARTER))

    assert result.exit_code == 0, result.output
    assert "(quarterhour), region 50Hertz" in result.stdout
    sidecars = [json.loads(p.read_text()) for p in paths().reservoir.rglob("*.meta.json")]
    assert sidecars and {m["region"] for m in sidecars} == {"50Hertz"}


def test_import_missing_file_is_a_user_error(tmp_path):
    missing = tmp_path / "nope.csv"
    line = assert_user_error(run("import", "smard-csv", str(AUTUMN), str(missing)), "no such file", str(missing))
    assert str(AUTUMN) not in line  # only the missing one is named
    assert reservoir_files() == []


def test_import_non_smard_csv_is_a_user_error_and_writes_nothing(tmp_path):
    other = tmp_path / "bank_statement.csv"
    other.write_text("date;amount;purpose\n2024-01-01;12,50;coffee\n", encoding="utf-8")

    # the good file comes first: nothing may be written before every file is parsed
    result = run("import", "smard-csv", str(AUTUMN), str(other))

    assert_user_error(result, str(other), "line 1", "not a SMARD export")
    assert reservoir_files() == []


def test_import_unknown_region_is_a_user_error():
    assert_user_error(run("import", "smard-csv", "--region", "XX", str(AUTUMN)), "unknown SMARD region 'XX'", "DE")
    assert reservoir_files() == []


# --- materialize argument checks -------------------------------------------------------------------------------


def test_materialize_rejects_an_invalid_date():
    assert_user_error(
        run("materialize", "--start", "2024-13-01", "--end", "2024-01-02"), "--start '2024-13-01'", "YYYY-MM-DD"
    )
    assert_user_error(run("materialize", "--start", "2024-01-01", "--end", "tomorrow"), "--end 'tomorrow'")


def test_materialize_rejects_start_after_end():
    result = run("materialize", "--start", "2024-02-10", "--end", "2024-02-01")
    assert_user_error(result, "--start 2024-02-10 is after --end 2024-02-01")


# 2026-06-30 21:30 UTC is 23:30 on June 30 in Berlin (CEST); 22:30 UTC is already 00:30 on July 1 there.
BEFORE_BERLIN_MIDNIGHT = datetime(2026, 6, 30, 21, 30, tzinfo=timezone.utc)
AFTER_BERLIN_MIDNIGHT = datetime(2026, 6, 30, 22, 30, tzinfo=timezone.utc)


@pytest.fixture
def clock(monkeypatch):
    """Pins the instant the CLI takes "today" from (``timeutil.now_utc``); returns the setter."""
    def pin(moment: datetime) -> None:
        monkeypatch.setattr(timeutil, "now_utc", lambda: moment)
    return pin


def test_today_is_the_berlin_date_of_the_instant(clock):
    clock(BEFORE_BERLIN_MIDNIGHT)
    assert timeutil.today_in_berlin() == date(2026, 6, 30)
    clock(AFTER_BERLIN_MIDNIGHT)
    assert timeutil.today_in_berlin() == date(2026, 7, 1)  # the UTC date is still June 30


def test_materialize_rejects_a_day_not_yet_over_in_berlin(clock):
    clock(BEFORE_BERLIN_MIDNIGHT)
    result = run("materialize", "--start", "2026-06-29", "--end", "2026-06-30")
    assert_user_error(result, "--end 2026-06-30 is not a complete day yet in Europe/Berlin")


def test_materialize_accepts_a_day_over_in_berlin_but_not_in_utc(clock):
    """Past Berlin midnight June 30 is complete; the unknown region stops the command before any run starts."""
    clock(AFTER_BERLIN_MIDNIGHT)
    result = run("materialize", "--start", "2026-06-29", "--end", "2026-06-30", "--region", "XX")
    assert_user_error(result, "unknown SMARD region 'XX'")
    assert not paths().dagster_home.exists()  # no Dagster instance, so no run
    assert_user_error(run("materialize", "--start", "2026-06-30", "--end", "2026-07-01"),
                      "--end 2026-07-01 is not a complete day yet")


# --- query -----------------------------------------------------------------------------------------------------


def test_query_on_an_empty_lakehouse_prints_csv(spark):
    result = run("query", "SELECT count(*) AS n FROM silver.production")

    assert result.exit_code == 0, result.output
    assert result.stdout == "n\n0\n"


def test_query_on_an_unknown_table_is_a_user_error(spark):
    result = run("query", "SELECT * FROM silver.no_such_table")
    assert_user_error(result, "query failed")


# --- reset -----------------------------------------------------------------------------------------------------


def populate_home() -> dict[str, Path]:
    home = paths()
    files = {
        "reservoir": home.reservoir / "smard" / "2024-01-01" / "w.json",
        "bronze": home.lakehouse / "bronze" / "smard_responses" / "part-0.parquet",
        "silver": home.lakehouse / "silver" / "production" / "part-0.parquet",
        "gold": home.lakehouse / "gold" / "co2" / "part-0.parquet",
        "dagster": home.dagster_home / "dagster.yaml",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return files


def test_reset_reservoir_keeps_the_lakehouse():
    files = populate_home()

    result = run("reset", "--layer", "reservoir", "--yes")

    assert result.exit_code == 0, result.output
    assert not paths().reservoir.exists()
    assert f"removed {paths().reservoir}" in result.stdout
    for layer in ("bronze", "silver", "gold", "dagster"):
        assert files[layer].is_file(), layer
    assert paths().home.is_dir()


def test_reset_silver_only_removes_silver():
    files = populate_home()
    assert run("reset", "--layer", "silver", "--yes").exit_code == 0
    assert not (paths().lakehouse / "silver").exists()
    for layer in ("reservoir", "bronze", "gold", "dagster"):
        assert files[layer].is_file(), layer


def test_reset_all_removes_everything():
    populate_home()

    result = run("reset", "--yes")

    assert result.exit_code == 0, result.output
    home = paths()
    assert not home.reservoir.exists()
    assert not home.dagster_home.exists()
    for layer in ("bronze", "silver", "gold"):
        assert not (home.lakehouse / layer).exists(), layer
    assert not any(p.is_file() for p in home.home.rglob("*"))


def test_reset_without_yes_asks_and_aborts_on_no():
    files = populate_home()
    result = CliRunner().invoke(main, ["reset", "--layer", "reservoir"], input="n\n")
    assert result.exit_code == 1
    assert "Aborted" in result.output
    assert files["reservoir"].is_file()


def test_reset_on_an_empty_home_succeeds():
    assert not paths().home.exists()
    result = run("reset", "--yes")
    assert result.exit_code == 0, result.output


def test_reset_reservoir_after_import_keeps_a_real_lakehouse(spark):
    assert run("import", "smard-csv", str(AUTUMN)).exit_code == 0
    assert run("query", "SELECT count(*) AS n FROM bronze.smard_responses").stdout == "n\n0\n"  # creates the tables
    delta_logs = sorted(paths().lakehouse.rglob("_delta_log"))
    assert len(delta_logs) >= 2 and reservoir_files()

    assert run("reset", "--layer", "reservoir", "--yes").exit_code == 0

    assert reservoir_files() == [] and not paths().reservoir.exists()
    assert sorted(paths().lakehouse.rglob("_delta_log")) == delta_logs
    result = run("query", "SELECT count(*) AS n FROM silver.production")
    assert (result.exit_code, result.stdout) == (0, "n\n0\n")


def test_live_records_batches_from_a_fake_websocket(monkeypatch):
    """`emission-tracker live` resolves the home over GraphQL (sample API) and records the fake Pulse stream."""
    from emission_assets.tibber.sample import SAMPLE_API_URL, SAMPLE_HOME_ID
    from emission_assets_tests.support.fake_tibber_ws import TOKEN, FakeTibber

    def script(conn):
        conn.handshake()
        for i in range(5):
            conn.send_next({"timestamp": f"2022-06-01T00:00:0{i}.000+02:00", "power": 500.0,
                            "accumulatedConsumption": 0.001 * i, "accumulatedCost": 0.0, "currency": "EUR"})
        conn.hold()

    fake = FakeTibber(script)
    monkeypatch.setenv("TIBBER_API_URL", SAMPLE_API_URL)
    monkeypatch.setenv("TIBBER_TOKEN", TOKEN)
    try:
        result = CliRunner().invoke(main, ["live", "--ws-url", fake.url, "--flush-seconds", "1", "--duration", "2"])
    finally:
        fake.close()
    assert result.exit_code == 0, result.output
    assert f"home {SAMPLE_HOME_ID}" in result.output and "5 measurements" in result.output
    assert TOKEN not in result.output
    files = list((Path(os.environ["EMISSION_HOME"]) / "reservoir" / "tibber" / "live").rglob("*.meta.json"))
    assert files


def test_live_without_a_token_is_a_clear_user_error(monkeypatch):
    monkeypatch.delenv("TIBBER_TOKEN", raising=False)
    monkeypatch.setenv("TIBBER_API_URL", "sample://tibber")
    result = CliRunner().invoke(main, ["live", "--duration", "1"])
    assert result.exit_code == 2 and "TIBBER_TOKEN" in result.output


def test_default_selection_leaves_out_tibber_without_a_tibber_source(monkeypatch):
    from emission_assets.cli import default_selection
    from emission_assets.definitions import build_definitions

    graph = build_definitions().resolve_asset_graph()
    for name in ("TIBBER_TOKEN", "TIBBER_API_URL", "TIBBER_SECRET_SCOPE"):
        monkeypatch.delenv(name, raising=False)
    without = {"/".join(k.path) for k in default_selection().resolve(graph)}
    assert "silver/production" in without and not any("tibber" in k or k == "silver/consumption" for k in without)
    monkeypatch.setenv("TIBBER_API_URL", "sample://tibber")
    assert {"silver/consumption", "reservoir/tibber_responses"} <= {"/".join(k.path) for k in default_selection().resolve(graph)}
