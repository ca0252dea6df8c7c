"""The forecast catalog, the recorded fixture and the pure silver transform on small hand-built bronze frames."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from emission_assets.errors import UserInputError
from emission_assets.smard.windows import parse_window
from emission_assets.smard_forecast import catalog
from emission_assets.smard_forecast.bronze import FILE_ROW_SCHEMA, typed_responses
from emission_assets.smard_forecast.silver import COLUMNS, forecast_from_bronze, unparsed_forecast_payloads
from emission_assets_tests.support.forecast_fixture import TREE, build_tree, export_points

UTC = timezone.utc
QUARTER = 900_000
DAY = date(2024, 3, 28)  # local day, CET: starts 2024-03-27T23:00Z
DAY_START = int(datetime(2024, 3, 27, 23, tzinfo=UTC).timestamp() * 1000)


def test_the_catalog_has_the_interface_names_and_kinds():
    assert {s.filter_id: (s.name, s.kind) for s in catalog.SERIES} == {
        123: ("wind_onshore", "generation"), 3791: ("wind_offshore", "generation"),
        125: ("photovoltaics", "generation"), 715: ("other", "generation"),
        5097: ("wind_and_photovoltaics", "generation"), 122: ("generation_total", "generation"),
        411: ("grid_load", "load"), 4362: ("residual_load", "load")}
    assert not set(catalog.DEFAULT_FILTERS) & set(catalog.UNVERIFIED_FILTERS)
    with pytest.raises(UserInputError, match=r"unknown SMARD forecast filter 4068; known: 123 \(wind_onshore\)"):
        catalog.series(4068)  # a realised series is no forecast


def test_the_recorded_tree_is_built_from_the_exports_and_has_the_api_shape(tmp_path):
    assert build_tree(tmp_path) == 8
    built = sorted(p.relative_to(tmp_path / "chart_data") for p in (tmp_path / "chart_data").rglob("*.json"))
    assert built == sorted(p.relative_to(TREE) for p in TREE.rglob("*.json"))
    for path in built:
        assert (tmp_path / "chart_data" / path).read_bytes() == (TREE / path).read_bytes(), path
    windows = [p for p in TREE.rglob("*.json") if not p.name.startswith("index_")]
    values = {}
    for window in windows:
        points = parse_window(window.read_bytes(), window.name)  # SMARD's shape, as the client validates it
        assert len(points) == 7 * 96  # a whole week of quarter-hours (no DST switch in these weeks)
        values.setdefault(int(window.name.split("_")[0]), []).extend((t, v) for t, v in points if v is not None)
    assert {f: sorted(v) for f, v in values.items()} == {f: sorted(p) for f, p in export_points().items()}
    assert {f: len(v) for f, v in values.items()} == {3791: 288, 123: 288, 125: 288, 411: 288}


def bronze(spark, files):
    """Typed forecast bronze rows of files: (name, fetched hour of 2024-04-01, filter_id, payload dict or raw text)."""
    rows = [
        (name, "sha", "api", "url", datetime(2024, 4, 1, fetched, tzinfo=UTC), datetime(2024, 4, 2, tzinfo=UTC), "run",
         filter_id, "DE", "quarterhour", datetime(2024, 3, 24, 23, tzinfo=UTC),
         payload if isinstance(payload, str) else json.dumps(payload), date(2024, 3, 25))
        for name, fetched, filter_id, payload in files
    ]
    return typed_responses(spark.createDataFrame(rows, FILE_ROW_SCHEMA))  # as the bronze step types them


def window(points):
    return {"meta_data": {"version": 1, "created": 0}, "series": [[t, v] for t, v in points]}


def test_silver_takes_the_latest_download_names_series_and_kind_and_keeps_a_negative_residual_load(spark):
    frame = bronze(spark, [
        ("411_old", 1, 411, window([(DAY_START, 10_000.0), (DAY_START + QUARTER, 10_100.0)])),
        ("411_new", 2, 411, window([(DAY_START, 10_050.0), (DAY_START + QUARTER, None)])),  # null: not republished
        ("4362", 1, 4362, window([(DAY_START, -1_250.5)])),
    ])

    rows = forecast_from_bronze(frame, DAY, DAY)

    assert tuple(rows.columns) == COLUMNS
    got = sorted((r.series, r.kind, r.filter_id, r.energy_mwh, r.power_mw, r.source_file, (r.year, r.month, r.day))
                 for r in rows.collect())
    assert got == [
        ("grid_load", "load", 411, 10_050.0, 40_200.0, "411_new", (2024, 3, 28)),  # latest download of the interval
        ("grid_load", "load", 411, 10_100.0, 40_400.0, "411_old", (2024, 3, 28)),  # the newer file has no value here
        ("residual_load", "load", 4362, -1_250.5, -5_002.0, "4362", (2024, 3, 28)),
    ]


def test_files_silver_cannot_take_whole_are_named_with_the_reason(spark):
    frame = bronze(spark, [
        ("good", 1, 411, window([(DAY_START, 1.0), (DAY_START + QUARTER, None)])),
        ("comma", 1, 411, window([(DAY_START, "12,5"), (DAY_START + QUARTER, True)])),
        ("object", 1, 123, window([(DAY_START, {"value": 3})])),
        ("renamed", 1, 123, {"meta_data": {}, "values": []}),
        ("html", 1, 123, "<html>Wartungsarbeiten</html>"),
    ])

    found = {r.file_name: r.reason for r in unparsed_forecast_payloads(frame).collect()}

    assert set(found) == {"comma", "object", "renamed", "html"}
    assert found["comma"] == "a series value is not a number or null (2 value(s), e.g. 12,5)"
    assert found["object"].startswith("a series value is not a number or null (1 value(s)")
    assert "no 'series' list" in found["renamed"] and "no 'series' list" in found["html"]


def test_the_recorded_forecasts_can_be_written_to_silver_without_dagster(spark):
    from emission_assets.lakehouse.session import open_lakehouse
    from emission_assets_tests.support.forecast_fixture import write_recorded_silver

    lakehouse = open_lakehouse()
    assert write_recorded_silver(lakehouse) == 4 * 288
    rows = lakehouse.spark.sql(
        "SELECT filter_id, unix_millis(interval_start) AS t, energy_mwh FROM silver.grid_forecast").collect()
    assert sorted((r.filter_id, r.t, r.energy_mwh) for r in rows) == sorted(
        (f, t, v) for f, points in export_points().items() for t, v in points)
