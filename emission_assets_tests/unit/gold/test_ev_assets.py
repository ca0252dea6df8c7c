"""The assets gold/ev_sessions and gold/ev_shift_savings: a month's run writes exactly its sessions, the partial
results are named check results (WARN), the ready-by time is run config, a wrong one is refused."""
from __future__ import annotations

from datetime import timedelta

import pytest
from dagster import AssetCheckSeverity, AssetKey, materialize

from emission_assets.errors import UserInputError
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets_tests.support.ev_rows import ev_hours, hourly_intensity, local, write_consumption, write_intensity

SESSIONS, SHIFT = AssetKey(["gold", "ev_sessions"]), AssetKey(["gold", "ev_shift_savings"])
SHIFT_OP = "gold__ev_shift_savings"


@pytest.fixture
def december(spark):
    """Two sessions in December 2022 (the 30th, fine; the 31st's evening, whose morning is not in the data) and one
    on 2022-11-30 running into December; hourly intensity of two models up to 2023-01-01 00:00 local."""
    lakehouse = open_lakehouse()
    rows = ev_hours(local(2022, 11, 30, 23), 2) + ev_hours(local(2022, 12, 30, 19), 3) + ev_hours(
        local(2022, 12, 31, 20), 2)
    write_consumption(spark, lakehouse.writer, rows)
    first = local(2022, 11, 30, 12)
    hours = int((local(2023, 1, 1) - first) / timedelta(hours=1))
    write_intensity(spark, lakehouse.writer, hourly_intensity(
        first, hours, lambda h, m: 100.0 + (h * 37) % 300 + (50 if m == "merit_order" else 0),
        models=("average", "merit_order")))
    return lakehouse


def run(keys, month: str, run_config=None, raise_on_error=False):
    from emission_assets.definitions import ASSETS
    from emission_assets.sources import resources_for_environment

    return materialize(ASSETS, selection=keys, partition_key=month, resources=resources_for_environment(),
                       run_config=run_config, raise_on_error=raise_on_error)


def test_a_month_run_writes_its_sessions_and_names_the_partial_results(december):
    result = run([SESSIONS, SHIFT], "2022-12-01")
    assert result.success
    sql = december.spark.sql
    sessions = sql("SELECT DISTINCT session_id, interval_count FROM gold.ev_sessions ORDER BY session_id").collect()
    assert [(r.session_id, r.interval_count) for r in sessions] == [
        ("home@2022-12-30T18:00:00Z", 3), ("home@2022-12-31T19:00:00Z", 2)]  # the November one is November's
    shift = {(r.session_id[5:15], r.model): r for r in sql("SELECT * FROM gold.ev_shift_savings").collect()}
    assert len(shift) == 4 and shift[("2022-12-31", "average")].status == "no_following_morning"
    assert shift[("2022-12-30", "average")].status == "complete"

    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == {"every_session_fits_its_window", "every_window_reaches_its_ready_by_time",
                           "every_window_hour_has_intensity", "every_session_interval_has_intensity"}
    cut = checks["every_window_reaches_its_ready_by_time"]
    assert not cut.passed and cut.severity == AssetCheckSeverity.WARN
    assert cut.metadata["rows_flagged"].value == 2 and cut.metadata["sessions_flagged"].value == 1
    assert "home@2022-12-31T19:00:00Z average/direct: no intensity after 2022-12-31 23:00Z" in \
        cut.metadata["sample"].value
    assert all(checks[name].passed for name in checks if name != "every_window_reaches_its_ready_by_time")

    materialized = {e.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert materialized[SESSIONS]["sessions"].value == 2 and materialized[SESSIONS]["energy_kwh"].value == 55.0
    assert materialized[SHIFT]["ready_by_local"].value == "07:00" and materialized[SHIFT]["partial_rows"].value == 2
    assert materialized[SHIFT]["average_direct_saved_kg"].value == pytest.approx(
        sum(r.saved_kg for (_, m), r in shift.items() if m == "average"))

    assert run([SESSIONS], "2022-11-01").success  # November: the session over the month boundary, whole
    november = sql("SELECT session_end, energy_kwh FROM gold.ev_sessions WHERE month = 11 AND model = 'average'"
                   ).collect()
    assert [r.energy_kwh for r in november] == [22.0]
    assert sql("SELECT count(*) FROM gold.ev_sessions WHERE month = 12").collect()[0][0] == 4  # untouched


def test_the_ready_by_time_is_run_config_and_a_wrong_one_is_refused(december):
    config = {"ops": {SHIFT_OP: {"config": {"ready_by": "05:00"}}}}
    assert run([SESSIONS, SHIFT], "2022-12-01", config).success
    rows = december.spark.sql("SELECT DISTINCT ready_by_local, window_end FROM gold.ev_shift_savings "
                              "WHERE session_id = 'home@2022-12-30T18:00:00Z'").collect()
    assert [(r.ready_by_local, r.window_end) for r in rows] == [("05:00", local(2022, 12, 31, 5).replace(tzinfo=None))]
    with pytest.raises(UserInputError, match=r"^ready_by='7am' is not a local time HH:MM \(00:00..23:59\), e.g. 07:00$"):
        run([SHIFT], "2022-12-01", {"ops": {SHIFT_OP: {"config": {"ready_by": "7am"}}}}, raise_on_error=True)


def test_the_demo_summary_prints_sessions_and_savings_per_model(december, capsys):
    from datetime import date

    from emission_assets.cli.ev_summary import print_ev_summary

    print_ev_summary(date(2022, 12, 1), date(2022, 12, 31))
    assert "no EV charging sessions in gold.ev_sessions for 2022-12-01..2022-12-31" in capsys.readouterr().out
    assert run([SESSIONS, SHIFT], "2022-12-01").success
    rows = {r.model: r for r in december.spark.sql(
        "SELECT model, sum(saved_kg) AS saved, sum(actual_kg) AS kg FROM gold.ev_shift_savings WHERE basis = 'direct' "
        "GROUP BY model").collect()}
    print_ev_summary(date(2022, 12, 1), date(2022, 12, 31))
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("EV charging sessions 2022-12-01..2022-12-31 (direct): 2 sessions, 55.0 kWh. ")
    assert "the next 07:00" in lines[1]
    header = [c.strip() for c in lines[2].split("|")[1:-1]]
    assert header[:4] == ["model", "sessions", "kWh", "kg CO2"] and "kg saved" in header
    table = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in lines[4:6]}
    assert list(table) == ["average", "merit_order"]
    assert table["average"][:3] == ["2", "55.0", f"{rows['average'].kg:,.1f}"]
    assert table["merit_order"][header.index("kg saved") - 1] == f"{rows['merit_order'].saved:,.1f}"
    assert "no data for: worst_emitter, locality" in lines
    assert ("partial: 2 session x model results with no following morning in the data (window cut at the last "
            "intensity) [no_following_morning]") in lines
