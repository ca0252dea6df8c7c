"""The models report: numbers from gold.emissions_monthly, the PNG, the table, the CLI and the Dagster asset."""
from __future__ import annotations

import base64
import math
from datetime import date

import pytest

from emission_assets.gold.report import (
    MODELS,
    format_report,
    monthly_report,
    plot_models,
)
from emission_assets.gold.tables import refresh_gold_tables
from emission_assets.lakehouse.session import Lakehouse
from emission_assets_tests.support.cli import run
from emission_assets_tests.support.silver_frames import consumption, factors, production

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
G_PER_KWH = {"average": 380.0, "merit_order": 520.0, "worst_emitter": 1050.0, "locality": 300.0}


def monthly_rows():
    """(year, month, home, model, basis, energy, ev, household, kg, ev_kg, household_kg); no locality in February."""
    rows = []
    for (year, month), energy in (((2024, 1), {"h1": (300.0, 100.0), "h2": (200.0, 0.0)}),
                                  ((2024, 2), {"h1": (250.0, 50.0), "h2": (150.0, 25.0)}),
                                  ((2024, 3), {"h1": (999.0, 9.0)})):
        for home, (kwh, ev) in energy.items():
            for model in MODELS:
                if model == "locality" and month == 2:
                    continue
                for basis, scale in (("direct", 1.0), ("lifecycle", 1.25)):
                    g = G_PER_KWH[model] * scale
                    rows.append((year, month, home, model, basis, kwh, ev, kwh - ev,
                                 kwh * g / 1000, ev * g / 1000, (kwh - ev) * g / 1000))
    return rows


@pytest.fixture
def emissions_monthly(spark, registry, writer):
    """The gold.emissions_monthly table holding :func:`monthly_rows`."""
    values = ", ".join(
        "(" + ", ".join(repr(v) if isinstance(v, str) else str(v) for v in row) + ")" for row in monthly_rows()
    )
    rows = spark.sql(f"""
        SELECT year, month, home_id, model, basis, CAST(e AS DECIMAL(24,6)) AS energy_kwh,
               CAST(ev AS DECIMAL(24,6)) AS ev_kwh, CAST(hh AS DECIMAL(24,6)) AS household_kwh,
               CAST(kg AS DOUBLE) AS emissions_kg, CAST(ev_kg AS DOUBLE) AS ev_emissions_kg,
               CAST(hh_kg AS DOUBLE) AS household_emissions_kg, CAST(kg * 1000 / e AS DOUBLE) AS g_per_kwh,
               CAST(0 AS DOUBLE) AS spread_kg
        FROM VALUES {values} AS t(year, month, home_id, model, basis, e, ev, hh, kg, ev_kg, hh_kg)""")
    writer.replace_months("gold.emissions_monthly", rows, [(2024, 1), (2024, 2), (2024, 3)])


def hand_sum(year, month, basis, index, model=None):
    return sum(r[index] for r in monthly_rows()
               if (r[0], r[1], r[4]) == (year, month, basis) and r[3] == (model or "average"))


def test_monthly_report_sums_all_homes_per_month_and_model(spark, registry, emissions_monthly):
    frame = monthly_report(spark, registry, date(2024, 1, 15), date(2024, 2, 3), "direct")

    assert list(frame["period"]) == ["2024-01", "2024-02"]  # whole months of start..end; March is outside
    for i, (year, month) in enumerate(((2024, 1), (2024, 2))):
        row = frame.iloc[i]
        # kWh once per home (not once per model): January 300 + 200, EV 100 + 0
        assert row["energy_kwh"] == pytest.approx(hand_sum(year, month, "direct", 5))
        assert row["ev_kwh"] == pytest.approx(hand_sum(year, month, "direct", 6))
        assert row["household_kwh"] == pytest.approx(hand_sum(year, month, "direct", 7))
        for model in MODELS:
            if model == "locality" and month == 2:
                assert math.isnan(row["locality_kg"]) and math.isnan(row["locality_ev_kg"])
                continue
            assert row[f"{model}_kg"] == pytest.approx(hand_sum(year, month, "direct", 8, model))
            assert row[f"{model}_ev_kg"] == pytest.approx(hand_sum(year, month, "direct", 9, model))
            assert row[f"{model}_household_kg"] == pytest.approx(hand_sum(year, month, "direct", 10, model))
    january = frame.iloc[0]
    assert january["energy_kwh"] == pytest.approx(500.0)
    assert january["average_kg"] == pytest.approx(500.0 * 380 / 1000)
    assert january["worst_emitter_ev_kg"] == pytest.approx(100.0 * 1050 / 1000)
    # the market-based view exists (over this test's empty silver.consumption): no market-based rows
    assert frame.attrs == {"basis": "direct", "start": "2024-01-15", "end": "2024-02-03", "market_sources": {},
                           "market_missing": None}
    assert frame["market_based_kg"].isna().all()


def test_monthly_report_reads_the_chosen_basis(spark, registry, emissions_monthly):
    direct = monthly_report(spark, registry, date(2024, 1, 1), date(2024, 1, 31), "direct")
    lifecycle = monthly_report(spark, registry, date(2024, 1, 1), date(2024, 1, 31), "lifecycle")
    assert lifecycle["energy_kwh"].iloc[0] == direct["energy_kwh"].iloc[0]
    assert lifecycle["merit_order_kg"].iloc[0] == pytest.approx(direct["merit_order_kg"].iloc[0] * 1.25)


def test_monthly_report_rejects_bad_arguments(spark, registry):
    with pytest.raises(ValueError, match="basis"):
        monthly_report(spark, registry, date(2024, 1, 1), date(2024, 1, 31), "scope3")
    with pytest.raises(ValueError, match="after"):
        monthly_report(spark, registry, date(2024, 2, 1), date(2024, 1, 31), "direct")


def test_plot_writes_a_png(spark, registry, emissions_monthly, tmp_path):
    frame = monthly_report(spark, registry, date(2024, 1, 1), date(2024, 3, 31), "lifecycle")
    path = plot_models(frame, tmp_path / "out" / "models.png")
    assert path == tmp_path / "out" / "models.png"
    data = path.read_bytes()
    assert len(data) > 10_000
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 600 and height > 400


def test_plot_of_no_data_still_writes_a_png(tmp_path):
    import pandas as pd

    empty = pd.DataFrame({"period": [], **{c: [] for m in MODELS for c in (f"{m}_ev_kg", f"{m}_household_kg")}})
    assert plot_models(empty, tmp_path / "empty.png").read_bytes().startswith(PNG_SIGNATURE)


def test_format_report_is_a_table_per_month_and_model(spark, registry, emissions_monthly):
    text = format_report(monthly_report(spark, registry, date(2024, 1, 1), date(2024, 2, 29), "direct"))
    lines = text.splitlines()
    assert "kg CO2" in lines[0] and "model" in lines[0]
    table = lines[:next(i for i, line in enumerate(lines) if not line.startswith("|"))]
    assert len(table) == 2 + 2 * len(MODELS)  # no market-based rows: silver.consumption is empty here
    assert "market_based: no rows in gold.market_based_monthly for these months" in lines
    assert "2024-01" in lines[2] and "500.0" in lines[2] and "190.0" in lines[2]  # 500 kWh x 380 g/kWh
    assert any("worst_emitter" in line and "525.0" in line for line in lines)  # 500 kWh x 1,050 g/kWh


# --- CLI ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, fragment", [
    (["--start", "2024-13-01", "--end", "2024-02-01"], "--start '2024-13-01'"),
    (["--start", "2024-01-01", "--end", "yesterday"], "--end 'yesterday'"),
    (["--start", "2024-03-01", "--end", "2024-02-01"], "after"),
])
def test_report_cli_rejects_bad_dates_with_exit_2(args, fragment):
    result = run("report", *args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert fragment in result.stderr


@pytest.fixture
def lakehouse(spark, registry, writer, monkeypatch):
    """The CLI and the asset open this test's lakehouse (and its tables)."""
    house = Lakehouse(spark, registry, writer)
    for module in ("emission_assets.lakehouse.session", "emission_assets.orchestration.resources"):
        monkeypatch.setattr(f"{module}.open_lakehouse", lambda *a, **k: house)
    return house


def test_report_cli_prints_the_table_and_writes_the_png(lakehouse, report_inputs, tmp_path):
    result = run("report", "--start", "2024-01-01", "--end", "2024-02-29", "--basis", "lifecycle")
    assert result.exit_code == 0, result.output
    assert "merit_order" in result.output and "2024-02" in result.output
    # lifecycle: no market-based figure (direct CO2 only) and the UBA line points to the direct report
    assert "market_based: market-based factors are direct CO2 only" in result.output
    assert "UBA's national factor is direct CO2" in result.output
    expected = tmp_path / "home" / "reports" / "models_2024-01-01_2024-02-29_lifecycle.png"
    assert f"chart: {expected}" in result.output
    assert expected.read_bytes().startswith(PNG_SIGNATURE)
    # January only: February is left out of the table
    january = run("report", "--start", "2024-01-01", "--end", "2024-01-31")
    assert january.exit_code == 0 and "2024-01" in january.output and "2024-02" not in january.output
    # direct: the market-based row (2 kWh a day x 2 days at the residual mix carried forward from 2021) and the UBA
    # line for 2024: the average model's 500 g/kWh (lignite 1,000 and solar 0, 1 MWh each) against UBA's 363
    market = next(line for line in january.output.splitlines() if "| market_based" in line)
    assert "617.8" in market and f"{4 * 617.84 / 1000:.1f}" in market
    assert "market_based 2024: German residual mix 2021: AIB" in january.output
    uba = next(line for line in january.output.splitlines() if line.split("|")[1:2] == ["   2024 "])
    assert "500" in uba and "363" in uba and "estimate" in uba and f"{(500 / 363 - 1) * 100:+.0f} %" in uba


def test_report_cli_with_no_data_is_a_user_error(lakehouse, report_inputs):
    result = run("report", "--start", "2023-01-01", "--end", "2023-02-01", "--output", "x.png")
    assert result.exit_code == 2, result.output
    assert "no direct emissions" in result.stderr


# --- Dagster asset -----------------------------------------------------------------------------------------------


@pytest.fixture
def report_inputs(spark, registry, writer):
    """Two months of production (lignite 1 MWh, solar 1 MWh per hour) and consumption in the same hours."""
    days = [date(2024, 1, 10), date(2024, 1, 11), date(2024, 2, 10)]
    writer.replace_days("silver.production", production(spark, [(t, d) for t in ("lignite", "solar") for d in days]),
                        days[0], days[-1])
    writer.replace_days("silver.consumption", consumption(spark, days), days[0], days[-1])
    writer.append("silver.emission_factors", factors(spark, [
        (t, b, g, date(2020, 1, 1), None, False) for t, g in (("lignite", 1000.0), ("solar", 0.0))
        for b in ("direct", "lifecycle")]))
    refresh_gold_tables(spark, registry)  # what the monthly gold assets do
    return days


def materialise_report():
    from dagster import build_asset_context

    from emission_assets.gold.report_assets import emissions_report_asset
    from emission_assets.orchestration.resources import SparkResource

    with build_asset_context() as context:
        return emissions_report_asset(context=context, spark=SparkResource())


def test_report_asset_attaches_the_png_and_the_table(spark, registry, writer, lakehouse, report_inputs, tmp_path):
    result = materialise_report()
    metadata = result.metadata
    png = tmp_path / "home" / "reports" / "models_2024-01_2024-02_direct.png"
    assert metadata["png"].value == str(png)
    encoded = metadata["report"].value.removeprefix("![models](data:image/png;base64,").removesuffix(")")
    assert base64.b64decode(encoded) == png.read_bytes()
    assert "merit_order" in metadata["table"].value
    assert (metadata["first_month"], metadata["last_month"], metadata["months"]) == ("2024-01", "2024-02", 2)
    assert "report_lifecycle" in metadata
    # January: 2 hours x 2 kWh at the average of lignite and solar (500 g/kWh) = 2 kg; worst emitter 1,000 g/kWh.
    kg = {(r.month, r.model): r.kg for r in spark.sql(
        "SELECT month, model, emissions_kg AS kg FROM gold.emissions_monthly WHERE basis = 'direct'").collect()}
    assert kg[(1, "average")] == pytest.approx(2.0) and kg[(1, "worst_emitter")] == pytest.approx(4.0)
    assert kg[(2, "average")] == pytest.approx(1.0)


def test_report_asset_without_emissions_makes_no_report(spark, registry, lakehouse):
    result = materialise_report()
    assert result.metadata == {"months": 0}
