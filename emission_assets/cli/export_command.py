"""``export``: one gold table or view as a CSV or Parquet file, for a spreadsheet, Home Assistant or a notebook.

Which rows: ``--start``/``--end`` are local days (Europe/Berlin), read from the relation's own time columns, in this
order: ``interval_start`` or ``session_start`` (the local day of the UTC instant), else ``year``/``month``/``day``,
else ``year``/``month`` (the months the days touch, whole), else ``year``. A relation without any of them is exported
whole, and a date range for it is refused rather than ignored.

The file is written next to its final name and renamed over it, so a re-run replaces it whole and a failed one
leaves the previous file. CSV times are ISO 8601 in UTC (``2022-03-27T01:00:00Z``); Parquet keeps the engine's types
(UTC timestamps, decimals).
"""
from __future__ import annotations

import os
import sys
import tempfile
from datetime import date
from pathlib import Path

import click

from emission_assets.cli.environment import check_environment
from emission_assets.cli.errors import UserError
from emission_assets.settings import emission_home
from emission_assets.timeutil import parse_day

FORMATS = ("csv", "parquet")
INSTANT_COLUMNS = ("interval_start", "session_start")
LOCAL_TIME_ZONE = "Europe/Berlin"


def gold_relations(spark, registry) -> list[str]:
    """The gold assets' tables and views this lakehouse holds, as ``gold.<name>`` (a view appears once its asset
    ran); anything else in the gold schema is not the product's and is not exported."""
    from emission_assets.lakehouse.registry import CONSUMER_VIEW_PREFIX, TABLES, VIEWS

    schema = f"{registry.catalog}.gold" if registry.catalog else "gold"
    names = set()
    for statement in (f"SHOW TABLES IN {schema}", f"SHOW VIEWS IN {schema}"):
        for row in spark.sql(statement).collect():
            if not getattr(row, "isTemporary", False):
                names.add(f"gold.{row.viewName if hasattr(row, 'viewName') else row.tableName}")
    return sorted(n for n in names if n in TABLES or n in VIEWS or n.startswith(CONSUMER_VIEW_PREFIX))


def relation_name(value: str) -> str:
    """``gold.x``, ``gold/x`` (the asset key) or ``x`` -> ``gold.x``."""
    text = value.strip().replace("/", ".")
    return text if text.startswith("gold.") else f"gold.{text}"


def day_filter(columns: list[str], first: date | None, last: date | None) -> str | None:
    """The WHERE clause selecting the local days ``first..last`` by the relation's time columns; None without a
    range. Raises :class:`UserError` when the relation has no time column to filter on."""
    if first is None and last is None:
        return None
    lo, hi = first or date.min, last or date.max
    instant = next((c for c in INSTANT_COLUMNS if c in columns), None)
    if instant:
        local_day = f"to_date(from_utc_timestamp({instant}, '{LOCAL_TIME_ZONE}'))"
        return f"{local_day} BETWEEN DATE'{lo.isoformat()}' AND DATE'{hi.isoformat()}'"
    if {"year", "month", "day"} <= set(columns):
        return (f"year * 10000 + month * 100 + day BETWEEN {lo.year * 10000 + lo.month * 100 + lo.day} "
                f"AND {hi.year * 10000 + hi.month * 100 + hi.day}")
    if {"year", "month"} <= set(columns):
        return f"year * 100 + month BETWEEN {lo.year * 100 + lo.month} AND {hi.year * 100 + hi.month}"
    if "year" in columns:
        return f"year BETWEEN {lo.year} AND {hi.year}"
    raise UserError("it has no time column (interval_start, session_start, year/month/day): export it without "
                    "--start/--end")


def select_sql(sql_name: str, fields, where: str | None, fmt: str) -> str:
    """The export's SELECT: every column; for CSV, timestamps as ISO 8601 UTC text (the session runs in UTC)."""
    def column(field) -> str:
        if fmt == "csv" and field.dataType.typeName() in ("timestamp", "timestamp_ntz"):
            return f"date_format(`{field.name}`, \"yyyy-MM-dd'T'HH:mm:ss'Z'\") AS `{field.name}`"
        return f"`{field.name}`"

    names = [f.name for f in fields]
    instant = next((c for c in INSTANT_COLUMNS if c in names), None)
    order = [instant] if instant else [c for c in ("year", "month", "day") if c in names]
    sql = f"SELECT {', '.join(column(f) for f in fields)} FROM {sql_name}"
    if where:
        sql += f" WHERE {where}"
    return sql + (f" ORDER BY {', '.join(order)}" if order else "")


def write_atomically(table, path: Path, fmt: str) -> None:
    """Write the Arrow table to a temporary file beside ``path`` and rename it over ``path``."""
    import pyarrow.csv as arrow_csv
    import pyarrow.parquet as arrow_parquet

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        if fmt == "csv":
            arrow_csv.write_csv(table, temporary)
        else:
            arrow_parquet.write_table(table, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def default_path(name: str, first: date | None, last: date | None, fmt: str) -> Path:
    span = f"_{first or 'start'}_{last or 'end'}" if (first or last) else ""
    return emission_home() / "exports" / f"{name.split('.', 1)[1]}{span}.{fmt}"


@click.command("export")
@click.argument("table")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--start", help="first local day, YYYY-MM-DD (default: from the first row)")
@click.option("--end", help="last local day, YYYY-MM-DD (default: to the last row)")
@click.option("--output", type=click.Path(dir_okay=False, allow_dash=True),
              help="file to write ('-': CSV to standard output; default $EMISSION_HOME/exports/<table>[_<start>_<end>]"
              ".<format>)")
def export_command(table, fmt, start, end, output) -> None:
    """Write one gold table or view (e.g. gold.emissions_monthly, gold/grid_intensity) to CSV or Parquet, optionally
    narrowed to the local days --start..--end."""
    first = parse_day(start, "--start") if start else None
    last = parse_day(end, "--end") if end else None
    if first and last and first > last:
        raise UserError(f"--start {first} is after --end {last}")
    if output == "-" and fmt != "csv":
        raise UserError("--output - writes CSV only: give a file name for Parquet")
    from emission_assets.lakehouse.session import open_lakehouse

    name = relation_name(table)
    check_environment()
    lakehouse = open_lakehouse()
    spark, registry = lakehouse.spark, lakehouse.registry
    known = gold_relations(spark, registry)
    if name not in known:
        from emission_assets.gold.views import not_created_hint

        hint = not_created_hint(name, spark, registry)
        raise UserError(hint or f"no gold table or view {name!r} here; there are: {', '.join(known) or 'none'}")
    sql_name = registry.sql_name(name)
    fields = spark.table(sql_name).schema.fields
    try:
        where = day_filter([f.name for f in fields], first, last)
    except UserError as error:
        raise UserError(f"{name}: {error.message}") from None
    rows = spark.sql(select_sql(sql_name, fields, where, fmt)).toArrow()
    if output == "-":
        import pyarrow.csv as arrow_csv

        arrow_csv.write_csv(rows, sys.stdout.buffer)
        return
    path = Path(output) if output else default_path(name, first, last, fmt)
    write_atomically(rows, path, fmt)
    span = f" for {first or '…'}..{last or '…'}" if where else ""
    click.echo(f"wrote {rows.num_rows:,} rows of {name}{span} ({len(fields)} columns) to {path}")
