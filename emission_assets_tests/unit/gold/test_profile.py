"""gold.intensity_profile: hand-computed cells (time weights, day types in local time, ranks with ties, NULL
intensities), both DST nights, the month-by-month write, the coverage findings and the Dagster asset with its check
and heat-map metadata."""
from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta

from dagster import AssetCheckSeverity, materialize

from emission_assets.gold.profile import (
    coverage_findings,
    extreme_hours,
    local_hour_seconds,
    profile_rows_sql,
    write_intensity_profile,
)
from emission_assets.lakehouse.registry import spec
from emission_assets_tests.support.silver_rows import BERLIN

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def write_intensity(spark, writer, rows) -> None:
    """rows: (interval_start UTC, minutes, model, basis, g_per_kwh[, region]) -> gold.grid_intensity, in the local
    months of the starts (as the gold asset partitions them)."""
    data = []
    for start, minutes, model, basis, g, *region in rows:
        local = start.astimezone(BERLIN)
        data.append((start, start + timedelta(minutes=minutes), region[0] if region else "DE", model, basis, g,
                     "test", 1.0, "hour" if minutes == 60 else "quarterhour", local.year, local.month))
    frame = spark.createDataFrame(data, spec("gold.grid_intensity").ddl)
    writer.replace_months("gold.grid_intensity", frame, sorted({(r[-2], r[-1]) for r in data}))


def hours_of_day(day: date, g) -> list[tuple]:
    """Every hourly interval of a local day (23, 24 or 25), average/direct, g_per_kwh = g(index, local hour)."""
    start = datetime(day.year, day.month, day.day, tzinfo=BERLIN).astimezone(UTC)
    end = (datetime(day.year, day.month, day.day, tzinfo=BERLIN) + timedelta(days=1)).astimezone(UTC)
    rows, moment = [], start
    while moment < end:
        rows.append((moment, 60, "average", "direct", g(len(rows), moment.astimezone(BERLIN).hour)))
        moment += timedelta(hours=1)
    return rows


def cells(spark, registry, where: str = "model = 'average' AND basis = 'direct'") -> dict[tuple, tuple]:
    """(day_type, hour) -> (g_per_kwh, min, max, interval_count, cleanest_rank) of the profile SQL's rows."""
    rows = spark.sql(f"SELECT * FROM ({profile_rows_sql(registry)}) p WHERE {where}").collect()
    return {(r.day_type, r.hour_local): (r.g_per_kwh, r.min_g_per_kwh, r.max_g_per_kwh, r.interval_count,
                                         r.cleanest_rank) for r in rows}


# --- the cells -------------------------------------------------------------------------------------------------------

def test_cells_are_time_weighted_per_local_day_type_and_hour_with_ranks(spark, registry, writer):
    write_intensity(spark, writer, [
        # weekday 10h: Wed an hour at 100, Thu four quarter-hours 200, 200, 200, 600, Fri an hour without intensity
        (utc(2024, 1, 10, 9), 60, "average", "direct", 100.0),
        *[(utc(2024, 1, 11, 9, q * 15), 15, "average", "direct", g) for q, g in enumerate((200.0, 200.0, 200.0, 600.0))],
        (utc(2024, 1, 12, 9), 60, "average", "direct", None),
        (utc(2024, 1, 10, 10), 60, "average", "direct", 150.0),  # weekday 11h
        # Sunday 23:00 UTC is Monday 00:00 in Berlin (a weekday); Friday 23:00 UTC is Saturday 00:00 (weekend)
        (utc(2024, 1, 14, 23), 60, "average", "direct", 70.0),
        (utc(2024, 1, 12, 23), 60, "average", "direct", 80.0),
        # weekend 10h: Sat 300, Sun 500; 11h: 400 (a tie with 10h); 12h: 50
        (utc(2024, 1, 13, 9), 60, "average", "direct", 300.0),
        (utc(2024, 1, 14, 9), 60, "average", "direct", 500.0),
        (utc(2024, 1, 13, 10), 60, "average", "direct", 400.0),
        (utc(2024, 1, 13, 11), 60, "average", "direct", 50.0),
        # another model and basis: ranked on their own
        (utc(2024, 1, 10, 9), 60, "merit_order", "direct", 900.0),
        (utc(2024, 1, 10, 10), 60, "merit_order", "direct", 800.0),
        (utc(2024, 1, 10, 9), 60, "average", "lifecycle", 999.0),
    ])

    # weekday 10h: (100 x 3600 + (200 + 200 + 200 + 600) x 900) / 7200 = 200 (unweighted: 260); the NULL hour is out
    assert cells(spark, registry) == {
        ("weekday", 0): (70.0, 70.0, 70.0, 1, 1),
        ("weekday", 10): (200.0, 100.0, 600.0, 5, 3),
        ("weekday", 11): (150.0, 150.0, 150.0, 1, 2),
        ("weekend", 0): (80.0, 80.0, 80.0, 1, 2),
        ("weekend", 10): (400.0, 300.0, 500.0, 2, 3),  # tied with 11h: both rank 3
        ("weekend", 11): (400.0, 400.0, 400.0, 1, 3),
        ("weekend", 12): (50.0, 50.0, 50.0, 1, 1),
    }
    assert cells(spark, registry, "model = 'merit_order'") == {
        ("weekday", 10): (900.0, 900.0, 900.0, 1, 2), ("weekday", 11): (800.0, 800.0, 800.0, 1, 1)}
    assert cells(spark, registry, "basis = 'lifecycle'") == {("weekday", 10): (999.0, 999.0, 999.0, 1, 1)}
    columns = spark.sql(profile_rows_sql(registry)).columns
    assert columns == spec("gold.intensity_profile").column_names
    assert {(r.year, r.month) for r in spark.sql(profile_rows_sql(registry)).collect()} == {(2024, 1)}


def test_the_23_hour_spring_day_has_no_hour_2(spark, registry, writer):
    spring = date(2022, 3, 27)  # a Sunday: 02:00 CET jumps to 03:00 CEST
    write_intensity(spark, writer, hours_of_day(spring, lambda index, hour: 10.0 * hour + 5))

    found = cells(spark, registry)

    assert len(hours_of_day(spring, lambda i, h: 0)) == 23
    assert sorted(found) == [("weekend", h) for h in (0, 1, *range(3, 24))]
    assert found[("weekend", 1)] == (15.0, 15.0, 15.0, 1, 2)
    assert found[("weekend", 3)] == (35.0, 35.0, 35.0, 1, 3)  # ranked right after hour 1: there is no hour 2
    assert local_hour_seconds(spring) == {h: 3600 for h in (0, 1, *range(3, 24))}


def test_the_25_hour_autumn_day_counts_both_intervals_in_hour_2(spark, registry, writer):
    autumn = date(2022, 10, 30)  # a Sunday: 03:00 CEST goes back to 02:00 CET
    # index 2 is 00:00 UTC (02:00 CEST), index 3 is 01:00 UTC (02:00 CET)
    write_intensity(spark, writer, hours_of_day(autumn, lambda index, hour: {2: 100.0, 3: 300.0}.get(index, 500.0)))

    found = cells(spark, registry)

    assert len(found) == 24 and sum(cell[3] for cell in found.values()) == 25
    assert found[("weekend", 2)] == (200.0, 100.0, 300.0, 2, 1)
    assert found[("weekend", 3)] == (500.0, 500.0, 500.0, 1, 2)
    assert local_hour_seconds(autumn)[2] == 7200 and sum(local_hour_seconds(autumn).values()) == 25 * 3600


# --- the table -------------------------------------------------------------------------------------------------------

def test_writing_months_replaces_exactly_them_and_is_idempotent(spark, registry, writer):
    write_intensity(spark, writer, [(utc(2024, 1, 10, 9), 60, "average", "direct", 100.0),
                                    (utc(2024, 2, 7, 9), 60, "average", "direct", 200.0)])
    assert write_intensity_profile(spark, registry, [(2024, 1), (2024, 2)]) == 2

    write_intensity(spark, writer, [(utc(2024, 1, 10, 9), 60, "average", "direct", 300.0)])
    assert write_intensity_profile(spark, registry, [(2024, 1)]) == 1
    assert write_intensity_profile(spark, registry, [(2024, 1)]) == 1  # again: the same rows

    rows = spark.sql("SELECT year, month, day_type, hour_local, g_per_kwh FROM gold.intensity_profile "
                     "ORDER BY month").collect()
    assert [tuple(r) for r in rows] == [(2024, 1, "weekday", 10, 300.0), (2024, 2, "weekday", 10, 200.0)]
    assert write_intensity_profile(spark, registry, [(2024, 3)]) == 0  # no grid intensity: no rows, no error


def test_extreme_hours_name_each_model_s_cleanest_and_dirtiest_hour(spark, registry, writer):
    write_intensity(spark, writer, [
        *hours_of_day(date(2024, 1, 10), lambda index, hour: 100.0 + abs(hour - 13) * 10),  # cleanest 13h, dirtiest 0h
        *[(start, 60, "worst_emitter", "direct", 1040.0) for start, *_ in hours_of_day(date(2024, 1, 10), lambda i, h: 0)],
    ])
    write_intensity_profile(spark, registry, [(2024, 1)])

    found = extreme_hours(spark, registry, [(2024, 1)], {"average": "DE", "worst_emitter": "DE", "locality": "TenneT"},
                          "direct")

    assert found == [
        {"model": "average", "region": "DE", "basis": "direct", "cleanest_hour": 13, "cleanest_g_per_kwh": 100.0,
         "dirtiest_hour": 0, "dirtiest_g_per_kwh": 230.0, "all_hours_equal": False},
        {"model": "worst_emitter", "region": "DE", "basis": "direct", "cleanest_hour": 0, "cleanest_g_per_kwh": 1040.0,
         "dirtiest_hour": 23, "dirtiest_g_per_kwh": 1040.0, "all_hours_equal": True},
    ]  # no locality rows for TenneT: no entry (the callers name it as missing)


# --- coverage --------------------------------------------------------------------------------------------------------

def test_coverage_names_missing_hours_days_and_empty_cells(spark, registry, writer):
    rows = []
    for day in (date(2024, 1, 10), date(2024, 1, 11), date(2024, 1, 12), date(2024, 1, 14)):  # Saturday 13th missing
        rows += [r for r in hours_of_day(day, lambda index, hour: 100.0)
                 if (day, r[0].astimezone(BERLIN).hour) not in {(date(2024, 1, 11), 14), (date(2024, 1, 14), 20)}]
    rows = [r if r[0] != utc(2024, 1, 12, 14) else (*r[:4], None) for r in rows]  # Friday 15h: NULL intensity
    write_intensity(spark, writer, rows)
    write_intensity_profile(spark, registry, [(2024, 1)])

    found = coverage_findings(spark, registry, [(2024, 1)])

    assert not found.complete
    assert (found.series, found.days, found.missing_hours, found.missing_seconds) == (1, 5, 1 + 1 + 24 + 1, 27 * 3600)
    assert found.missing == [
        "2024-01-11 DE average/direct: 14h (0 of 3600 s)",
        "2024-01-12 DE average/direct: 15h (0 of 3600 s)",
        "2024-01-13 DE average/direct: no intervals (all 24 hours)",
        "2024-01-14 DE average/direct: 20h (0 of 3600 s)",
    ]
    # weekend 20h has no interval on either weekend day of the span; weekday 14h and 15h have other days
    assert (found.empty_cells, found.empty) == (1, ["2024-01 weekend 20h DE average/direct"])
    assert found.spans == ["2024-01: days 10..14 of 31"]
    assert spark.sql("SELECT count(*) FROM gold.intensity_profile WHERE day_type = 'weekend' AND hour_local = 20"
                     ).collect()[0][0] == 0  # the empty cell is absent, not a zero


def test_coverage_of_complete_dst_days_and_of_a_lost_repeated_hour(spark, registry, writer):
    spring, autumn = date(2022, 3, 27), date(2022, 10, 30)
    write_intensity(spark, writer, hours_of_day(spring, lambda i, h: 1.0) + hours_of_day(autumn, lambda i, h: 1.0))
    write_intensity_profile(spark, registry, [(2022, 3), (2022, 10)])
    complete = coverage_findings(spark, registry, [(2022, 3), (2022, 10)])
    assert complete.complete and (complete.series, complete.days, complete.missing) == (2, 2, [])
    assert complete.spans == ["2022-03: days 27..27 of 31", "2022-10: days 30..30 of 31"]

    write_intensity(spark, writer, [r for i, r in enumerate(hours_of_day(autumn, lambda i, h: 1.0)) if i != 3])
    lost = coverage_findings(spark, registry, [(2022, 10)])
    assert (lost.missing_hours, lost.missing_seconds, lost.empty_cells) == (1, 3600, 0)
    assert lost.missing == ["2022-10-30 DE average/direct: 02h (3600 of 7200 s)"]


# --- the asset -------------------------------------------------------------------------------------------------------

def materialize_profile(partition: str):
    from emission_assets.gold.profile_assets import intensity_profile_asset
    from emission_assets.orchestration.resources import SparkResource

    return materialize([intensity_profile_asset], partition_key=partition, resources={"spark": SparkResource()},
                       raise_on_error=False)


def test_the_asset_writes_its_month_with_the_heat_map_and_warns_about_missing_hours(spark):
    from emission_assets.lakehouse.session import open_lakehouse
    from emission_assets.settings import emission_home

    lakehouse = open_lakehouse()
    rows = hours_of_day(date(2024, 1, 10), lambda index, hour: 100.0 + abs(hour - 13) * 10)
    write_intensity(spark, lakehouse.writer, [r for r in rows if r[0] != utc(2024, 1, 10, 20)])  # 21h missing

    result = materialize_profile("2024-01-01")

    assert result.success  # the check warns, it does not block
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "every_hour_has_intervals" and not check.passed
    assert check.severity == AssetCheckSeverity.WARN
    assert check.metadata["missing_hours"].value == 1 and check.metadata["empty_cells"].value == 1
    assert "2024-01-10 DE average/direct: 21h (0 of 3600 s)" in check.metadata["missing"].value
    assert "2024-01 weekday 21h DE average/direct" in check.metadata["empty"].value
    (event,) = result.get_asset_materialization_events()
    metadata = event.event_specific_data.materialization.metadata
    assert metadata["dagster/row_count"].value == 23 and metadata["months"].value == 1
    png = emission_home() / "reports" / "intensity_heatmap_2024-01_2024-01_direct.png"
    assert metadata["heatmap_png"].value == str(png)
    embedded = metadata["heatmap"].value.split("base64,", 1)[1].rstrip(")")
    assert base64.b64decode(embedded) == png.read_bytes() and png.read_bytes()[:8] == PNG_SIGNATURE
    assert "heatmap_lifecycle" not in metadata  # no lifecycle rows: no lifecycle heat map
    assert "| average | DE | direct | 13h | 100 | 00h | 230 |" in metadata["cleanest_and_dirtiest_hours"].value
    assert spark.sql("SELECT count(*) FROM gold.intensity_profile").collect()[0][0] == 23


def test_the_asset_on_a_month_without_grid_intensity_writes_nothing_and_passes(spark):
    result = materialize_profile("2024-02-01")

    assert result.success
    (check,) = result.get_asset_check_evaluations()
    assert check.passed and check.metadata["series"].value == 0
    (event,) = result.get_asset_materialization_events()
    metadata = event.event_specific_data.materialization.metadata
    assert metadata["dagster/row_count"].value == 0 and "heatmap" not in metadata


def test_the_table_is_registered_partitioned_by_the_local_month(spark, registry):
    table = spec("gold.intensity_profile")
    assert table.partition_by == ("year", "month")
    assert spark.table("gold.intensity_profile").columns == table.column_names


def test_a_one_month_run_shows_the_heat_map_and_extremes_of_its_whole_year(spark):
    """The update of one month (March) keeps the year in the metadata: the heat map spans January to March (the
    months of the year the table holds) and the extremes are over both months, not the run's month alone."""
    from emission_assets.lakehouse.session import open_lakehouse
    from emission_assets.settings import emission_home

    lakehouse = open_lakehouse()
    write_intensity(spark, lakehouse.writer, hours_of_day(date(2024, 1, 10), lambda index, hour: 50.0 + hour))
    assert materialize_profile("2024-01-01").success
    write_intensity(spark, lakehouse.writer, hours_of_day(date(2024, 3, 12), lambda index, hour: 300.0 + (hour - 5) ** 2))

    result = materialize_profile("2024-03-01")

    assert result.success
    (event,) = result.get_asset_materialization_events()
    metadata = event.event_specific_data.materialization.metadata
    assert metadata["dagster/row_count"].value == 24 and metadata["first_month"].value == "2024-03..2024-03"
    png = emission_home() / "reports" / "intensity_heatmap_2024-01_2024-03_direct.png"
    assert metadata["heatmap_png"].value == str(png)
    assert base64.b64decode(metadata["heatmap"].value.split("base64,", 1)[1].rstrip(")")) == png.read_bytes()
    # hour h over both months: (50 + h + 300 + (h - 5) ** 2) / 2, lowest at 04h and 05h (177.5; the earlier hour
    # wins), highest at 23h (348.5); March alone would give 05h at 300
    assert "| average | DE | direct | 04h | 178 | 23h | 348 |" in metadata["cleanest_and_dirtiest_hours"].value
