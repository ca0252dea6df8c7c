"""Emission factors as an SCD2 dimension (``silver.emission_factors``): pure functions, no Dagster.

The reviewed seed ``emission_assets/data/emission_factors.csv`` is the manual update of the dimension. Two time
axes are kept (see the table's comment in the registry):

- business validity ``[valid_from, valid_to)`` per production type and basis: which factor applies to a day;
- transaction time ``[recorded_at, retired_at)``: when the lakehouse believed a row. Rows are never rewritten,
  except that a row is retired (``retired_at`` set, ``is_current`` false) when the seed no longer says the same.

"Active" rows (``retired_at IS NULL``) are the dimension as known now; gold joins them (or the rows known at an
earlier moment, :func:`emission_assets.models.factors.factor_condition`) to production by local date.
"""
from __future__ import annotations

import csv
import math
from datetime import date, datetime
from pathlib import Path

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, DoubleType, StringType, StructField, StructType

from emission_assets.smard.catalog import SERIES

TABLE = "silver.emission_factors"
SEED_PATH = Path(__file__).resolve().parent.parent / "data" / "emission_factors.csv"
SEED_COLUMNS = ("production_type", "basis", "g_per_kwh", "valid_from", "source", "note")
PRODUCTION_TYPES: tuple[str, ...] = tuple(s.name for s in SERIES if s.kind == "generation")
BASES: tuple[str, ...] = ("direct", "lifecycle")
UNIT = "g CO2eq/kWh"
FAR_FUTURE = date(9999, 12, 31)
KEY = ("production_type", "basis", "valid_from")

SEED_SCHEMA = StructType([
    StructField("production_type", StringType(), False),
    StructField("basis", StringType(), False),
    StructField("g_per_kwh", DoubleType(), False),
    StructField("valid_from", DateType(), False),
    StructField("source", StringType(), True),
    StructField("note", StringType(), True),
])

# The table's columns (registry order) with their types, for the staged MERGE source.
_COLUMNS = (
    ("factor_id", "string"), ("production_type", "string"), ("basis", "string"), ("g_per_kwh", "double"),
    ("unit", "string"), ("source", "string"), ("note", "string"), ("valid_from", "date"), ("valid_to", "date"),
    ("is_current", "boolean"), ("recorded_at", "timestamp"), ("retired_at", "timestamp"), ("row_hash", "string"),
)


# --- the seed ---------------------------------------------------------------------------------------------------

def _seed_error(path, line: int, column: str, message: str) -> ValueError:
    return ValueError(f"{path}: line {line}, column {column!r}: {message}")


def read_seed(path: Path | str | None = None) -> list[dict]:
    """The seed's rows, typed (``g_per_kwh`` float, ``valid_from`` date), validated.

    Raises ``ValueError`` naming the file, line and column for an unknown production type or basis, a missing,
    non-numeric, non-finite or negative factor, an unparseable date, a missing source, or a duplicate
    (production_type, basis, valid_from).
    """
    path = Path(path) if path is not None else SEED_PATH
    rows: list[dict] = []
    seen: dict[tuple, int] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = tuple(reader.fieldnames or ())
        if header != SEED_COLUMNS:
            raise ValueError(f"{path}: line 1: header must be {','.join(SEED_COLUMNS)}, got {','.join(header)}")
        for raw in reader:
            line = reader.line_num
            if None in raw or any(raw[c] is None for c in SEED_COLUMNS):
                raise ValueError(f"{path}: line {line}: expected {len(SEED_COLUMNS)} columns")
            production_type = raw["production_type"].strip()
            if production_type not in PRODUCTION_TYPES:
                raise _seed_error(path, line, "production_type",
                                  f"unknown production type {production_type!r}; known: {', '.join(PRODUCTION_TYPES)}")
            basis = raw["basis"].strip()
            if basis not in BASES:
                raise _seed_error(path, line, "basis", f"unknown basis {basis!r}; known: {', '.join(BASES)}")
            text = raw["g_per_kwh"].strip()
            try:
                factor = float(text)
            except ValueError:
                raise _seed_error(path, line, "g_per_kwh", f"not a number: {text!r}") from None
            if not math.isfinite(factor) or factor < 0:
                raise _seed_error(path, line, "g_per_kwh", f"must be a finite number >= 0, got {text!r}")
            text = raw["valid_from"].strip()
            try:
                valid_from = date.fromisoformat(text)
            except ValueError:
                raise _seed_error(path, line, "valid_from", f"not a date (YYYY-MM-DD): {text!r}") from None
            source = raw["source"].strip()
            if not source:
                raise _seed_error(path, line, "source", "every factor needs a source")
            key = (production_type, basis, valid_from)
            if key in seen:
                raise _seed_error(path, line, "valid_from",
                                  f"duplicate ({production_type}, {basis}, {valid_from}); first on line {seen[key]}")
            seen[key] = line
            rows.append({
                "production_type": production_type, "basis": basis, "g_per_kwh": factor,
                "valid_from": valid_from, "source": source, "note": raw["note"].strip(),
            })
    return rows


# --- desired state ----------------------------------------------------------------------------------------------

def _hash(*columns: Column) -> Column:
    """sha2-256 over the columns as text; NULL is spelled out so (a, NULL) and (NULL, a) differ."""
    return F.sha2(F.concat_ws("|", *[F.coalesce(c.cast("string"), F.lit("\u2205")) for c in columns]), 256)


def desired_rows(spark, seed_rows: list[dict]) -> DataFrame:
    """The seed as dimension rows: ``valid_to`` = next version's ``valid_from`` per (type, basis), NULL for the
    last; ``is_current`` = ``valid_to IS NULL``; ``unit``; ``row_hash`` over the business content."""
    seed = spark.createDataFrame(
        [tuple(r.get(c) for c in SEED_SCHEMA.fieldNames()) for r in seed_rows], SEED_SCHEMA
    )
    versions = Window.partitionBy("production_type", "basis").orderBy("valid_from")
    return (
        seed.withColumn("valid_to", F.lead("valid_from").over(versions))
        .withColumn("is_current", F.col("valid_to").isNull())
        .withColumn("unit", F.lit(UNIT))
        .withColumn(
            "row_hash",
            _hash(F.col("g_per_kwh").cast("decimal(18,6)"), F.col("source"), F.col("note"),
                  F.col("valid_from"), F.col("valid_to")),
        )
        .select("production_type", "basis", "g_per_kwh", "unit", "source", "note", "valid_from", "valid_to",
                "is_current", "row_hash")
    )


# --- the SCD2 merge ---------------------------------------------------------------------------------------------

def staged_changes(desired: DataFrame, active: DataFrame, now: datetime) -> DataFrame:
    """The MERGE source (staged-union pattern) with an ``action`` column:

    - ``retire``: an active row whose key left the seed or whose content changed; ``merge_key`` = its factor_id
      and ``retired_at`` = ``now``, so the MERGE matches it and sets ``retired_at``/``is_current`` only;
    - ``insert``: a desired row that is new or changed; ``merge_key`` NULL, so it never matches and is inserted
      with ``recorded_at`` = ``now`` and ``factor_id`` = sha2(key, row_hash, recorded_at).

    Unchanged rows (same key, same ``row_hash``) are not staged.
    """
    d = desired.alias("d")
    a = active.select(*KEY, "factor_id", "row_hash").alias("a")
    on = [F.col(f"d.{k}") == F.col(f"a.{k}") for k in KEY]
    joined = d.join(a, on, "full_outer")
    in_desired = F.col("d.production_type").isNotNull()
    in_active = F.col("a.factor_id").isNotNull()
    changed = F.col("d.row_hash") != F.col("a.row_hash")

    stamp = F.lit(now).cast("timestamp")
    retire = joined.where(in_active & (~in_desired | changed)).select(
        F.col("a.factor_id").alias("merge_key"),
        F.lit("retire").alias("action"),
        *[(stamp if c == "retired_at" else F.lit(None).cast(t)).alias(c) for c, t in _COLUMNS],
    )
    recorded_at = stamp
    inserted = joined.where(in_desired & (~in_active | changed)).select(
        F.lit(None).cast("string").alias("merge_key"),
        F.lit("insert").alias("action"),
        _hash(F.col("d.production_type"), F.col("d.basis"), F.col("d.valid_from"), F.col("d.row_hash"),
              recorded_at).alias("factor_id"),
        *[F.col(f"d.{c}").alias(c) for c in ("production_type", "basis", "g_per_kwh", "unit", "source", "note",
                                            "valid_from", "valid_to", "is_current")],
        recorded_at.alias("recorded_at"),
        F.lit(None).cast("timestamp").alias("retired_at"),
        F.col("d.row_hash").alias("row_hash"),
    )
    return retire.unionByName(inserted)


def _merge_clauses() -> str:
    """Matched (staged ``retire``) rows: only ``retired_at``/``is_current`` change; the rest is inserted as is."""
    columns = [c for c, _ in _COLUMNS]
    return (
        "WHEN MATCHED THEN UPDATE SET retired_at = s.retired_at, is_current = false "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) VALUES ({', '.join('s.' + c for c in columns)})"
    )


def merge_seed(spark, writer, seed_rows: list[dict], now: datetime, table=None) -> dict:
    """Bring ``silver.emission_factors`` in line with the seed as an SCD2 merge at transaction time ``now``.

    Returns ``{"inserted", "retired", "unchanged", "committed"}``. With nothing to change no MERGE runs, so a
    re-run with the same seed leaves the Delta table version as it was.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    current = table if table is not None else spark.table(writer.registry.sql_name(TABLE))
    active = current_factors(current)
    desired = desired_rows(spark, seed_rows)
    stage = staged_changes(desired, active, now)
    counts = {row["action"]: row["n"] for row in stage.groupBy("action").agg(F.count("*").alias("n")).collect()}
    inserted, retired = int(counts.get("insert", 0)), int(counts.get("retire", 0))
    unchanged = len(seed_rows) - inserted  # desired rows that are neither new nor changed
    committed = False
    if inserted or retired:
        writer.merge(TABLE, stage, "t.factor_id = s.merge_key AND t.retired_at IS NULL", _merge_clauses())
        committed = True
    return {"inserted": inserted, "retired": retired, "unchanged": unchanged, "committed": committed}


# --- reading the dimension --------------------------------------------------------------------------------------

def current_factors(factors_df: DataFrame) -> DataFrame:
    """The active rows: the dimension as known now (every validity version, retired_at IS NULL)."""
    return factors_df.where(F.col("retired_at").isNull())
