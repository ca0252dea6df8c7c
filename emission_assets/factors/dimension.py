"""Reviewed seed CSVs as SCD2 dimensions (``silver.emission_factors``, ``silver.fuel_prices``): pure functions, no
Dagster.

:class:`Scd2Dimension` holds what differs between the dimensions (table, seed columns and their validation, the
entity a version belongs to, the hashed content); the seed reading, row hash and retire-on-change merge are
written once. The reviewed seed (e.g. ``emission_assets/data/emission_factors.csv``) is the manual update of the
dimension. Two time axes are kept (see the table's comment in the registry):

- business validity ``[valid_from, valid_to)`` per production type and basis: which factor applies to a day;
- transaction time ``[recorded_at, retired_at)``: when the lakehouse believed a row. Rows are never rewritten,
  except that a row is retired (``retired_at`` set, ``is_current`` false) when the seed no longer says the same.

"Active" rows (``retired_at IS NULL``) are the dimension as known now; gold joins them (or the rows known at an
earlier moment, :func:`emission_assets.models.factors.factor_condition`) to production by local date.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, DoubleType, StringType, StructField, StructType

from emission_assets import sourced_csv
from emission_assets.factors import tables as _tables  # noqa: F401  (declares the specs read by columns)
from emission_assets.lakehouse.registry import spec
from emission_assets.smard.catalog import SERIES
from emission_assets.sourced_csv import cell_error

DATA = Path(__file__).resolve().parent.parent / "data"
FAR_FUTURE = date(9999, 12, 31)
_SPARK_TYPES = {"string": StringType(), "double": DoubleType(), "date": DateType()}


# --- seed column parsers: text -> value, or ValueError(message) ------------------------------------------------

def choice(label: str, options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"unknown {label} {text!r}; known: {', '.join(options)}")
        return text
    return parse


def non_negative_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"must be a finite number >= 0, got {text!r}")
    return value


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {text!r}") from None


def required(what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not text:
            raise ValueError(what)
        return text
    return parse


def optional(text: str) -> str:
    return text


@dataclass(frozen=True)
class SeedColumn:
    name: str
    parse: Callable[[str], Any]
    spark_type: str = "string"  # string | double | date


@dataclass(frozen=True)
class Scd2Dimension:
    """One seed-managed SCD2 dimension.

    ``entity``: the columns one version history belongs to (``valid_to`` = the entity's next ``valid_from``); the
    business key is ``entity + (valid_from,)``. ``hashed``: the content whose change retires a row (doubles are
    hashed as decimal(18,6) so float noise is no change). ``constants``: columns the table has but the seed does
    not (e.g. the factors' unit). ``check_row`` sees a parsed row and returns ``(column, message)`` for a
    cross-column error (e.g. a unit that does not fit the commodity), or None.
    """

    table: str
    seed_path: Path
    seed_columns: tuple[SeedColumn, ...]
    entity: tuple[str, ...]
    id_column: str
    hashed: tuple[str, ...]
    constants: Mapping[str, str] = field(default_factory=dict)
    check_row: Callable[[dict], tuple[str, str] | None] | None = None

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        """The table's columns (registry order) with their Spark types, from its TableSpec (factors/tables.py)."""
        return tuple((name, kind.lower()) for name, kind in spec(self.table).columns)

    @property
    def key(self) -> tuple[str, ...]:
        return (*self.entity, "valid_from")

    @property
    def seed_header(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.seed_columns)

    @property
    def seed_schema(self) -> StructType:
        return StructType([StructField(c.name, _SPARK_TYPES[c.spark_type], c.name in self.key)
                           for c in self.seed_columns])

    # --- the seed -----------------------------------------------------------------------------------------------

    def read_seed(self, path: Path | str | None = None) -> list[dict]:
        """The seed's rows, typed and validated; a ``ValueError`` names the file, line and column of the first
        bad value (unknown category, missing/non-numeric/non-finite/negative number, unparseable date, missing
        source, duplicate key, or a failed cross-column check)."""
        path = Path(path) if path is not None else self.seed_path
        header = self.seed_header
        rows: list[dict] = []
        seen: dict[tuple, int] = {}
        for line, raw in sourced_csv.rows(path, header):
            parsed = {}
            for column in self.seed_columns:
                try:
                    parsed[column.name] = column.parse(raw[column.name])
                except ValueError as error:
                    raise cell_error(path, line, column.name, str(error)) from None
            if self.check_row is not None and (problem := self.check_row(parsed)) is not None:
                raise cell_error(path, line, *problem)
            key = tuple(parsed[k] for k in self.key)
            if key in seen:
                raise cell_error(path, line, "valid_from",
                                 f"duplicate ({', '.join(map(str, key))}); first on line {seen[key]}")
            seen[key] = line
            rows.append(parsed)
        return rows

    # --- desired state ------------------------------------------------------------------------------------------

    def desired_rows(self, spark, seed_rows: list[dict]) -> DataFrame:
        """The seed as dimension rows: ``valid_to`` = next version's ``valid_from`` per entity, NULL for the last;
        ``is_current`` = ``valid_to IS NULL``; the constant columns; ``row_hash`` over the hashed content."""
        schema = self.seed_schema
        seed = spark.createDataFrame([tuple(r.get(c) for c in schema.fieldNames()) for r in seed_rows], schema)
        versions = Window.partitionBy(*self.entity).orderBy("valid_from")
        frame = seed.withColumn("valid_to", F.lead("valid_from").over(versions)).withColumn(
            "is_current", F.col("valid_to").isNull())
        for name, value in self.constants.items():
            frame = frame.withColumn(name, F.lit(value))
        types = dict(self.columns)
        hashed = [F.col(c).cast("decimal(18,6)") if types[c] == "double" else F.col(c) for c in self.hashed]
        return frame.withColumn("row_hash", _hash(*hashed)).select(*self._content_columns, "row_hash")

    @property
    def _content_columns(self) -> list[str]:
        return [c for c, _ in self.columns if c not in (self.id_column, "recorded_at", "retired_at", "row_hash")]

    # --- the SCD2 merge -----------------------------------------------------------------------------------------

    def staged_changes(self, desired: DataFrame, active: DataFrame, now: datetime) -> DataFrame:
        """The MERGE source (staged-union pattern) with an ``action`` column:

        - ``retire``: an active row whose key left the seed or whose content changed; ``merge_key`` = its id and
          ``retired_at`` = ``now``, so the MERGE matches it and sets ``retired_at``/``is_current`` only;
        - ``insert``: a desired row that is new or changed; ``merge_key`` NULL, so it never matches and is
          inserted with ``recorded_at`` = ``now`` and the id = sha2(key, row_hash, recorded_at).

        Unchanged rows (same key, same ``row_hash``) are not staged.
        """
        d = desired.alias("d")
        a = active.select(*self.key, self.id_column, "row_hash").alias("a")
        joined = d.join(a, [F.col(f"d.{k}") == F.col(f"a.{k}") for k in self.key], "full_outer")
        in_desired = F.col(f"d.{self.entity[0]}").isNotNull()
        in_active = F.col(f"a.{self.id_column}").isNotNull()
        changed = F.col("d.row_hash") != F.col("a.row_hash")

        stamp = F.lit(now).cast("timestamp")
        retire = joined.where(in_active & (~in_desired | changed)).select(
            F.col(f"a.{self.id_column}").alias("merge_key"),
            F.lit("retire").alias("action"),
            *[(stamp if c == "retired_at" else F.lit(None).cast(t)).alias(c) for c, t in self.columns],
        )
        new_values = {
            self.id_column: _hash(*[F.col(f"d.{k}") for k in self.key], F.col("d.row_hash"), stamp),
            "recorded_at": stamp,
            "retired_at": F.lit(None).cast("timestamp"),
        }
        inserted = joined.where(in_desired & (~in_active | changed)).select(
            F.lit(None).cast("string").alias("merge_key"),
            F.lit("insert").alias("action"),
            *[new_values.get(c, F.col(f"d.{c}")).alias(c) for c, _ in self.columns],
        )
        return retire.unionByName(inserted)

    def _merge_clauses(self) -> str:
        """Matched (staged ``retire``) rows: only ``retired_at``/``is_current`` change; the rest is inserted."""
        columns = [c for c, _ in self.columns]
        return (
            "WHEN MATCHED THEN UPDATE SET retired_at = s.retired_at, is_current = false "
            f"WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) VALUES ({', '.join('s.' + c for c in columns)})"
        )

    def merge_seed(self, spark, writer, seed_rows: list[dict], now: datetime, table=None) -> dict:
        """Bring the table in line with the seed as an SCD2 merge at transaction time ``now``.

        Returns ``{"inserted", "retired", "unchanged", "committed"}``. With nothing to change no MERGE runs, so a
        re-run with the same seed leaves the Delta table version as it was.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        current = table if table is not None else spark.table(writer.registry.sql_name(self.table))
        stage = self.staged_changes(self.desired_rows(spark, seed_rows), active_rows(current), now)
        counts = {row["action"]: row["n"] for row in stage.groupBy("action").agg(F.count("*").alias("n")).collect()}
        inserted, retired = int(counts.get("insert", 0)), int(counts.get("retire", 0))
        unchanged = len(seed_rows) - inserted  # desired rows that are neither new nor changed
        committed = False
        if inserted or retired:
            writer.merge(self.table, stage, f"t.{self.id_column} = s.merge_key AND t.retired_at IS NULL",
                         self._merge_clauses())
            committed = True
        return {"inserted": inserted, "retired": retired, "unchanged": unchanged, "committed": committed}


def _hash(*columns: Column) -> Column:
    """sha2-256 over the columns as text; NULL is spelled out so (a, NULL) and (NULL, a) differ."""
    return F.sha2(F.concat_ws("|", *[F.coalesce(c.cast("string"), F.lit("\u2205")) for c in columns]), 256)


def active_rows(frame: DataFrame) -> DataFrame:
    """The active rows: the dimension as known now (every validity version, retired_at IS NULL)."""
    return frame.where(F.col("retired_at").isNull())


# --- the emission factor dimension ------------------------------------------------------------------------------

TABLE = "silver.emission_factors"
SEED_PATH = DATA / "emission_factors.csv"
PRODUCTION_TYPES: tuple[str, ...] = tuple(s.name for s in SERIES if s.kind == "generation")
BASES: tuple[str, ...] = ("direct", "lifecycle")
UNIT = "g CO2eq/kWh"

FACTORS = Scd2Dimension(
    table=TABLE,
    seed_path=SEED_PATH,
    seed_columns=(
        SeedColumn("production_type", choice("production type", PRODUCTION_TYPES)),
        SeedColumn("basis", choice("basis", BASES)),
        SeedColumn("g_per_kwh", non_negative_number, "double"),
        SeedColumn("valid_from", iso_date, "date"),
        SeedColumn("source", required("every factor needs a source")),
        SeedColumn("note", optional),
    ),
    entity=("production_type", "basis"),
    id_column="factor_id",
    hashed=("g_per_kwh", "source", "note", "valid_from", "valid_to"),
    constants={"unit": UNIT},
)
SEED_COLUMNS = FACTORS.seed_header
KEY = FACTORS.key


def read_seed(path: Path | str | None = None) -> list[dict]:
    """The factor seed's rows, typed (``g_per_kwh`` float, ``valid_from`` date), validated (see
    :meth:`Scd2Dimension.read_seed`)."""
    return FACTORS.read_seed(path)


def desired_rows(spark, seed_rows: list[dict]) -> DataFrame:
    return FACTORS.desired_rows(spark, seed_rows)


def staged_changes(desired: DataFrame, active: DataFrame, now: datetime) -> DataFrame:
    return FACTORS.staged_changes(desired, active, now)


def merge_seed(spark, writer, seed_rows: list[dict], now: datetime, table=None) -> dict:
    """Bring ``silver.emission_factors`` in line with the seed (see :meth:`Scd2Dimension.merge_seed`)."""
    return FACTORS.merge_seed(spark, writer, seed_rows, now, table)


def current_factors(factors_df: DataFrame) -> DataFrame:
    """The active factor rows: the dimension as known now (every validity version, retired_at IS NULL)."""
    return active_rows(factors_df)
