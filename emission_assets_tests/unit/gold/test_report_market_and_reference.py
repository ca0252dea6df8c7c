"""The report's market-based figure (next to the location-based models, with its factor's source) and the UBA
reference line per year, on hand numbers."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from emission_assets.gold.market_based import VIEW, market_based_sql
from emission_assets.gold.reference import (
    WHY_THEY_DIFFER,
    UbaFactor,
    format_reference,
    read_uba_factors,
    reference_frame,
)
from emission_assets.gold.report import (
    MARKET_COLUMNS,
    REPORT_MODELS,
    ROW_COLUMNS,
    format_report,
    monthly_report,
    plot_models,
    report_frame,
)
from emission_assets_tests.support.silver_frames import consumption

UBA = {2022: UbaFactor(2022, 433.0, "final", "CC 13/2025", "quotation", "UBA test", "attribution")}


def location_rows(year=2022, month=1, kwh=(300.0, 200.0), g=350.0):
    """gold.emissions_monthly rows: two homes, every location-based model at ``g`` g/kWh (no EV)."""
    return pd.DataFrame([
        (year, month, f"h{i}", model, basis, e, 0.0, e, e * g / 1000, 0.0, e * g / 1000)
        for i, e in enumerate(kwh) for model in ("average", "merit_order", "worst_emitter", "locality")
        for basis in ("direct", "lifecycle")], columns=ROW_COLUMNS)


def market(year=2022, month=1, kwh=(300.0, 200.0), g=600.0, note="no 2022 figure: latest earlier one (2021)"):
    """gold.market_based_monthly rows of the same homes at ``g`` g/kWh (residual mix)."""
    return pd.DataFrame([
        (year, month, f"h{i}", "direct", e, 0.0, e, e * g / 1000, 0.0, e * g / 1000, 2021, False,
         "German residual mix 2021: AIB test", note) for i, e in enumerate(kwh)], columns=MARKET_COLUMNS)


def test_market_based_sits_next_to_the_location_based_models():
    frame = report_frame(location_rows(), "direct", market=market())
    january = frame.iloc[0]
    assert january["energy_kwh"] == pytest.approx(500.0)  # kWh once per home, not once per model
    assert january["average_kg"] == pytest.approx(500 * 350 / 1000)  # 175 kg
    assert january["market_based_kg"] == pytest.approx(500 * 600 / 1000)  # 300 kg
    assert frame.attrs["market_sources"] == {
        2022: "German residual mix 2021: AIB test (no 2022 figure: latest earlier one (2021))"}
    text = format_report(frame)
    assert any("market_based" in line and "300.0" in line and "600.0" in line for line in text.splitlines())
    assert "market_based 2022: German residual mix 2021: AIB test (no 2022 figure: latest earlier one (2021))" in text
    assert "UBA reference" in text and WHY_THEY_DIFFER in text


def test_the_lifecycle_report_says_why_it_has_no_market_based_figure():
    frame = report_frame(location_rows(), "lifecycle", market=market())
    assert frame["market_based_kg"].isna().all()
    text = format_report(frame)
    assert "market_based: market-based factors are direct CO2 only (see --basis direct)" in text
    assert "UBA's national factor is direct CO2; it is shown in the direct report" in text


def test_a_report_without_the_view_says_how_to_create_it():
    text = format_report(report_frame(location_rows(), "direct", market=None))
    assert "market_based: gold.market_based_monthly is not created yet (materialise gold/market_based_monthly)" in text


def test_the_uba_line_puts_the_national_factor_next_to_the_households_average():
    rows = pd.concat([location_rows(month=1, g=350.0), location_rows(month=2, kwh=(100.0, 0.0), g=450.0),
                      location_rows(year=2023, g=300.0)])
    table = reference_frame(report_frame(rows, "direct"), UBA)
    by_year = table.set_index("year")
    # 2022: (500 x 350 + 100 x 450) g / 600 kWh = 366.7 g/kWh against UBA's 433: -15 %
    assert by_year.loc[2022, "household_average_g_per_kwh"] == pytest.approx((500 * 350 + 100 * 450) / 600)
    assert by_year.loc[2022, "months"] == 2 and by_year.loc[2022, "uba_g_per_kwh"] == 433.0
    assert by_year.loc[2022, "difference_pct"] == pytest.approx(((500 * 350 + 100 * 450) / 600 / 433 - 1) * 100)
    assert by_year.loc[2023, "uba_status"] == "not in the table" and pd.isna(by_year.loc[2023, "uba_g_per_kwh"])
    text = format_reference(report_frame(rows, "direct"), UBA)
    line_2022 = next(line for line in text.splitlines() if line.split("|")[1:2] == ["   2022 "])
    assert "367" in line_2022 and "433" in line_2022 and "-15 %" in line_2022 and "final" in line_2022
    assert text.endswith(WHY_THEY_DIFFER)


def test_the_committed_uba_table_is_valid_and_sourced():
    uba = read_uba_factors()
    assert {y: f.g_per_kwh for y, f in uba.items()} == {2019: 411, 2020: 375, 2021: 420, 2022: 433, 2023: 386,
                                                        2024: 363}
    assert all(f.source and f.licence and f.edition for f in uba.values())


@pytest.mark.parametrize(("row", "message"), [
    ("2022,433,maybe,CC,quotation,s,l,", r"line 2, column 'uba_status': unknown value 'maybe'"),
    ("2022,4x3,final,CC,quotation,s,l,", r"line 2, column 'co2_g_per_kwh': not a number: '4x3'"),
    ("2022,433,final,,quotation,s,l,", r"line 2, column 'edition': name the UBA edition of the figure"),
    ("1800,433,final,CC,quotation,s,l,", r"line 2, column 'year': year must be 1990..2100, got 1800"),
])
def test_uba_table_errors_name_file_line_and_column(tmp_path, row, message):
    path = tmp_path / "uba.csv"
    path.write_text(f"year,co2_g_per_kwh,uba_status,edition,checked,source,licence,note\n{row}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"^{path}: {message}"):
        read_uba_factors(path)


def test_the_png_carries_the_market_based_bars_and_the_uba_marker(tmp_path):
    frame = report_frame(location_rows(), "direct", market=market())
    data = plot_models(frame, tmp_path / "models.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert "market_based" in REPORT_MODELS


def test_monthly_report_reads_the_market_based_view(spark, registry, writer, monkeypatch):
    monkeypatch.setenv("EMISSION_SUPPLIER_G_PER_KWH", "100")
    monkeypatch.setenv("EMISSION_SUPPLIER_SOURCE", "Stadtwerke Test, Stromkennzeichnung 2023")
    days = [date(2022, 1, 10), date(2022, 1, 11)]
    writer.replace_days("silver.consumption", consumption(spark, days), days[0], days[-1])  # 2 x 2 kWh
    spark.sql(f"CREATE OR REPLACE VIEW {registry.sql_name(VIEW)} AS {market_based_sql(registry)}")  # the setting
    writer.replace_months("gold.emissions_monthly", spark.createDataFrame([], spark.table(
        registry.sql_name("gold.emissions_monthly")).schema), [(2022, 1)])
    frame = monthly_report(spark, registry, date(2022, 1, 1), date(2022, 1, 31), "direct")
    assert list(frame["period"]) == ["2022-01"]
    assert frame["market_based_kg"].iloc[0] == pytest.approx(4 * 100 / 1000)
    assert frame.attrs["market_sources"] == {2022: "your supplier: Stadtwerke Test, Stromkennzeichnung 2023"}
