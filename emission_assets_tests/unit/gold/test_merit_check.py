"""The gold check "only a fossil stack unit is ever marginal": passes on the model's rows, fails on a crafted one."""
from __future__ import annotations

from datetime import datetime

from emission_assets.gold.merit_checks import CHECK_NAME, never_marginal_findings
from emission_assets.gold.tables import intensity_checks
from emission_assets.lakehouse.registry import spec
from emission_assets_tests.unit.gold.test_assets import GRID, home, run_gold  # noqa: F401 (home: the fixture)

JANUARY = [(2024, 1)]


def intensity_row(determined_by, start=datetime(2024, 1, 12, 10), model="merit_order", g=0.0):
    return (start, start.replace(hour=start.hour + 1), "DE", model, "direct", g, determined_by, 1.0, "hour", 2024, 1)


def test_the_model_passes_the_check_on_every_merit_order_row(spark, home):  # noqa: F811
    result = run_gold([GRID], "2024-01-01", "2024-02-01")
    assert result.success
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}[CHECK_NAME]
    assert check.passed
    assert check.metadata["merit_order_rows"].value == 3 * 2  # 3 hours x 2 bases
    assert check.metadata["rows_not_fossil"].value == 0 and check.metadata["offenders"].value == "none"


def test_a_nuclear_or_renewable_marginal_row_fails_the_check_naming_it(spark, home):  # noqa: F811
    assert run_gold([GRID], "2024-01-01").success
    home.writer.append("gold.grid_intensity", spark.createDataFrame([
        intensity_row("nuclear:KKW1"), intensity_row("pumped_storage:PSW1", datetime(2024, 1, 12, 11)),
        intensity_row("wind_onshore", datetime(2024, 1, 12, 12)),
        intensity_row("wind_onshore", model="worst_emitter"),  # another model's row: not the merit order's rule
    ], spec("gold.grid_intensity").ddl))
    found = never_marginal_findings(spark, home.registry, JANUARY)
    assert (found.rows, found.rows_not_fossil) == (2 * 2 + 3, 3)
    # the bounds check's pass counts the same merit_order rows (what the asset passes on, one query less)
    assert intensity_checks(spark, home.registry, JANUARY).merit_order_rows == found.rows
    assert found.offenders == ["nuclear: 1 rows, 2024-01-12 10:00:00..2024-01-12 10:00:00",
                               "pumped_storage: 1 rows, 2024-01-12 11:00:00..2024-01-12 11:00:00",
                               "wind_onshore: 1 rows, 2024-01-12 12:00:00..2024-01-12 12:00:00"]
    assert never_marginal_findings(spark, home.registry, [(2024, 2)]).rows_not_fossil == 0


def test_the_asset_fails_its_check_when_the_model_names_nuclear(spark, home, monkeypatch):  # noqa: F811
    from emission_assets.models import grid_intensity

    real = grid_intensity.merit_order_sql

    def nuclear_at_the_margin(registry, known_at=None):  # a broken model: its input to the check
        return (f"SELECT interval_start, interval_end, region, model, basis, g_per_kwh, 'nuclear:KKW1' AS determined_by, "
                f"production_mwh, resolution FROM ({real(registry, known_at)}) m")

    monkeypatch.setattr(grid_intensity, "merit_order_sql", nuclear_at_the_margin)
    result = run_gold([GRID], "2024-01-01")
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}[CHECK_NAME]
    assert not check.passed and not result.success  # blocking
    assert check.metadata["rows_not_fossil"].value == 2 * 2
    assert "nuclear: 4 rows" in check.metadata["offenders"].value
