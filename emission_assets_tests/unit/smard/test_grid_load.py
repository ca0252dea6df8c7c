"""SMARD grid load (filter 410): the default fetch per region against the fake SMARD API, and the silver transform
and checks of silver.grid_load on hand-built bronze rows."""
from __future__ import annotations

from datetime import date

import pytest

from emission_assets.lakehouse.registry import spec
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.settings import paths
from emission_assets.smard.assets import GRID_LOAD, evaluate_checks
from emission_assets.smard.catalog import GENERATION_FILTERS, GRID_LOAD_FILTER, default_filters
from emission_assets.smard.client import SmardClient, SmardRequestError
from emission_assets.smard.reservoir import fill
from emission_assets.smard.silver import grid_load_from_bronze
from emission_assets_tests.unit.smard.test_silver import DAY, DAY_START, HOUR, QUARTER, bronze

SPRING = date(2024, 3, 31)  # 23 local hours: 92 quarter-hours


def test_the_default_fetch_adds_the_grid_load_for_control_areas_only(fake_smard):
    fake_smard.publish_weeks(SPRING, 1, region="DE")
    fake_smard.publish_weeks(SPRING, 1, region="TenneT")
    with SmardClient(fake_smard.base_url, backoff_factor=0.01) as client:
        report = fill(client, Reservoir(paths().reservoir), SPRING, SPRING, regions=["DE", "TenneT"], filters=None,
                      resolution="quarterhour")
    fetched = sorted((f.meta["region"], f.meta["filter_id"]) for f in report.written)
    assert fetched == sorted([("DE", f) for f in GENERATION_FILTERS]
                             + [("TenneT", f) for f in (*GENERATION_FILTERS, GRID_LOAD_FILTER)])
    load = next(f for f in report.written if f.meta["filter_id"] == GRID_LOAD_FILTER)
    assert load.meta["url"].endswith(f"/chart_data/410/TenneT/410_TenneT_quarterhour_{load.meta['window_start_ms']}.json")
    assert load.meta["non_null_points"] == 7 * 96 - 4  # the DST week, as served
    assert default_filters("DE") == GENERATION_FILTERS
    assert default_filters("Amprion") == (*GENERATION_FILTERS, GRID_LOAD_FILTER)


def test_a_failing_load_window_fails_the_fill_naming_the_series(fake_smard):
    fake_smard.publish_weeks(SPRING, 1, region="TenneT")
    fake_smard.failures["/410/TenneT/index_quarterhour.json"] = 404
    with SmardClient(fake_smard.base_url, backoff_factor=0.01) as client, pytest.raises(
        SmardRequestError, match=r"filter 410 \(grid_load\), region TenneT, resolution quarterhour, index: .*HTTP 404"
    ):
        fill(client, Reservoir(paths().reservoir), SPRING, SPRING, regions=["TenneT"], filters=None,
             resolution="quarterhour")


def collect(df):
    return [(r.start_ms, r.end_ms, r.region, r.resolution, r.load_mwh, r.source_file, (r.year, r.month, r.day))
            for r in df.selectExpr("unix_millis(interval_start) AS start_ms", "unix_millis(interval_end) AS end_ms",
                                   "region", "resolution", "load_mwh", "source_file", "year", "month", "day")
            .orderBy("start_ms").collect()]


def test_grid_load_rows_take_only_filter_410_with_the_production_rules(spark):
    files = [
        ("load-old", 1, 410, "hour", [(DAY_START, 50_000.0), (DAY_START + HOUR, 51_000.0)]),
        ("load-new", 2, 410, "hour", [(DAY_START, 50_500.0), (DAY_START + HOUR, None)]),  # revised first hour
        ("lignite", 3, 1223, "hour", [(DAY_START, 9_000.0)]),  # production: not load
        ("residual", 3, 4359, "hour", [(DAY_START, 30_000.0)]),  # residual load: not fetched into silver
    ]
    rows = grid_load_from_bronze(bronze(spark, files), DAY, DAY)
    assert rows.columns == spec("silver.grid_load").column_names
    assert collect(rows) == [
        (DAY_START, DAY_START + HOUR, "DE", "hour", 50_500.0, "load-new", (2024, 3, 28)),
        (DAY_START + HOUR, DAY_START + 2 * HOUR, "DE", "hour", 51_000.0, "load-old", (2024, 3, 28)),  # null kept old
    ]


def test_finest_resolution_wins_and_the_checks_name_the_load_series(spark):
    quarters = [(DAY_START + q * QUARTER, 12_500.0) for q in range(95)]  # one quarter-hour short
    hourly = [(DAY_START + h * HOUR, 50_000.0) for h in range(24)]
    rows = grid_load_from_bronze(bronze(spark, [("q", 1, 410, "quarterhour", quarters),
                                                ("h", 2, 410, "hour", hourly)]), DAY, DAY)
    assert {r[3] for r in collect(rows)} == {"quarterhour"} and rows.count() == 95
    summary = [r.asDict() for r in GRID_LOAD.summary(rows).collect()]
    assert [(r["region"], r["intervals"], r["negatives"]) for r in summary] == [("DE", 95, 0)]
    results = {r.check_name: r for r in evaluate_checks(summary, DAY, DAY, GRID_LOAD)}
    assert results["non_negative_energy"].passed and results["no_duplicate_intervals"].passed
    assert not results["complete_days"].passed
    assert results["complete_days"].metadata["incomplete"].value == "- 2024-03-28 DE grid_load: 95/96 quarterhour"
    assert results["complete_days"].metadata["absent_types"].value == "none"

