"""Checks decide, through the real command line: a CSV import with a negative value, a run that would lose series, a
warning. Each asserts the exit code, what stderr says (check, asset, the offending days or rows, the file and
interval) and what silver holds afterwards (nothing lost, nothing changed behind the user's back)."""
from __future__ import annotations

from pathlib import Path

from dagster import AssetKey, DagsterInstance

from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.orchestration.check_report import CHECK_FAILED_EXIT
from emission_assets.settings import paths
from emission_assets.smard.catalog import GENERATION_FILTERS
from emission_assets_tests.support.autumn_home import AUTUMN_DAYS as DAYS
from emission_assets_tests.support.autumn_home import SMARD_FACTORS_GOLD as SMARD_AND_REPORT
from emission_assets_tests.support.cli import run
from emission_assets_tests.support.paths import SMARD_AUTUMN_HOUR_CSV as AUTUMN  # 24 + 25 + 24 hours

SERIES = len(GENERATION_FILTERS)
ROWS_PER_DAY = {29: 24 * SERIES, 30: 25 * SERIES, 31: 24 * SERIES}
# The reservoir holds the days after the import; SMARD_BASE_URL points nowhere (conftest), so nothing is fetched.
WITHOUT_FETCH = ("--select", "key:bronze/smard_responses", "--select", "key:silver/production",
                 "--select", "key:gold/emissions_report")
REPORT = AssetKey(["gold", "emissions_report"])


def silver_rows() -> list:
    """Every silver.production row, with the file it came from (a rewrite changes ``source_file``)."""
    return sorted(open_lakehouse().spark.sql(
        "SELECT interval_start, region, production_type, energy_mwh, source_file FROM silver.production").collect())


def rows_per_day() -> dict[int, int]:
    rows = open_lakehouse().spark.sql("SELECT day, count(*) AS n FROM silver.production GROUP BY day").collect()
    return {r.day: r.n for r in rows}


def report_runs() -> int:
    """How many times the report was materialised (the Dagster instance of the home, as the UI shows it)."""
    with DagsterInstance.get() as instance:
        return len(instance.fetch_materializations(REPORT, limit=100).records)


def with_negative_lignite(tmp_path: Path) -> Path:
    """The fixture with Braunkohle 29.10.2022 00:00-01:00 (11.579,25 MWh) typed as -5.000,00."""
    lines = AUTUMN.read_text(encoding="utf-8-sig").splitlines()
    assert ";11.579,25;" in lines[1]
    lines[1] = lines[1].replace(";11.579,25;", ";-5.000,00;")
    path = tmp_path / "Realisierte_Erzeugung_typo.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def imported_and_materialized(autumn_smard_home, monkeypatch):
    """``import smard-csv AUTUMN`` then ``materialize DAYS SMARD_AND_REPORT`` (run once per worker, the home copied
    here); their exit codes asserted as if this test had run them."""
    assert autumn_smard_home.imported.exit_code == 0, autumn_smard_home.imported.output
    first = autumn_smard_home.materialized
    assert first.exit_code == 0, first.output
    autumn_smard_home.copy_to_test_home(monkeypatch)
    return first


def test_a_negative_value_fails_the_run_naming_file_and_interval_and_silver_keeps_its_rows(
        spark, tmp_path, autumn_smard_home, monkeypatch):
    imported_and_materialized(autumn_smard_home, monkeypatch)
    before, reports = silver_rows(), report_runs()
    assert len(before) == sum(ROWS_PER_DAY.values()) and reports == 1
    bad = with_negative_lignite(tmp_path)
    assert run("import", "smard-csv", str(bad)).exit_code == 0  # a newer version of every window

    result = run("materialize", *DAYS, *SMARD_AND_REPORT)

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stdout.splitlines()[-1].startswith("FAILED 2022-10-29..2022-10-31")
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("Error: step silver__production of run ")
    assert "NegativeEnergyError: silver/production: negative energy -5000 MWh for lignite in DE (hour) at " \
           "2022-10-29 00:00 CEST (2022-10-28T22:00Z)" in error
    assert f"(from file:{bad.resolve()})" in error and "in reservoir file smard/2022-10-24/1223_DE_hour_" in error
    assert "nothing of 2022-10-29..2022-10-31 was written" in error
    assert silver_rows() == before  # the previous import's rows, every one
    assert report_runs() == reports  # the report did not run on the refused data
    bronze = open_lakehouse().spark.sql(
        f"SELECT count(*) FROM bronze.smard_responses WHERE source_url = 'file:{bad.resolve()}'").collect()[0][0]
    assert bronze == 2 * SERIES  # bronze keeps the bad file's windows: nothing is lost, the next fix wins

    assert run("import", "smard-csv", str(AUTUMN)).exit_code == 0  # the corrected export, newer still
    fixed = run("materialize", *DAYS, *SMARD_AND_REPORT)
    assert fixed.exit_code == 0, fixed.output
    assert [r[:4] for r in silver_rows()] == [r[:4] for r in before]  # the same values, from the newest files


def test_a_run_that_would_lose_a_series_fails_the_check_keeps_the_days_and_the_report_does_not_run(
        spark, autumn_smard_home, monkeypatch):
    imported_and_materialized(autumn_smard_home, monkeypatch)
    before, reports = silver_rows(), report_runs()
    # Wind onshore's windows leave the reservoir (deleted, or set aside as unreadable), and bronze is rebuilt.
    for file in paths().reservoir.rglob("4067_*"):
        file.unlink()
    assert run("reset", "--layer", "bronze", "--yes").exit_code == 0
    lakehouse = open_lakehouse()  # a new process would create the empty bronze table; this one keeps its session
    lakehouse.registry.register(lakehouse.spark, force=True)

    result = run("materialize", *DAYS, *WITHOUT_FETCH)

    assert result.exit_code == CHECK_FAILED_EXIT == 3, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0] == ("Error: check no_series_lost on silver/production failed: series_lost: 3, "
                        "days_not_replaced: 2022-10-29, 2022-10-30, 2022-10-31")
    assert lines[1:4] == [f"  lost: 2022-10-{day} DE wind_onshore: {hours} rows in silver.production, none in the new rows"
                          for day, hours in ((29, 24), (30, 25), (31, 24))]
    assert lines[-1] == ("Error: 1 check(s) of severity ERROR failed on silver/production; nothing downstream of it "
                         "ran (exit code 3)")
    assert silver_rows() == before  # every day kept, wind onshore included
    assert rows_per_day() == ROWS_PER_DAY
    assert report_runs() == reports  # blocked: gold/emissions_report did not run


def test_a_failed_warning_is_printed_and_the_exit_code_stays_0(spark):
    assert run("import", "smard-csv", str(AUTUMN)).exit_code == 0

    result = run("materialize", "--start", "2022-10-28", "--end", "2022-10-31", "--select",
                 "key:bronze/smard_responses", "--select", "key:silver/production")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("materialised 2022-10-28..2022-10-31")
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning: check ")]
    assert warning == ["warning: check complete_days on silver/production: incomplete_series_days: 0"]
    assert "  days_without_data: 2022-10-28" in result.stderr.splitlines()
    assert "Error" not in result.stderr
    assert rows_per_day() == ROWS_PER_DAY
