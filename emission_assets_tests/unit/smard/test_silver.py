"""Pure SMARD transforms on small hand-built bronze frames (reservoir file rows typed by the bronze parse)."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

from pyspark.sql import functions as F

from emission_assets.smard.assets import evaluate_checks
from emission_assets.smard.bronze import FILE_ROW_SCHEMA, typed_responses
from emission_assets.smard.silver import lookup, production_from_bronze, quality_summary

UTC = timezone.utc
HOUR = 3_600_000
QUARTER = 900_000
# Local day 2024-03-28 (CET, +01:00) starts at 2024-03-27T23:00Z.
DAY = date(2024, 3, 28)
DAY_START = int(datetime(2024, 3, 27, 23, tzinfo=UTC).timestamp() * 1000)


def bronze(spark, files):
    """files: (name, fetched_at hour-of-2024-04-01, filter_id, resolution, [(epoch_ms, value)])."""
    rows = [
        (name, "sha", "api", "url", datetime(2024, 4, 1, fetched, tzinfo=UTC), datetime(2024, 4, 2, tzinfo=UTC), "run",
         filter_id, "DE", resolution, datetime(2024, 3, 24, 23, tzinfo=UTC),
         json.dumps({"meta_data": {"version": 1, "created": 0}, "series": [[t, v] for t, v in points]}),
         date(2024, 3, 25))
        for name, fetched, filter_id, resolution, points in files
    ]
    return typed_responses(spark.createDataFrame(rows, FILE_ROW_SCHEMA))


def collect(df):
    return sorted(
        (r.start_ms, r.production_type, r.resolution, r.energy_mwh, r.power_mw, r.source_file, (r.year, r.month, r.day))
        for r in df.selectExpr(
            "unix_millis(interval_start) AS start_ms", "production_type", "resolution", "energy_mwh", "power_mw",
            "source_file", "year", "month", "day",
        ).collect()
    )


def test_latest_download_wins_and_nulls_do_not_erase_values(spark):
    old = [(DAY_START, 1.0), (DAY_START + HOUR, 2.0), (DAY_START + 2 * HOUR, 3.0)]
    new = [(DAY_START, 10.0), (DAY_START + HOUR, None)]
    out = collect(production_from_bronze(
        bronze(spark, [("old", 1, 1223, "hour", old), ("new", 2, 1223, "hour", new)]), DAY, DAY
    ))
    assert [(r[0], r[3], r[5]) for r in out] == [
        (DAY_START, 10.0, "new"),
        (DAY_START + HOUR, 2.0, "old"),  # null in the newer download: the published value stays
        (DAY_START + 2 * HOUR, 3.0, "old"),
    ]


def test_intervals_belong_to_their_local_day_and_range_is_respected(spark):
    points = [(DAY_START - HOUR, 5.0), (DAY_START, 6.0), (DAY_START + 24 * HOUR - HOUR, 7.0), (DAY_START + 24 * HOUR, 8.0)]
    out = collect(production_from_bronze(bronze(spark, [("f", 1, 4068, "hour", points)]), DAY, DAY))
    assert [(r[0], r[6]) for r in out] == [(DAY_START, (2024, 3, 28)), (DAY_START + 23 * HOUR, (2024, 3, 28))]
    assert {r[1] for r in out} == {"photovoltaics"}


def test_finest_resolution_wins_per_day_and_type(spark):
    hourly = [(DAY_START + h * HOUR, 40.0) for h in range(48)]  # two local days
    quarter = [(DAY_START + q * QUARTER, 10.0) for q in range(96)]  # only the first day
    out = collect(production_from_bronze(
        bronze(spark, [("h", 3, 1223, "hour", hourly), ("q", 1, 1223, "quarterhour", quarter)]), DAY, date(2024, 3, 29)
    ))
    first_day = [r for r in out if r[6] == (2024, 3, 28)]
    second_day = [r for r in out if r[6] == (2024, 3, 29)]
    assert {r[2] for r in first_day} == {"quarterhour"} and len(first_day) == 96
    assert {r[2] for r in second_day} == {"hour"} and len(second_day) == 24
    assert all(r[4] == 40.0 for r in first_day)  # 10 MWh per quarter-hour = 40 MW
    assert all(r[4] == 40.0 for r in second_day)
    assert sum(r[3] for r in first_day) == sum(r[3] for r in second_day) == 960.0


def test_per_interval_the_newest_download_of_the_finest_resolution_wins_ties_by_file_name(spark):
    quarters = lambda value: [(DAY_START + q * QUARTER, value) for q in range(8)]  # noqa: E731
    files = [("q-old", 1, 1223, "quarterhour", quarters(1.0)), ("q-new-a", 2, 1223, "quarterhour", quarters(2.0)),
             ("q-new-b", 2, 1223, "quarterhour", quarters(3.0)[:4]),  # same fetch time: the later name wins
             ("h-newest", 5, 1223, "hour", [(DAY_START, 99.0)])]  # coarser: loses although downloaded last
    out = collect(production_from_bronze(bronze(spark, files), DAY, DAY))
    assert [(r[0], r[3], r[5]) for r in out] == (
        [(DAY_START + q * QUARTER, 3.0, "q-new-b") for q in range(4)]
        + [(DAY_START + q * QUARTER, 2.0, "q-new-a") for q in range(4, 8)]
    )


def test_load_series_are_not_production(spark):
    out = production_from_bronze(bronze(spark, [("l", 1, 410, "hour", [(DAY_START, 50_000.0)])]), DAY, DAY)
    assert out.count() == 0


def test_quality_summary_and_checks(spark):
    points = [(DAY_START + h * HOUR, -1.0 if h == 3 else 1.0) for h in range(23)]  # one hour short, one negative
    production = production_from_bronze(bronze(spark, [("f", 1, 1223, "hour", points)]), DAY, DAY)
    summary = [{k: v for k, v in r.asDict().items() if k not in ("first_start", "last_end")}
               for r in quality_summary(production).collect()]
    assert summary == [{"year": 2024, "month": 3, "day": 28, "region": "DE", "production_type": "lignite",
                        "resolution": "hour", "intervals": 23, "duplicates": 0, "negatives": 1}]
    results = {r.check_name: r for r in evaluate_checks(summary, DAY, date(2024, 3, 29))}
    assert results["no_duplicate_intervals"].passed
    assert not results["non_negative_energy"].passed
    assert results["non_negative_energy"].metadata["negative"].value == "- 2024-03-28 DE lignite hour: 1 negative values"
    assert results["no_duplicate_intervals"].metadata["duplicated"].value == "none"
    complete = results["complete_days"]
    assert not complete.passed
    assert "2024-03-28 DE lignite: 23/24 hour" in complete.metadata["incomplete"].value
    assert "2024-03-29" in complete.metadata["days_without_data"].value
    assert "nuclear" in complete.metadata["absent_types"].value


def test_duplicates_are_counted(spark):
    df = spark.createDataFrame(
        [(2024, 3, 28, "DE", "lignite", "hour", datetime(2024, 3, 28, tzinfo=UTC),
          datetime(2024, 3, 28, 1, tzinfo=UTC), 1.0)] * 2,
        "year int, month int, day int, region string, production_type string, resolution string, "
        "interval_start timestamp, interval_end timestamp, energy_mwh double",
    )
    assert quality_summary(df).collect()[0]["duplicates"] == 1


def test_a_dst_days_range_keeps_exactly_its_local_intervals(spark):
    # 2024-03-31 (CET -> CEST) has 23 local hours: 2024-03-30T23:00Z .. 2024-03-31T22:00Z.
    start = int(datetime(2024, 3, 30, 23, tzinfo=UTC).timestamp() * 1000)
    points = [(start + h * HOUR, float(h)) for h in range(-1, 24)]  # an hour before and after the local day
    out = collect(production_from_bronze(bronze(spark, [("f", 1, 4068, "hour", points)]), date(2024, 3, 31),
                                         date(2024, 3, 31)))
    assert [r[0] for r in out] == [start + h * HOUR for h in range(23)]
    assert {r[6] for r in out} == {(2024, 3, 31)}


def test_lookup_maps_known_keys_and_gives_null_for_others(spark):
    frame = spark.createDataFrame([(1,), (2,), (3,), (None,)], "k int")
    got = frame.select("k", lookup({1: "one", 2: "two"}, F.col("k")).alias("v")).collect()
    assert sorted((r.k or 0, r.v) for r in got) == [(0, None), (1, "one"), (2, "two"), (3, None)]
    assert frame.select(lookup({}, F.col("k")).alias("v")).where("v IS NOT NULL").count() == 0
