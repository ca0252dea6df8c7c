"""``emission-tracker export``: gold tables and views to CSV and Parquet files, narrowed to local days."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pyarrow.parquet as arrow_parquet
import pytest

from emission_assets.cli.errors import UserError
from emission_assets.cli.export_command import day_filter
from emission_assets.lakehouse.registry import spec
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.settings import emission_home
from emission_assets_tests.integration.test_cli import assert_user_error
from emission_assets_tests.support.cli import run
from emission_assets_tests.support.silver_rows import BERLIN

# Local 2022-10-30 has 25 hours: 2022-10-29T22:00Z (00:00 CEST) .. 2022-10-30T22:00Z (23:00 CET).
AUTUMN_DAY = date(2022, 10, 30)
FIRST_HOUR = datetime(2022, 10, 29, 0, tzinfo=UTC)
HOURS = 22 + 25 + 24  # 2022-10-29 00:00Z (02:00 CEST) .. the last hour of local 2022-10-31 (22:00Z)


def intensity_rows(lakehouse):
    """gold.grid_intensity: one hourly DE average/direct row per UTC hour from 2022-10-29 00:00Z, g/kWh = the hour's
    index (so a row names its own position)."""
    rows = []
    for index in range(HOURS):
        start = FIRST_HOUR + timedelta(hours=index)
        local = start.astimezone(BERLIN)
        rows.append((start, start + timedelta(hours=1), "DE", "average", "direct", float(index), "mix", 1000.0,
                     "hour", local.year, local.month))
    frame = lakehouse.spark.createDataFrame(rows, spec("gold.grid_intensity").ddl)
    lakehouse.writer.replace_months("gold.grid_intensity", frame, [(2022, 10)])


def monthly_rows(lakehouse, months):
    data = ", ".join(f"('home', 'average', 'direct', {m}.0, {y}, {m})" for y, m in months)
    frame = lakehouse.spark.sql(
        "SELECT home_id, model, basis, CAST(e AS DECIMAL(24,6)) AS energy_kwh, CAST(0 AS DECIMAL(24,6)) AS ev_kwh, "
        "CAST(e AS DECIMAL(24,6)) AS household_kwh, CAST(e AS DOUBLE) AS emissions_kg, CAST(0 AS DOUBLE) AS "
        "ev_emissions_kg, CAST(e AS DOUBLE) AS household_emissions_kg, CAST(1000 AS DOUBLE) AS g_per_kwh, "
        "CAST(0 AS DOUBLE) AS spread_kg, CAST(year AS INT) AS year, CAST(month AS INT) AS month "
        f"FROM VALUES {data} AS t(home_id, model, basis, e, year, month)")
    lakehouse.writer.replace_months("gold.emissions_monthly", frame, months)


@pytest.fixture
def lakehouse(spark):
    lakehouse = open_lakehouse()
    intensity_rows(lakehouse)
    return lakehouse


def test_csv_of_one_local_dst_day_has_its_25_hours_in_utc(lakehouse, tmp_path):
    output = tmp_path / "day.csv"
    result = run("export", "gold.grid_intensity", "--start", "2022-10-30", "--end", "2022-10-30",
                 "--output", str(output))

    assert result.exit_code == 0, result.output
    assert f"wrote 25 rows of gold.grid_intensity for 2022-10-30..2022-10-30 (11 columns) to {output}" in result.output
    rows = list(csv.DictReader(output.open()))
    assert len(rows) == 25
    assert rows[0]["interval_start"] == "2022-10-29T22:00:00Z" and rows[-1]["interval_start"] == "2022-10-30T22:00:00Z"
    assert [float(r["g_per_kwh"]) for r in rows] == [float(i) for i in range(22, 47)]  # in time order
    assert list(rows[0]) == list(spec("gold.grid_intensity").column_names)


def test_parquet_keeps_the_types_and_an_open_start_exports_from_the_first_row(lakehouse, tmp_path):
    output = tmp_path / "to-30.parquet"
    result = run("export", "gold/grid_intensity", "--format", "parquet", "--end", "2022-10-30", "--output", str(output))

    assert result.exit_code == 0, result.output
    table = arrow_parquet.read_table(output)
    assert table.num_rows == 22 + 25  # local 2022-10-29 (from its first row, 00:00Z = 02:00 CEST) and the DST day
    assert str(table.schema.field("interval_start").type) == "timestamp[us, tz=UTC]"
    assert table.column("interval_start")[0].as_py() == datetime(2022, 10, 29, 0, tzinfo=UTC)
    assert table.column("g_per_kwh").to_pylist() == [float(i) for i in range(47)]


def test_a_monthly_table_exports_the_whole_months_the_days_touch(spark, tmp_path):
    monthly_rows(open_lakehouse(), [(2024, 1), (2024, 2), (2024, 3), (2024, 4)])
    output = tmp_path / "months.csv"

    result = run("export", "emissions_monthly", "--start", "2024-02-10", "--end", "2024-03-01", "--output", str(output))

    assert result.exit_code == 0, result.output
    assert [(r["year"], r["month"], r["energy_kwh"]) for r in csv.DictReader(output.open())] == [
        ("2024", "2", "2.000000"), ("2024", "3", "3.000000")]


def test_default_path_is_under_the_home_and_a_rerun_replaces_the_file_whole(lakehouse):
    first = run("export", "gold.grid_intensity", "--start", "2022-10-31", "--end", "2022-10-31")
    path = emission_home() / "exports" / "grid_intensity_2022-10-31_2022-10-31.csv"
    assert first.exit_code == 0 and str(path) in first.output
    assert len(path.read_text().splitlines()) == 1 + 24

    intensity_rows_again = lakehouse.spark.sql("SELECT * FROM gold.grid_intensity WHERE g_per_kwh < 50")
    lakehouse.writer.replace_months("gold.grid_intensity", intensity_rows_again, [(2022, 10)])
    second = run("export", "gold.grid_intensity", "--start", "2022-10-31", "--end", "2022-10-31")

    assert second.exit_code == 0
    assert len(path.read_text().splitlines()) == 1 + 3  # only hours 47..49 of the day are left
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary file left beside it


def test_dash_writes_csv_to_standard_output(lakehouse):
    result = run("export", "gold.grid_intensity", "--start", "2022-10-29", "--end", "2022-10-29", "--output", "-")

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 22 and rows[0]["interval_start"] == "2022-10-29T00:00:00Z"  # 02:00 CEST: the first row


def test_an_unknown_table_is_a_user_error_naming_the_ones_there(lakehouse):
    assert_user_error(run("export", "gold.no_such_table"),
                      "no gold table or view 'gold.no_such_table' here; there are:", "gold.grid_intensity")


def test_a_view_whose_asset_has_not_run_says_how_to_create_it(lakehouse):
    # the engine's catalog lives as long as the test process: a view an earlier test created must not be there
    lakehouse.spark.sql("DROP VIEW IF EXISTS gold.consumption_emissions")
    assert_user_error(run("export", "gold.consumption_emissions"),
                      "gold.consumption_emissions does not exist yet", "--select key:gold/consumption_emissions")


def test_a_view_in_the_gold_schema_that_is_no_asset_is_not_exported(lakehouse):
    lakehouse.spark.sql("CREATE OR REPLACE VIEW gold.regions AS SELECT DISTINCT region FROM gold.grid_intensity")

    assert_user_error(run("export", "gold.regions"), "no gold table or view 'gold.regions' here")


@pytest.mark.parametrize("args, fragment", [
    (("--start", "2022-10-31", "--end", "2022-10-30"), "--start 2022-10-31 is after --end 2022-10-30"),
    (("--start", "30.10.2022"), "--start '30.10.2022' is not a date in the form YYYY-MM-DD"),
    (("--format", "parquet", "--output", "-"), "--output - writes CSV only"),
])
def test_bad_arguments_are_one_line_errors(args, fragment):
    assert_user_error(run("export", "gold.grid_intensity", *args), fragment)


def test_day_filter_picks_the_finest_time_column():
    day = date(2024, 2, 10)
    assert day_filter(["interval_start", "year", "month"], day, day) == (
        "to_date(from_utc_timestamp(interval_start, 'Europe/Berlin')) BETWEEN DATE'2024-02-10' AND DATE'2024-02-10'")
    assert "session_start" in day_filter(["session_start", "year"], day, None)
    assert day_filter(["year", "month", "day"], day, day) == "year * 10000 + month * 100 + day BETWEEN 20240210 AND 20240210"
    assert day_filter(["year"], day, date(2025, 1, 1)) == "year BETWEEN 2024 AND 2025"
    assert day_filter(["region"], None, None) is None
    with pytest.raises(UserError, match="no time column"):
        day_filter(["region"], day, None)
