"""From the reservoir to the report on the bundled data (replayed SMARD, sample household) over a DST switch."""
from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from emission_assets.cli import DEMO_RANGES, DEMO_REPLAY, main, run_materialize
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.tibber.sample import SAMPLE_API_URL
from emission_assets_tests.support.paths import FIXTURES


@pytest.fixture
def bundled_sources(monkeypatch):
    monkeypatch.setenv("SMARD_BASE_URL", DEMO_REPLAY.as_uri())
    monkeypatch.setenv("TIBBER_API_URL", SAMPLE_API_URL)


def test_reservoir_to_report_over_the_spring_dst_switch(spark, bundled_sources, tmp_path):
    first, last = date(2022, 3, 26), date(2022, 3, 28)
    runs = []
    result = run_materialize(first, last, DEMO_RANGES[0][3], {"resolution": "hour"}, runs)
    assert result.success and len(runs) == 2  # the days with the factors; their month (2022-03) with views and report
    months = runs[1]
    assert months.dagster_run.tags["dagster/asset_partition_range_start"] == "2022-03-01"
    assert months.dagster_run.tags["dagster/asset_partition_range_end"] == "2022-03-01"
    checks = {e.check_name: e.passed for e in months.get_asset_check_evaluations()}
    assert checks == {"intensities_within_physical_bounds": True, "every_production_interval_has_a_factor": True,
                      "merit_order_marginal_unit_is_fossil": True, "every_hour_has_intervals": True,
                      # gold/ev_shift_savings: the 28th's session has no following morning in these three days
                      "every_session_fits_its_window": True, "every_window_reaches_its_ready_by_time": False,
                      "every_window_hour_has_intensity": True, "every_session_interval_has_intensity": True}

    sql = open_lakehouse().spark.sql
    per_model = {r.model: r for r in sql(
        "SELECT model, count(*) AS n, sum(energy_kwh) AS kwh, sum(emissions_g) AS g, sum(ev_emissions_g) AS ev, "
        "sum(household_emissions_g) AS hh, min(g_per_kwh) AS lo, max(g_per_kwh) AS hi "
        "FROM gold.consumption_emissions WHERE basis = 'direct' GROUP BY model").collect()}
    assert set(per_model) == {"average", "merit_order", "worst_emitter"}  # no control-area data: no locality
    assert per_model["merit_order"].lo > 300  # a fossil unit is always at the margin (no 0 g nuclear hours)
    for row in per_model.values():
        assert row.n == 24 + 23 + 24  # every consumption hour found its grid intensity, DST day included
        assert row.ev + row.hh == pytest.approx(row.g)
        assert 0 <= row.lo <= row.hi < 1500
    assert per_model["worst_emitter"].g > max(per_model["average"].g, per_model["merit_order"].g)  # an upper bound

    # gold.intensity_profile of the same days: hour 2 only on Saturday (the 23-hour Sunday has none), Monday a weekday
    counts = {(r.day_type, r.hour_local): r.n for r in sql(
        "SELECT day_type, hour_local, interval_count AS n FROM gold.intensity_profile "
        "WHERE region = 'DE' AND model = 'average' AND basis = 'direct'").collect()}
    assert counts[("weekend", 2)] == 1 and counts[("weekend", 3)] == 2 and counts[("weekday", 2)] == 1
    assert len(counts) == 48 and sum(counts.values()) == 24 + 23 + 24
    # The sample household's EV sessions of these days (hourly data: 11 kWh in each hour above 11 kW): 18:00 on
    # the 26th, whose window runs over the spring DST night to 07:00 CEST (12 real hours), and 12:00-14:00 on the 28th.
    sessions = sql("SELECT session_start, interval_count, energy_kwh, emissions_kg FROM gold.ev_sessions "
                   "WHERE model = 'average' AND basis = 'direct' ORDER BY session_start").collect()
    assert [(r.interval_count, r.energy_kwh) for r in sessions] == [(1, 11.0), (2, 22.0)]
    assert all(r.emissions_kg > 0 for r in sessions)
    shift = sql("SELECT model, window_hours, status, saved_kg, shifted_kg, actual_kg FROM gold.ev_shift_savings "
                "WHERE basis = 'direct' ORDER BY session_start, model").collect()
    assert {r.model for r in shift} == {"average", "merit_order", "worst_emitter"} and len(shift) == 6
    # 18:00 CET .. 07:00 CEST, and 12:00 .. midnight (the last intensity) on the 28th: 12 real hours each
    assert {(r.window_hours, r.status) for r in shift} == {(12.0, "complete"), (12.0, "no_following_morning")}
    assert all(r.saved_kg >= 0 and r.shifted_kg + r.saved_kg == pytest.approx(r.actual_kg) for r in shift)

    output = tmp_path / "models.png"
    cli = CliRunner().invoke(main, ["report", "--start", "2022-03-01", "--end", "2022-03-31", "--output", str(output)])
    assert cli.exit_code == 0, cli.output
    assert "2022-03" in cli.output and "merit_order" in cli.output and "no data for: locality" in cli.output
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    heatmap = tmp_path / "intensity_heatmap_2022-03_2022-03_direct.png"  # beside the chart, from gold.intensity_profile
    assert f"heat map (month x local hour per model): {heatmap}" in cli.output
    assert heatmap.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    answer = CliRunner().invoke(main, ["query", "SELECT model, avg(g_per_kwh) AS g FROM gold.grid_intensity GROUP BY model"])
    assert answer.exit_code == 0 and answer.output.splitlines()[0] == "model,g"
    assert len(answer.output.splitlines()) == 1 + 3


def test_locality_from_control_area_production_and_imported_redispatch(spark, fake_smard):
    """TenneT production from the (fake) API and the synthetic redispatch file: locality rows, some corrected."""

    from emission_assets.lakehouse.reservoir import Reservoir
    from emission_assets.redispatch.layout import import_redispatch_csv
    from emission_assets.settings import paths

    fixture = FIXTURES / "redispatch" / "redispatch_synthetic_2024-03-25_2024-04-03.csv"
    import_redispatch_csv([fixture], Reservoir(paths().reservoir))
    fake_smard.publish_weeks(date(2024, 3, 25), 1, region="TenneT")
    day = date(2024, 3, 26)
    selection = ["tag:source=smard", "tag:source=factors", "tag:source=redispatch", "key:gold/grid_intensity"]
    assert run_materialize(day, day, selection, {"regions": ["TenneT"]}).success

    rows = open_lakehouse().spark.sql(
        "SELECT determined_by, count(*) AS n, min(g_per_kwh) AS lo, max(g_per_kwh) AS hi FROM gold.grid_intensity "
        "WHERE model = 'locality' AND region = 'TenneT' AND basis = 'direct' GROUP BY determined_by").collect()
    by_kind = {r.determined_by: r for r in rows}
    assert sum(r.n for r in rows) == 96  # every quarter-hour of the day has a locality intensity
    assert "TenneT mix + redispatch" in by_kind  # the day's measures correct some intervals
    # the area's grid load came with the default fetch: every interval is balanced (the synthetic TenneT load is
    # below its synthetic generation: a net exporter keeps its own mix)
    assert not [kind for kind in by_kind if "no grid load" in kind or "net imports" in kind]
    assert all(0 < r.lo <= r.hi < 1500 for r in rows)
