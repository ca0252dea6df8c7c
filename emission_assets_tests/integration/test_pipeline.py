"""SMARD from a fake API through reservoir, bronze and silver in real Dagster runs on the embedded engine."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from emission_assets.cli import failure_message, run_materialize
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.settings import paths
from emission_assets.smard.catalog import GENERATION_FILTERS
from emission_assets.smard.csv_import import import_smard_csv
from emission_assets.timeutil import local_midnight, to_epoch_ms
from emission_assets_tests.support.fake_smard import synthetic_value
from emission_assets_tests.support.paths import FIXTURES

FIXTURES = FIXTURES / "smard"
SMARD = ["tag:source=smard"]  # the SMARD path only: these tests have no Tibber API
SPRING = date(2024, 3, 31)  # 23 hours: 92 quarter-hours
AUTUMN = date(2024, 10, 27)  # 25 hours: 100 quarter-hours


def sql(query: str) -> list:
    return open_lakehouse().spark.sql(query).collect()


def counts_per_day() -> dict[date, int]:
    rows = sql("SELECT year, month, day, count(*) AS n FROM silver.production GROUP BY year, month, day")
    return {date(r.year, r.month, r.day): r.n for r in rows}


def duplicate_count() -> int:
    return sql(
        "SELECT count(*) - count(DISTINCT interval_start, region, production_type) FROM silver.production"
    )[0][0]


def check_results(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


@pytest.mark.parametrize("day, quarter_hours", [(SPRING, 92), (AUTUMN, 100)])
def test_dst_day_has_the_right_number_of_quarter_hours(spark, fake_smard, day, quarter_hours):
    fake_smard.publish_weeks(day, 1)
    result = run_materialize(day, day, SMARD, {})
    assert result.success
    assert counts_per_day() == {day: quarter_hours * len(GENERATION_FILTERS)}
    assert check_results(result) == {"no_duplicate_intervals": True, "complete_days": True, "non_negative_energy": True,
                                     "no_series_lost": True}
    # Values are the API's, at the right instants: the day's first interval starts at local midnight.
    rows = sql(
        "SELECT unix_millis(interval_start) AS start_ms, unix_millis(interval_end) AS end_ms, energy_mwh, power_mw "
        "FROM silver.production WHERE production_type = 'lignite' ORDER BY interval_start"
    )
    assert rows[0].start_ms == to_epoch_ms(local_midnight(day))
    assert rows[-1].end_ms == to_epoch_ms(local_midnight(day + timedelta(days=1)))
    for row in rows:
        assert row.energy_mwh == synthetic_value(1223, row.start_ms)
        assert row.power_mw == row.energy_mwh * 4
        assert row.end_ms - row.start_ms == 900_000


def test_a_control_area_gets_its_grid_load_into_silver(spark, fake_smard):
    """The default fetch of a control area adds filter 410; silver.grid_load holds it per interval, checked."""
    fake_smard.publish_weeks(SPRING, 1, region="TenneT")
    result = run_materialize(SPRING, SPRING, SMARD, {"regions": ["TenneT"]})
    assert result.success
    rows = sql("SELECT unix_millis(interval_start) AS start_ms, unix_millis(interval_end) AS end_ms, region, "
               "resolution, load_mwh, year, month, day FROM silver.grid_load ORDER BY interval_start")
    assert len(rows) == 92 and {(r.region, r.resolution, (r.year, r.month, r.day)) for r in rows} == {
        ("TenneT", "quarterhour", (2024, 3, 31))}
    assert rows[0].start_ms == to_epoch_ms(local_midnight(SPRING))
    assert all(r.load_mwh == synthetic_value(410, r.start_ms) and r.end_ms - r.start_ms == 900_000 for r in rows)
    assert counts_per_day() == {SPRING: 92 * len(GENERATION_FILTERS)}  # production unchanged: load is not a type
    load_checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()
                   if e.asset_key.path == ["silver", "grid_load"]}
    assert load_checks == {"no_duplicate_intervals": True, "complete_days": True, "non_negative_energy": True,
                           "no_series_lost": True}


def test_rerunning_a_range_and_a_day_duplicates_nothing_and_fetches_nothing(spark, fake_smard):
    fake_smard.publish_weeks(date(2024, 3, 25), 2)
    first, last = date(2024, 3, 29), date(2024, 4, 2)
    assert run_materialize(first, last, SMARD, {}).success
    windows_fetched = len(fake_smard.window_requests())
    assert windows_fetched == 2 * len(GENERATION_FILTERS)  # two weekly windows per type, each once
    before = counts_per_day()
    bronze_rows = sql("SELECT count(*) FROM bronze.smard_responses")[0][0]

    assert run_materialize(first, last, SMARD, {}).success
    assert run_materialize(SPRING, SPRING, SMARD, {}).success

    assert len(fake_smard.window_requests()) == windows_fetched  # the reservoir already held every day
    assert counts_per_day() == before
    assert sorted(before) == [date(2024, 3, d) for d in (29, 30, 31)] + [date(2024, 4, 1), date(2024, 4, 2)]
    assert before[SPRING] == 92 * 12 and before[date(2024, 4, 1)] == 96 * 12
    assert duplicate_count() == 0
    assert sql("SELECT count(*) FROM bronze.smard_responses")[0][0] == bronze_rows == windows_fetched


def test_refresh_stores_a_new_version_and_silver_takes_the_latest(spark, fake_smard):
    fake_smard.publish_weeks(SPRING, 1)
    assert run_materialize(SPRING, SPRING, SMARD, {}).success
    fake_smard.publish_weeks(SPRING, 1, version=1)  # SMARD revised the week
    assert run_materialize(SPRING, SPRING, SMARD, {"refresh": True}).success

    assert len(list(paths().reservoir.rglob("*.meta.json"))) == 2 * len(GENERATION_FILTERS)  # history kept
    assert sql("SELECT count(*) FROM bronze.smard_responses")[0][0] == 2 * len(GENERATION_FILTERS)
    assert duplicate_count() == 0
    rows = sql("SELECT unix_millis(interval_start) AS start_ms, energy_mwh FROM silver.production WHERE filter_id = 4068")
    assert len(rows) == 92
    assert all(row.energy_mwh == synthetic_value(4068, row.start_ms, version=1) for row in rows)


def test_api_failure_names_the_window_and_stores_nothing(spark, fake_smard):
    fake_smard.publish_weeks(SPRING, 1)
    fake_smard.failures["4068_DE_quarterhour_1711321200000.json"] = 404  # 5xx retries are tested on the client
    result = run_materialize(SPRING, SPRING, SMARD, {})
    assert not result.success
    message = failure_message(result)
    assert "filter 4068 (photovoltaics), region DE, resolution quarterhour" in message and "404" in message
    # Windows fetched before the failure are kept (they are valid); the failed one is not in the reservoir.
    names = [p.name for p in paths().reservoir.rglob("*.json")]
    assert not any(n.startswith("4068_") for n in names)


def test_csv_import_then_materialize_makes_no_network_call(spark, monkeypatch):
    """SMARD_BASE_URL points nowhere (conftest): the run must be served from the reservoir alone."""
    import_smard_csv(
        [FIXTURES / "smard_realisierte_erzeugung_DE_hour_2022-10-29_2022-10-31.csv"], "DE", Reservoir(paths().reservoir)
    )
    result = run_materialize(date(2022, 10, 29), date(2022, 10, 31), SMARD, {})
    assert result.success
    assert counts_per_day() == {date(2022, 10, 29): 24 * 12, date(2022, 10, 30): 25 * 12, date(2022, 10, 31): 24 * 12}
    lignite = sql(
        "SELECT energy_mwh FROM silver.production WHERE production_type = 'lignite' "
        "AND year = 2022 AND month = 10 AND day = 30 ORDER BY interval_start"
    )
    # The two local 02:00 rows of the autumn switch are distinct intervals (CEST, then CET).
    assert len(lignite) == 25
    assert check_results(result)["complete_days"]
