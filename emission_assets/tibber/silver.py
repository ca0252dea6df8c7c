"""Pure transforms (DataFrame in, DataFrame out) from Tibber bronze rows to ``silver.consumption``.

Sources and the rule between them:
- ``hourly_api``: Tibber's HOURLY consumption nodes; per hour the latest download wins (Tibber corrects recent
  hours); nodes with ``consumption: null`` (not known yet) are dropped, so they never erase a known value.
- ``live``: Pulse ``liveMeasurement`` samples aggregated to quarter-hours. Energy comes from the meter's
  ``accumulatedConsumption`` counter (kWh since local midnight): a quarter's energy is the counter at its last
  sample minus the counter at the previous quarter's last sample (or minus 0 for the first quarter of a local day).
  A quarter is emitted only when the previous quarter (or midnight) and a later sample exist, so gaps and the
  quarter still in progress are left out rather than guessed; so is a quarter whose counter went backwards (a
  counter reset: its energy is unknown, and the hour falls back to the hourly API).
- Where both exist, the finer source wins per whole hour: an hour with all four live quarter-hours uses them, any
  other hour uses the hourly API row. One source per hour, so energy is never counted twice or half.
- Consumption is never negative (Tibber reports feed-in as production, separately): a negative hourly value fails
  ``silver/consumption`` before it writes, naming the file (:mod:`emission_assets.orchestration.silver_guards`).

EV split (the product's seed rule): while an interval's average power is above the charger's power (11 kW by
default), the charger's power is EV load and the rest is household; otherwise it is all household. ``ev_kwh +
household_kwh == energy_kwh`` exactly (decimals). Above twice the charger power the seed's "modulo" would book two
chargers' worth as EV; with one car we keep EV at one charger's power.
"""
from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from emission_assets.lakehouse.columns import local_date

ENERGY = "decimal(14,6)"
MONEY = "decimal(14,6)"
PRICE = "decimal(12,6)"
DEFAULT_EV_CHARGE_KW = 11.0

COLUMNS = ("home_id", "interval_start", "interval_end", "energy_kwh", "cost", "currency", "source", "source_file",
           "fetched_at")


def _latest(df: DataFrame, keys: list[str]) -> DataFrame:
    """One row per key: the latest download (ties broken by file name, so re-runs pick the same row)."""
    order = Window.partitionBy(*keys).orderBy(F.col("fetched_at").desc(), F.col("file_name").desc())
    return df.withColumn("_rank", F.row_number().over(order)).where("_rank = 1").drop("_rank")


def hourly_rows(bronze: DataFrame) -> DataFrame:
    nodes = bronze.where(F.col("kind") == "hourly").select(
        "home_id", "file_name", "fetched_at", F.explode("hourly_nodes").alias("n"),
    )
    rows = nodes.select(
        "home_id", "file_name", "fetched_at",
        F.col("n")["interval_start"].alias("interval_start"),
        F.col("n")["interval_end"].alias("interval_end"),
        F.col("n")["energy_kwh"].alias("energy_kwh"),
        F.col("n")["cost"].alias("cost"),
        F.col("n")["currency"].alias("currency"),
    ).where(F.col("energy_kwh").isNotNull())
    return _latest(rows, ["home_id", "interval_start"]).select(
        *[F.lit("hourly_api").alias(c) if c == "source" else F.col("file_name").alias(c) if c == "source_file" else c
          for c in COLUMNS]
    )


def unparsed_payloads(bronze: DataFrame) -> DataFrame:
    """``file_name``, ``reason`` of Tibber bronze rows that yield no consumption because they are not the shape this
    module reads (an hourly GraphQL page without ``data.viewer.home.consumption.nodes``, a live batch without
    ``measurements``, or an unknown kind), as bronze found when it parsed them
    (:func:`emission_assets.tibber.bronze.typed_responses`). The silver asset reports them by name; bronze keeps
    their text."""
    return bronze.where(F.col("parse_error").isNotNull()).select("file_name", F.col("parse_error").alias("reason"))


def _is_local_midnight(timestamp: Column) -> Column:
    local = F.from_utc_timestamp(timestamp, "Europe/Berlin")
    return (F.hour(local) == 0) & (F.minute(local) == 0)


def live_quarter_hours(bronze: DataFrame) -> DataFrame:
    samples = bronze.where(F.col("kind") == "live").select(
        "home_id", "file_name", "fetched_at", F.explode("live_measurements").alias("m"),
    ).select(
        "home_id", "file_name", "fetched_at",
        F.col("m")["sampled_at"].alias("sampled_at"),
        F.col("m")["accumulated_kwh"].alias("counter_kwh"),
        F.col("m")["accumulated_cost"].alias("counter_cost"),
        F.col("m")["currency"].alias("currency"),
    ).where(F.col("counter_kwh").isNotNull())
    samples = _latest(samples, ["home_id", "sampled_at"]).withColumn(
        "quarter", F.timestamp_seconds(F.floor(F.unix_seconds("sampled_at") / 900) * 900)
    )
    quarters = samples.groupBy("home_id", "quarter").agg(
        F.max_by("counter_kwh", "sampled_at").alias("counter_kwh"),
        F.max_by("counter_cost", "sampled_at").alias("counter_cost"),
        F.max_by("currency", "sampled_at").alias("currency"),
        F.max_by("file_name", "sampled_at").alias("file_name"),
        F.max("fetched_at").alias("fetched_at"),
    ).withColumn("local_date", local_date(F.col("quarter")))
    by_time = Window.partitionBy("home_id").orderBy("quarter")
    previous_in_day = (F.lag("local_date").over(by_time) == F.col("local_date")) & (
        F.lag("quarter").over(by_time) == F.col("quarter") - F.expr("INTERVAL 15 MINUTES")
    )

    def delta(counter: str) -> Column:
        return (
            F.when(previous_in_day, F.col(counter) - F.lag(counter).over(by_time))
            .when(_is_local_midnight(F.col("quarter")), F.col(counter))
        )

    return (
        quarters.withColumn("energy_kwh", delta("counter_kwh"))
        .withColumn("cost", delta("counter_cost"))
        .withColumn("complete", F.lead("quarter").over(by_time).isNotNull())
        .where(F.col("energy_kwh").isNotNull() & (F.col("energy_kwh") >= 0) & F.col("complete"))
        .select(
            "home_id",
            F.col("quarter").alias("interval_start"),
            (F.col("quarter") + F.expr("INTERVAL 15 MINUTES")).alias("interval_end"),
            "energy_kwh", "cost", "currency",
            F.lit("live").alias("source"),
            F.col("file_name").alias("source_file"),
            "fetched_at",
        )
    )


def finer_source_per_hour(hourly: DataFrame, live: DataFrame) -> DataFrame:
    """Live quarter-hours for hours they cover completely, the hourly API row for every other hour."""
    hour = F.date_trunc("hour", F.col("interval_start"))  # UTC hours are local hours: Berlin offsets are whole hours
    full_hours = (
        live.groupBy("home_id", hour.alias("hour")).agg(F.count("*").alias("quarters")).where("quarters = 4")
        .drop("quarters")
    )
    live_used = live.withColumn("hour", hour).join(full_hours, ["home_id", "hour"], "left_semi").drop("hour")
    hourly_used = hourly.withColumn("hour", hour).join(full_hours, ["home_id", "hour"], "left_anti").drop("hour")
    return hourly_used.unionByName(live_used)


def split_ev(consumption: DataFrame, ev_charge_kw: float = DEFAULT_EV_CHARGE_KW) -> DataFrame:
    """Adds ``avg_power_kw``, ``ev_kwh``, ``household_kwh`` and ``ev_charge_kw`` (see the module docstring)."""
    if ev_charge_kw <= 0:
        raise ValueError(f"ev_charge_kw must be positive, got {ev_charge_kw}")
    hours = (F.unix_seconds("interval_end") - F.unix_seconds("interval_start")) / 3600
    energy = F.col("energy_kwh").cast(ENERGY)
    avg_power = energy.cast("double") / hours
    ev = F.when(avg_power > ev_charge_kw, F.round(F.lit(ev_charge_kw) * hours, 6)).otherwise(F.lit(0)).cast(ENERGY)
    return (
        consumption.withColumn("energy_kwh", energy)
        .withColumn("avg_power_kw", avg_power)
        .withColumn("ev_kwh", ev)
        .withColumn("household_kwh", (F.col("energy_kwh") - F.col("ev_kwh")).cast(ENERGY))
        .withColumn("ev_charge_kw", F.lit(float(ev_charge_kw)))
    )


def consumption_from_bronze(
    bronze: DataFrame, first_day: date, last_day: date, ev_charge_kw: float = DEFAULT_EV_CHARGE_KW
) -> DataFrame:
    """Silver consumption rows for the local days ``first_day..last_day``."""
    combined = finer_source_per_hour(hourly_rows(bronze), live_quarter_hours(bronze))
    in_range = combined.withColumn("local_date", local_date(F.col("interval_start"))).where(
        F.col("local_date").between(F.lit(first_day), F.lit(last_day))
    )
    return split_ev(in_range, ev_charge_kw).select(
        "interval_start", "interval_end", "home_id", "source", "energy_kwh", "avg_power_kw", "ev_kwh",
        "household_kwh", "ev_charge_kw",
        F.col("cost").cast(MONEY).alias("cost"),
        F.when(F.col("energy_kwh") > 0, F.col("cost") / F.col("energy_kwh").cast("double")).cast(PRICE).alias("unit_price"),
        "currency", "source_file", "fetched_at",
        F.year("local_date").alias("year"),
        F.month("local_date").alias("month"),
        F.dayofmonth("local_date").alias("day"),
    )


def quality_summary(consumption: DataFrame) -> DataFrame:
    """Per local day and home: covered hours, duplicates, negatives, EV + household mismatches, time range."""
    return consumption.groupBy("year", "month", "day", "home_id").agg(
        (F.sum(F.unix_seconds("interval_end") - F.unix_seconds("interval_start")) / 3600).alias("hours"),
        F.count("*").alias("intervals"),
        (F.count("*") - F.countDistinct("interval_start")).alias("duplicates"),
        F.sum(F.when(F.col("energy_kwh") < 0, 1).otherwise(0)).alias("negatives"),
        F.sum(F.when(F.col("ev_kwh") + F.col("household_kwh") != F.col("energy_kwh"), 1).otherwise(0)).alias(
            "split_mismatches"
        ),
        F.sum("energy_kwh").alias("energy_kwh"),
        F.sum("ev_kwh").alias("ev_kwh"),
        F.min("interval_start").alias("first_start"),
        F.max("interval_end").alias("last_end"),
    )
