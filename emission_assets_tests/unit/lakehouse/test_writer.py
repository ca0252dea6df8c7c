"""The writer replaces exactly the days it is asked to, and re-running changes nothing."""
from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from deltalake import DeltaTable

from emission_assets.lakehouse.registry import Registry, spec
from emission_assets.lakehouse.writer import STALE_SCRATCH_SECONDS, day_predicate, month_predicate

UTC = timezone.utc


def production_rows(spark, days: list[date], energy: float, hours: int = 24):
    rows = []
    for day in days:
        for hour in range(hours):
            start = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)
            rows.append(
                (start, start + timedelta(hours=1), "DE", "lignite", 1223, "hour", energy, energy,
                 "f.json", start, day.year, day.month, day.day)
            )
    schema = (
        "interval_start timestamp, interval_end timestamp, region string, production_type string, filter_id int, "
        "resolution string, energy_mwh double, power_mw double, source_file string, fetched_at timestamp, "
        "year int, month int, day int"
    )
    return spark.createDataFrame(rows, schema)


def energy_by_day(registry, name="silver.production"):
    """Read with delta-rs, independently of the engine that wrote the table."""
    table = DeltaTable(registry.path(name)).to_pandas()
    grouped = table.groupby(["year", "month", "day"])["energy_mwh"].agg(["sum", "count"])
    return {date(int(y), int(m), int(d)): (row["sum"], int(row["count"])) for (y, m, d), row in grouped.iterrows()}


DAYS = [date(2024, 3, d) for d in range(1, 6)]


def test_replace_one_day_leaves_every_other_day_intact(spark, writer, registry):
    writer.append("silver.production", production_rows(spark, DAYS, 1.0))
    before_version = DeltaTable(registry.path("silver.production")).version()

    writer.replace_days("silver.production", production_rows(spark, [DAYS[2]], 5.0, hours=23), DAYS[2], DAYS[2])

    got = energy_by_day(registry)
    assert got[DAYS[2]] == (5.0 * 23, 23)
    for day in DAYS[:2] + DAYS[3:]:
        assert got[day] == (24.0, 24), day
    assert DeltaTable(registry.path("silver.production")).version() == before_version + 1
    assert DeltaTable(registry.path("silver.production")).protocol().min_reader_version == 1


def test_replace_is_idempotent(spark, writer, registry):
    writer.append("silver.production", production_rows(spark, DAYS, 1.0))
    replacement = production_rows(spark, DAYS[1:3], 2.0)
    writer.replace_days("silver.production", replacement, DAYS[1], DAYS[2])
    first = energy_by_day(registry)
    writer.replace_days("silver.production", replacement, DAYS[1], DAYS[2])
    assert energy_by_day(registry) == first
    assert first[DAYS[0]] == (24.0, 24) and first[DAYS[3]] == (24.0, 24) and first[DAYS[4]] == (24.0, 24)
    assert first[DAYS[1]] == (48.0, 24)


def test_replace_range_drops_days_that_have_no_rows_any_more(spark, writer, registry):
    writer.append("silver.production", production_rows(spark, DAYS, 1.0))
    writer.replace_days("silver.production", production_rows(spark, [DAYS[1]], 3.0), DAYS[1], DAYS[3])
    got = energy_by_day(registry)
    assert set(got) == {DAYS[0], DAYS[1], DAYS[4]}
    assert got[DAYS[1]] == (72.0, 24)


def test_replace_refuses_rows_outside_the_range(spark, writer, registry):
    writer.append("silver.production", production_rows(spark, DAYS, 1.0))
    with pytest.raises(ValueError, match="another day"):
        writer.replace_days("silver.production", production_rows(spark, [DAYS[3]], 9.0), DAYS[2], DAYS[2])
    assert all(v == (24.0, 24) for v in energy_by_day(registry).values())


def test_replace_with_the_days_the_caller_counted_refuses_a_day_outside_the_range(spark, writer, registry):
    writer.append("silver.production", production_rows(spark, DAYS, 1.0))
    with pytest.raises(ValueError, match=r"another day \(\(2024, 3, 4\)\)"):
        writer.replace_days("silver.production", production_rows(spark, [DAYS[3]], 9.0), DAYS[2], DAYS[2],
                            days_in_data={DAYS[3]})
    assert all(v == (24.0, 24) for v in energy_by_day(registry).values())
    writer.replace_days("silver.production", production_rows(spark, [DAYS[2]], 9.0), DAYS[2], DAYS[2],
                        days_in_data={DAYS[2]})
    assert energy_by_day(registry)[DAYS[2]] == (9.0 * 24, 24) and energy_by_day(registry)[DAYS[1]] == (24.0, 24)


def test_replace_across_month_boundary(spark, writer, registry):
    days = [date(2024, 1, 31), date(2024, 2, 1), date(2024, 2, 2)]
    writer.append("silver.production", production_rows(spark, days, 1.0))
    writer.replace_days("silver.production", production_rows(spark, days[:2], 4.0), days[0], days[1])
    got = energy_by_day(registry)
    assert got == {days[0]: (96.0, 24), days[1]: (96.0, 24), days[2]: (24.0, 24)}


def test_day_predicate():
    assert day_predicate(date(2024, 3, 31), date(2024, 3, 31)) == "year = 2024 AND month = 3 AND day = 31"
    assert "BETWEEN 20231231 AND 20240102" in day_predicate(date(2023, 12, 31), date(2024, 1, 2))
    with pytest.raises(ValueError, match=r"empty day range 2024-01-02\.\.2024-01-01"):
        day_predicate(date(2024, 1, 2), date(2024, 1, 1))


def test_month_predicate_compares_the_partition_columns_plainly():
    # plain comparisons: Sail prunes partitions for them, not for an expression such as year * 100 + month
    assert month_predicate([(2024, 2), (2024, 1)]) == "(year = 2024 AND month IN (1, 2))"
    assert month_predicate([(2024, 1), (2023, 12), (2024, 1)]) == (
        "((year = 2023 AND month IN (12)) OR (year = 2024 AND month IN (1)))")
    with pytest.raises(ValueError, match="no month to replace"):
        month_predicate([])


def test_a_month_predicate_scan_lists_only_that_months_files(spark, writer, registry):
    days = [date(2023, 12, 31), date(2024, 1, 1), date(2024, 2, 1)]
    for day in days:
        writer.replace_days("silver.production", production_rows(spark, [day], 1.0, hours=1), day, day)
    plan = spark.sql(f"EXPLAIN SELECT sum(energy_mwh) FROM silver.production "
                     f"WHERE {month_predicate([(2024, 1)])}").collect()[0][0]
    assert "year=2024/month=1/" in plan
    assert "month=12/" not in plan and "month=2/" not in plan


def test_insert_new_is_exactly_once(spark, writer, registry):
    from emission_assets.smard.bronze import FILE_ROW_SCHEMA, typed_responses

    def bronze(names):
        return typed_responses(spark.createDataFrame(
            [(n, "sha", "api", "http://x", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC), "run",
              1223, "DE", "hour", datetime(2023, 12, 31, 23, tzinfo=UTC), "{}", date(2024, 1, 1)) for n in names],
            FILE_ROW_SCHEMA,
        ))

    assert writer.insert_new("bronze.smard_responses", bronze(["a", "b"]), ["file_name"]) == 2
    assert writer.insert_new("bronze.smard_responses", bronze(["b", "c"]), ["file_name"]) == 1
    assert writer.insert_new("bronze.smard_responses", bronze(["a", "b", "c"]), ["file_name"]) == 0
    names = sorted(DeltaTable(registry.path("bronze.smard_responses")).to_pandas()["file_name"])
    assert names == ["a", "b", "c"]


def test_registration_survives_a_new_session_catalog(spark, writer, registry):
    """Sail's catalog is in memory: registering again re-points the tables without touching their data."""
    writer.append("silver.production", production_rows(spark, DAYS[:1], 1.0))
    registry.register(spark, force=True)
    assert spark.sql("SELECT count(*) FROM silver.production").collect()[0][0] == 24


def report_rows(spark, months, kg: float):
    data = [("home", "average", "direct", 1.0, kg, year, month) for year, month in months]
    return spark.sql(
        "SELECT home_id, model, basis, CAST(e AS DECIMAL(24,6)) AS energy_kwh, CAST(0 AS DECIMAL(24,6)) AS ev_kwh, "
        "CAST(e AS DECIMAL(24,6)) AS household_kwh, CAST(kg AS DOUBLE) AS emissions_kg, "
        "CAST(0 AS DOUBLE) AS ev_emissions_kg, CAST(kg AS DOUBLE) AS household_emissions_kg, "
        "CAST(kg AS DOUBLE) AS g_per_kwh, CAST(0 AS DOUBLE) AS spread_kg, CAST(year AS INT) AS year, "
        "CAST(month AS INT) AS month FROM VALUES "
        + ", ".join(str(row) for row in data) + " AS t(home_id, model, basis, e, kg, year, month)")


def test_replace_months_leaves_every_other_month_intact(spark, writer, registry):
    months = [(2023, 12), (2024, 1), (2024, 2)]
    writer.replace_months("gold.emissions_monthly", report_rows(spark, months, 1.0), months)
    writer.replace_months("gold.emissions_monthly", report_rows(spark, [(2024, 1)], 5.0), [(2024, 1)])
    kg = dict(((r.year, r.month), r.kg) for r in spark.sql(
        "SELECT year, month, emissions_kg AS kg FROM gold.emissions_monthly").collect())
    assert kg == {(2023, 12): 1.0, (2024, 1): 5.0, (2024, 2): 1.0}
    # and through delta-rs: one file set per month, protocol untouched
    table = DeltaTable(registry.path("gold.emissions_monthly"))
    assert table.to_pyarrow_table().num_rows == 3
    assert (table.protocol().min_reader_version, table.protocol().min_writer_version) == (1, 2)
    with pytest.raises(ValueError, match="another month"):
        writer.replace_months("gold.emissions_monthly", report_rows(spark, [(2024, 3)], 1.0), [(2024, 2)])
    # clip: rows outside the months are left out instead of refused; the other months keep their rows
    writer.replace_months("gold.emissions_monthly", report_rows(spark, [(2024, 2), (2024, 3)], 7.0), [(2024, 2)],
                          clip=True)
    kg = dict(((r.year, r.month), r.kg) for r in spark.sql(
        "SELECT year, month, emissions_kg AS kg FROM gold.emissions_monthly").collect())
    assert kg == {(2023, 12): 1.0, (2024, 1): 5.0, (2024, 2): 7.0}


def test_maintain_compacts_and_vacuums_without_changing_a_row(spark, writer, registry):
    from click.testing import CliRunner

    from emission_assets.cli import main

    for day in DAYS:  # one append per day: bronze-like small files, then a rewrite leaving replaced files behind
        writer.append("silver.production", production_rows(spark, [day], 1.0))
    writer.replace_days("silver.production", production_rows(spark, DAYS[:2], 2.0), DAYS[0], DAYS[1])
    before = energy_by_day(registry)
    path = registry.path("silver.production")
    on_disk = lambda: sum(1 for _ in Path(path).rglob("*.parquet"))  # noqa: E731

    files_before = on_disk()
    result = writer.maintain("silver.production", retain_hours=0)
    assert result["files_deleted"] > 0 and on_disk() < files_before
    assert result["files_after"] <= len(DAYS)  # at most one file per day partition
    assert energy_by_day(registry) == before  # delta-rs and the engine read the compacted table: same rows
    engine = spark.sql("SELECT day, sum(energy_mwh) AS e, count(*) AS n FROM silver.production GROUP BY day").collect()
    assert {r.day: (r.e, r.n) for r in engine} == {d.day: v for d, v in before.items()}
    table = DeltaTable(path)
    assert (table.protocol().min_reader_version, table.protocol().min_writer_version) == (1, 2)
    # writes still work after delta-rs committed; the CLI runs the same maintenance over every table (of its home)
    writer.replace_days("silver.production", production_rows(spark, [DAYS[0]], 3.0), DAYS[0], DAYS[0])
    assert energy_by_day(registry)[DAYS[0]] == (72.0, 24)
    cli = CliRunner().invoke(main, ["maintain", "--retain-hours", "1"])
    assert cli.exit_code == 0, cli.output
    assert "silver.production" in cli.output and "gold.grid_intensity" in cli.output


def scratch_entries(registry) -> list[str]:
    folder = registry.lakehouse_root / "_scratch"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_staged_rows_are_read_from_one_copy_that_is_gone_afterwards(spark, writer, registry):
    writer.append("silver.production", production_rows(spark, DAYS, 1.0))
    with writer.staged("silver.production", production_rows(spark, [DAYS[2]], 5.0, hours=23)) as staged:
        assert len(scratch_entries(registry)) == 1  # one copy while the block runs
        assert staged.count() == 23
        writer.replace_days("silver.production", staged, DAYS[2], DAYS[2])
    assert scratch_entries(registry) == []
    got = energy_by_day(registry)
    assert got[DAYS[2]] == (5.0 * 23, 23)
    assert all(got[day] == (24.0, 24) for day in DAYS if day != DAYS[2])  # the other days survive


def test_a_staged_copy_is_removed_when_the_block_fails_and_the_table_keeps_its_rows(spark, writer, registry):
    writer.append("silver.production", production_rows(spark, DAYS, 1.0))
    before = energy_by_day(registry)
    with pytest.raises(RuntimeError, match="^refused after staging$"):
        with writer.staged("silver.production", production_rows(spark, DAYS, 9.0)) as staged:
            assert staged.count() == 24 * len(DAYS)
            raise RuntimeError("refused after staging")
    assert scratch_entries(registry) == []
    assert energy_by_day(registry) == before


def test_staging_no_rows_gives_an_empty_frame_with_the_table_columns(spark, writer, registry):
    empty = production_rows(spark, DAYS, 1.0).where("day = 0")
    with writer.staged("silver.production", empty) as staged:
        assert staged.count() == 0
        assert staged.columns == spec("silver.production").column_names
    assert scratch_entries(registry) == []


def test_staging_some_columns_copies_only_those_and_refuses_unknown_ones(spark, writer, registry):
    rows = production_rows(spark, DAYS[:1], 2.0)
    with writer.staged("silver.production", rows, ["interval_start", "energy_mwh", "day"]) as staged:
        assert staged.columns == ["interval_start", "energy_mwh", "day"]
        assert [tuple(r) for r in staged.groupBy("day").agg({"energy_mwh": "sum"}).collect()] == [(DAYS[0].day, 48.0)]
    assert scratch_entries(registry) == []
    with pytest.raises(ValueError, match=r"cannot stage silver.production: it has no columns \['kwh'\]"):
        with writer.staged("silver.production", rows, ["energy_mwh", "kwh"]):
            pass
    assert scratch_entries(registry) == []


def test_staging_removes_scratch_copies_a_killed_process_left_behind(spark, writer, registry):
    folder = registry.lakehouse_root / "_scratch"
    stale, recent = folder / "silver.production-stale", folder / "silver.production-recent"
    for left in (stale, recent):
        left.mkdir(parents=True)
        (left / "part.parquet").write_bytes(b"x")
    day_old = time.time() - STALE_SCRATCH_SECONDS - 60
    os.utime(stale, (day_old, day_old))
    with writer.staged("silver.production", production_rows(spark, [DAYS[0]], 1.0)) as staged:
        staged.count()
    assert scratch_entries(registry) == ["silver.production-recent"]  # another run's copy in use is left alone


def test_in_unity_catalog_a_scratch_copy_is_a_table_next_to_the_target():
    assert (Registry(catalog="main").scratch("silver.production", "ab12")
            == "main.silver._scratch_production_ab12")
