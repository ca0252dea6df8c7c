"""Run the pure silver transforms (SMARD production, Tibber consumption) on classic local JVM Spark and print the results as JSON.

Used by ``test_conformance.py`` in a subprocess (a Spark Connect client session and a classic JVM session in one
Python process can interfere). The bronze input and the result normalisation live here so the test and this
runner use exactly the same code on both engines:

    python -m emission_assets_tests.support.classic_spark_runner

The last stdout line starting with ``RESULT_MARKER`` holds the JSON ``{"engine": ..., "production": [...],
"quality": [...]}``; everything else (Spark's own chatter) goes to stderr or can be ignored.
"""
from __future__ import annotations

import hashlib
import json
import sys
from datetime import date, datetime, timedelta, timezone

from emission_assets.smard.bronze import FILE_ROW_SCHEMA
from emission_assets.smard.bronze import typed_responses as typed_smard
from emission_assets.smard.silver import production_from_bronze, quality_summary
from emission_assets.smard.windows import build_window
from emission_assets.tibber.bronze import FILE_ROW_SCHEMA as TIBBER_FILE_ROW_SCHEMA
from emission_assets.tibber.bronze import typed_responses as typed_tibber
from emission_assets.tibber.silver import consumption_from_bronze
from emission_assets.timeutil import BERLIN, RESOLUTION_STEP, local_date_of_ms, to_epoch_ms

UTC = timezone.utc
RESULT_MARKER = "CLASSIC_SPARK_RESULT "

FIRST_DAY = date(2024, 3, 28)
LAST_DAY = date(2024, 3, 31)  # spring DST in Europe/Berlin: 23 hours, 92 quarter-hours

LIGNITE, PHOTOVOLTAICS, GRID_LOAD = 1223, 4068, 410
REGION = "DE"
# The SMARD week window containing 2024-03-31: Monday 2024-03-25 00:00 CET = 2024-03-24T23:00Z, up to
# Monday 2024-04-01 00:00 CEST = 2024-03-31T22:00Z (167 hours, 668 quarter-hours).
WEEK_START = datetime(2024, 3, 24, 23, 0, tzinfo=UTC)
WEEK_END = datetime(2024, 3, 31, 22, 0, tzinfo=UTC)
PREVIOUS_WEEK_START = datetime(2024, 3, 17, 23, 0, tzinfo=UTC)

# Downloads (fetched_at). The hourly lignite CSV import is the most recent file, yet quarter-hours must win.
LIGNITE_QH_FIRST = datetime(2024, 3, 30, 6, 0, tzinfo=UTC)  # published up to 03-30T05:00Z, later slots null
LIGNITE_QH_REDOWNLOAD = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)  # revised values (+0.5 MWh)
LIGNITE_HOUR = datetime(2024, 4, 2, 0, 0, tzinfo=UTC)
PV_QH = datetime(2024, 4, 1, 9, 0, 30, 123000, tzinfo=UTC)  # all of local 2024-03-28 null (not reported)
PV_HOUR = datetime(2024, 4, 1, 10, 0, tzinfo=UTC)
LOAD_QH = datetime(2024, 4, 1, 9, 1, tzinfo=UTC)  # a load series: not a generation filter, must be ignored
PREVIOUS_WEEK_QH = datetime(2024, 3, 25, 8, 0, tzinfo=UTC)  # outside the requested days
INGESTED_AT = datetime(2024, 4, 2, 12, 0, tzinfo=UTC)

LIGNITE_REVISION = 0.5
# Lignite quarter-hour slots null in the first download (a gap on 03-28) ...
LIGNITE_FIRST_GAP = {datetime(2024, 3, 28, 10, 0, tzinfo=UTC) + timedelta(minutes=15 * k) for k in range(4)}
# ... and null in the re-download (03-29), where the first download's value must survive.
LIGNITE_REDOWNLOAD_GAP = {datetime(2024, 3, 29, 12, 0, tzinfo=UTC), datetime(2024, 3, 29, 12, 15, tzinfo=UTC)}
# The one negative value (own consumption exceeding generation), in both lignite downloads.
LIGNITE_NEGATIVE_AT = datetime(2024, 3, 29, 2, 0, tzinfo=UTC)


def slots(start: datetime, end: datetime, resolution: str) -> list[datetime]:
    step = RESOLUTION_STEP[resolution]
    out, moment = [], start
    while moment < end:
        out.append(moment)
        moment += step
    return out


def lignite_value(moment: datetime, resolution: str) -> float:
    """Deterministic MWh with non-trivial binary fractions (so doubles are really compared)."""
    minutes = int((moment - WEEK_START).total_seconds() // 60)
    base = 2000.0 + (minutes * 37 % 1009) * 0.1 + (minutes % 7) * 0.01
    if moment == LIGNITE_NEGATIVE_AT:
        return -12.3
    return round(base * (4 if resolution == "hour" else 1), 3)


def pv_value(moment: datetime, resolution: str) -> float:
    local_hour = moment.astimezone(BERLIN).hour
    if local_hour < 6 or local_hour >= 19:
        return 0.0
    value = 150.0 + (local_hour - 6) * (19 - local_hour) * 41.7 + moment.minute * 0.3
    return round(value * (4 if resolution == "hour" else 1), 2)


def _file_row(filter_id: int, resolution: str, window_start: datetime, points, fetched_at: datetime) -> tuple:
    """One reservoir file row (FILE_ROW_SCHEMA order) for a window payload, named as ``store_window`` names files."""
    window_start_ms = to_epoch_ms(window_start)
    payload = build_window([(to_epoch_ms(t), v) for t, v in points], fetched_at)
    stamp = fetched_at.strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{filter_id}_{REGION}_{resolution}_{window_start_ms}__{stamp}.json"
    return (
        name,
        hashlib.sha256(payload).hexdigest(),
        "api",
        f"https://www.smard.de/app/chart_data/{filter_id}/{REGION}/{filter_id}_{REGION}_{resolution}_{window_start_ms}.json",
        fetched_at,
        INGESTED_AT,
        "conformance-test",
        filter_id,
        REGION,
        resolution,
        window_start,
        payload.decode("utf-8"),
        local_date_of_ms(window_start_ms),
    )


def bronze_rows() -> list[tuple]:
    """The deterministic bronze input: 8 window files for 3 filters, in FILE_ROW_SCHEMA order, UTC-aware times."""
    qh = slots(WEEK_START, WEEK_END, "quarterhour")
    hours = slots(WEEK_START, WEEK_END, "hour")
    pv_missing_day = FIRST_DAY
    return [
        # Lignite, first quarter-hour download: a gap on 03-28, nothing published after 03-30T05:00Z.
        _file_row(LIGNITE, "quarterhour", WEEK_START, [
            (t, None if t in LIGNITE_FIRST_GAP or t >= LIGNITE_QH_FIRST - timedelta(hours=1)
             else lignite_value(t, "quarterhour"))
            for t in qh
        ], LIGNITE_QH_FIRST),
        # Lignite, re-download of the same window: revised values, two slots null.
        _file_row(LIGNITE, "quarterhour", WEEK_START, [
            (t, None if t in LIGNITE_REDOWNLOAD_GAP
             else lignite_value(t, "quarterhour") + (0 if t == LIGNITE_NEGATIVE_AT else LIGNITE_REVISION))
            for t in qh
        ], LIGNITE_QH_REDOWNLOAD),
        # Lignite hourly (e.g. a CSV import), newest of all but coarser.
        _file_row(LIGNITE, "hour", WEEK_START, [(t, lignite_value(t, "hour")) for t in hours], LIGNITE_HOUR),
        # Photovoltaics quarter-hours, local 2024-03-28 not reported.
        _file_row(PHOTOVOLTAICS, "quarterhour", WEEK_START, [
            (t, None if t.astimezone(BERLIN).date() == pv_missing_day else pv_value(t, "quarterhour"))
            for t in qh
        ], PV_QH),
        # Photovoltaics hourly: the only source for 2024-03-28.
        _file_row(PHOTOVOLTAICS, "hour", WEEK_START, [(t, pv_value(t, "hour")) for t in hours], PV_HOUR),
        # Grid load: not a generation filter.
        _file_row(GRID_LOAD, "quarterhour", WEEK_START, [(t, 11000.0 + i) for i, t in enumerate(qh)], LOAD_QH),
        # Previous week's lignite window: ends before the first requested day.
        _file_row(LIGNITE, "quarterhour", PREVIOUS_WEEK_START, [
            (t, 1.5) for t in slots(PREVIOUS_WEEK_START, WEEK_START, "quarterhour")
        ], PREVIOUS_WEEK_QH),
        # The lignite re-download twice more on the same second (e.g. two retries): equal fetched_at, so the
        # file name decides; the "zz" copy sorts last in file_name order and must win, only for 03-31.
        *_same_second_copies(qh),
    ]


SAME_SECOND = datetime(2024, 4, 3, 7, 0, tzinfo=UTC)


def _same_second_copies(qh: list[datetime]) -> list[tuple]:
    last_day = [t for t in qh if t.astimezone(BERLIN).date() == LAST_DAY]
    rows = []
    for suffix, delta in (("aa", 100.0), ("zz", 200.0)):
        row = _file_row(LIGNITE, "quarterhour", WEEK_START, [(t, lignite_value(t, "quarterhour") + delta) for t in last_day],
                        SAME_SECOND)
        rows.append((row[0].replace(".json", f"_{suffix}.json"),) + row[1:])
    return rows


PRODUCTION_COLUMNS = (
    "interval_start_ms", "interval_end_ms", "region", "production_type", "filter_id", "resolution",
    "energy_mwh", "power_mw", "source_file", "fetched_at_ms", "year", "month", "day",
)
QUALITY_COLUMNS = ("year", "month", "day", "region", "production_type", "resolution", "intervals", "duplicates",
                   "negatives")


# --- Tibber consumption: hourly pages over the autumn DST switch plus live samples for part of one day ---------
TIBBER_FIRST_DAY, TIBBER_LAST_DAY = date(2022, 10, 29), date(2022, 10, 31)  # 2022-10-30 has 25 hours
TIBBER_HOME = "home-conformance"
LIVE_FROM = datetime(2022, 10, 31, 0, 0, tzinfo=BERLIN)  # live samples 00:00-01:35 local, one a minute
CONSUMPTION_COLUMNS = ("interval_start_ms", "interval_end_ms", "home_id", "source", "energy_kwh", "avg_power_kw",
                       "ev_kwh", "household_kwh", "cost", "unit_price", "currency", "source_file", "year", "month",
                       "day")


def _tibber_row(name: str, kind: str, fetched_at: datetime, payload: dict) -> tuple:
    return (name, "sha", "api" if kind == "hourly" else "live", None, fetched_at, INGESTED_AT, "run", kind,
            TIBBER_HOME, None, None, json.dumps(payload), TIBBER_FIRST_DAY)


def tibber_bronze_rows() -> list[tuple]:
    start = datetime(2022, 10, 29, tzinfo=BERLIN).astimezone(UTC)
    end = datetime(2022, 11, 1, tzinfo=BERLIN).astimezone(UTC)
    hours = [start + timedelta(hours=h) for h in range(int((end - start) / timedelta(hours=1)))]

    def node(moment: datetime, version: int) -> dict:
        kwh = None if version == 1 and moment.hour == 5 else round(0.3 + (moment.hour % 7) * 1.9 + version * 0.01, 3)
        return {"from": moment.astimezone(BERLIN).isoformat(timespec="milliseconds"),
                "to": (moment + timedelta(hours=1)).astimezone(BERLIN).isoformat(timespec="milliseconds"),
                "consumption": kwh, "cost": None if kwh is None else kwh * 0.31, "unitPrice": 0.31, "currency": "EUR"}

    def page(version: int) -> dict:
        return {"data": {"viewer": {"home": {"consumption": {"nodes": [node(h, version) for h in hours]}}}}}

    counter, samples = 0.0, []
    for minute in range(96):
        kw = 0.4 + (11.0 if 15 <= minute < 45 else 0.0)
        counter += kw / 60
        moment = LIVE_FROM + timedelta(minutes=minute, seconds=55)
        samples.append({"timestamp": moment.isoformat(timespec="milliseconds"), "power": kw * 1000,
                        "accumulatedConsumption": round(counter, 6), "accumulatedCost": round(counter * 0.31, 6),
                        "currency": "EUR"})
    return [
        _tibber_row("hourly_v0", "hourly", datetime(2022, 11, 1, 8, tzinfo=UTC), page(0)),
        _tibber_row("hourly_v1", "hourly", datetime(2022, 11, 2, 8, tzinfo=UTC), page(1)),  # corrections win
        _tibber_row("live_a", "live", datetime(2022, 10, 31, 0, 50, tzinfo=UTC), {"home_id": TIBBER_HOME, "measurements": samples[:50]}),
        _tibber_row("live_b", "live", datetime(2022, 10, 31, 1, 40, tzinfo=UTC), {"home_id": TIBBER_HOME, "measurements": samples[45:]}),
    ]


def run_transforms(spark) -> dict:
    """Both transforms on ``spark``; rows as sorted lists of plain values, timestamps as UTC epoch milliseconds."""
    from pyspark.sql import functions as F

    bronze = typed_smard(spark.createDataFrame(bronze_rows(), FILE_ROW_SCHEMA))  # the bronze parse, also pure
    production = production_from_bronze(bronze, FIRST_DAY, LAST_DAY)
    quality = quality_summary(production)
    # Timestamps leave the engine as integers: Python-side timestamp conversion differs between Connect and
    # classic (and with the process time zone), the instants must not.
    production_rows = production.select(
        F.unix_millis("interval_start"), F.unix_millis("interval_end"), "region", "production_type", "filter_id",
        "resolution", "energy_mwh", "power_mw", "source_file", F.unix_millis("fetched_at"), "year", "month", "day",
    ).collect()
    quality_rows = quality.select(*QUALITY_COLUMNS).collect()
    consumption = consumption_from_bronze(
        typed_tibber(spark.createDataFrame(tibber_bronze_rows(), TIBBER_FILE_ROW_SCHEMA)), TIBBER_FIRST_DAY, TIBBER_LAST_DAY
    )
    # Decimals leave the engine as strings (exact); timestamps as epoch milliseconds.
    consumption_rows = consumption.select(
        F.unix_millis("interval_start"), F.unix_millis("interval_end"), "home_id", "source",
        F.col("energy_kwh").cast("string"), "avg_power_kw", F.col("ev_kwh").cast("string"),
        F.col("household_kwh").cast("string"), F.col("cost").cast("string"), F.col("unit_price").cast("string"),
        "currency", "source_file", "year", "month", "day",
    ).collect()
    return {
        "consumption": sorted(tuple(r) for r in consumption_rows),
        "consumption_schema": [(f.name, f.dataType.simpleString()) for f in consumption.schema.fields],
        "production": sorted(tuple(r) for r in production_rows),
        "quality": sorted(tuple(r) for r in quality_rows),
        "production_schema": [(f.name, f.dataType.simpleString()) for f in production.schema.fields],
        "quality_schema": [(f.name, f.dataType.simpleString()) for f in quality.schema.fields],
    }


def classic_session():
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("emission-conformance")
        .config("spark.api.mode", "classic")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "1")
        .config("spark.driver.memory", "1g")
        # A short-lived JVM: the C1 compiler alone and the serial collector halve its CPU time (~40 s -> ~20 s of
        # a 2-core machine the other tests share); what it computes is the same.
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .getOrCreate()
    )
    if not hasattr(spark, "_jsparkSession"):
        raise RuntimeError(f"expected a classic JVM Spark session, got {type(spark).__module__}.{type(spark).__name__}")
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def main() -> int:
    spark = classic_session()
    try:
        result = run_transforms(spark)
        result["engine"] = f"classic Spark {spark.version} (JVM {spark.sparkContext._jvm.System.getProperty('java.version')})"
    finally:
        spark.stop()
    sys.stdout.write(RESULT_MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
