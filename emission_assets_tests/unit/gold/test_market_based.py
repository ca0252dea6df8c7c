"""The market-based view on hand numbers: the residual mix by default, the user's supplier value, a supplier of the
table; and the table's validation (one line naming file, line and column)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from emission_assets.errors import UserInputError
from emission_assets.gold import market_based
from emission_assets.gold.market_based import FACTORS_PATH, VIEW_COLUMNS, market_based_sql, read_factors
from emission_assets_tests.unit.gold.test_aggregates import consumption_rows

HEADER = "kind,supplier,year,g_co2_per_kwh,checked,source,licence,note"
HOUR = datetime(2024, 3, 28, 9, tzinfo=timezone.utc)


@pytest.fixture
def table(tmp_path):
    """A factor table of hand numbers: residual mix 2022 = 400 and 2023 = 500, supplier "Stadtwerke Test" 2024 = 80."""
    path = tmp_path / "factors.csv"
    path.write_text(
        f"{HEADER}\n"
        "residual_mix,,2022,400,source_page,AIB test 2022,attribution,\n"
        "residual_mix,,2023,500,source_page,AIB test 2023,attribution,\n"
        "supplier,Stadtwerke Test,2024,80,unverified,Stromkennzeichnung Stadtwerke Test 2024,attribution,\n",
        encoding="utf-8")
    return path


@pytest.fixture
def march_2024(spark, writer):
    """13 kWh (11 EV, 2 household) in March 2024 for one home."""
    writer.replace_days("silver.consumption", consumption_rows(spark, [(HOUR, 60, 13.0, 11.0)]),
                        date(2024, 3, 28), date(2024, 3, 28))


def view_row(spark, registry, table):
    rows = spark.sql(market_based_sql(registry, table)).collect()
    assert len(rows) == 1
    assert tuple(rows[0].asDict()) == VIEW_COLUMNS
    return rows[0]


def test_without_a_supplier_the_latest_residual_mix_applies(spark, registry, march_2024, table, monkeypatch):
    for name in ("EMISSION_SUPPLIER_G_PER_KWH", "EMISSION_SUPPLIER", "EMISSION_SUPPLIER_SOURCE"):
        monkeypatch.delenv(name, raising=False)
    row = view_row(spark, registry, table)
    # no 2024 residual mix in the table: 2023's 500 g/kWh; 13 kWh x 500 g = 6.5 kg (EV 5.5, household 1.0)
    assert (row.year, row.month, row.g_per_kwh, row.factor_year, row.factor_kind) == (2024, 3, 500.0, 2023,
                                                                                      "residual_mix")
    assert (row.emissions_kg, row.ev_emissions_kg, row.household_emissions_kg) == pytest.approx((6.5, 5.5, 1.0))
    assert row.is_supplier_factor is False
    assert row.factor_source == "German residual mix 2023: AIB test 2023"
    assert row.factor_note == "no 2024 figure: latest earlier one (2023)"


def test_the_users_supplier_value_replaces_the_residual_mix(spark, registry, march_2024, table, monkeypatch):
    monkeypatch.setenv("EMISSION_SUPPLIER_G_PER_KWH", "120")
    monkeypatch.setenv("EMISSION_SUPPLIER_SOURCE", "O'Brien Strom, Stromkennzeichnung 2023")  # a quote in the SQL
    row = view_row(spark, registry, table)
    assert (row.g_per_kwh, row.factor_kind, row.factor_year, row.is_supplier_factor) == (120.0, "user_setting",
                                                                                        None, True)
    assert row.emissions_kg == pytest.approx(13 * 120 / 1000)  # 1.56 kg
    assert row.factor_source == "your supplier: O'Brien Strom, Stromkennzeichnung 2023"
    assert row.factor_note == ""


def test_a_supplier_of_the_table_by_name(spark, registry, march_2024, table, monkeypatch):
    monkeypatch.delenv("EMISSION_SUPPLIER_G_PER_KWH", raising=False)
    monkeypatch.setenv("EMISSION_SUPPLIER", "stadtwerke test")  # names match case-insensitively
    row = view_row(spark, registry, table)
    assert (row.g_per_kwh, row.factor_year, row.factor_kind, row.is_supplier_factor) == (80.0, 2024, "supplier", True)
    assert row.emissions_kg == pytest.approx(1.04)
    assert row.factor_source == "supplier Stadtwerke Test 2024: Stromkennzeichnung Stadtwerke Test 2024 [unverified]"


def test_a_month_before_every_factor_has_no_figure(spark, registry, writer, tmp_path, monkeypatch):
    for name in ("EMISSION_SUPPLIER_G_PER_KWH", "EMISSION_SUPPLIER"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "late.csv"
    path.write_text(f"{HEADER}\nresidual_mix,,2025,300,source_page,AIB test,attribution,\n", encoding="utf-8")
    writer.replace_days("silver.consumption", consumption_rows(spark, [(HOUR, 60, 13.0, 11.0)]),
                        date(2024, 3, 28), date(2024, 3, 28))
    row = view_row(spark, registry, path)
    assert (row.g_per_kwh, row.emissions_kg, row.factor_note) == (None, None, "no market-based factor for 2024")


def test_both_supplier_settings_at_once_are_refused(table, monkeypatch):
    monkeypatch.setenv("EMISSION_SUPPLIER_G_PER_KWH", "120")
    monkeypatch.setenv("EMISSION_SUPPLIER", "Stadtwerke Test")
    with pytest.raises(UserInputError, match="set either EMISSION_SUPPLIER_G_PER_KWH or EMISSION_SUPPLIER, not both"):
        market_based.candidates(table)


def test_an_unknown_supplier_names_the_known_ones(table, monkeypatch):
    monkeypatch.delenv("EMISSION_SUPPLIER_G_PER_KWH", raising=False)
    monkeypatch.setenv("EMISSION_SUPPLIER", "Nobody")
    with pytest.raises(UserInputError, match=r"EMISSION_SUPPLIER='Nobody' is not in factors.csv; known suppliers: "
                                             r"Stadtwerke Test"):
        market_based.candidates(table)


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "EMISSION_SUPPLIER_G_PER_KWH='abc': expected a number"),
    ("-5", "EMISSION_SUPPLIER_G_PER_KWH='-5': expected a number >= 0"),
    ("2500", "EMISSION_SUPPLIER_G_PER_KWH='2500': expected a number <= 2000"),
    ("inf", "EMISSION_SUPPLIER_G_PER_KWH='inf': expected a finite number"),
])
def test_a_bad_supplier_value_is_one_line_naming_the_variable(table, monkeypatch, value, message):
    monkeypatch.setenv("EMISSION_SUPPLIER_G_PER_KWH", value)
    with pytest.raises(UserInputError, match=f"^{message}"):
        market_based.candidates(table)


def test_the_committed_table_is_valid_and_sourced():
    rows = read_factors(FACTORS_PATH)
    residual = {r.year: r.g_per_kwh for r in rows if r.kind == "residual_mix"}
    assert residual == {2018: 728.69, 2020: 588.83, 2021: 617.84}
    assert all(r.source and r.licence and r.checked != "unverified" for r in rows)


@pytest.mark.parametrize(("row", "message"), [
    ("grey,,2022,400,source_page,s,l,", r"line 2, column 'kind': unknown value 'grey'; choose one of residual_mix, "
                                        r"supplier"),
    ("supplier,,2022,400,source_page,s,l,", r"line 2, column 'supplier': a supplier row needs the supplier's name"),
    ("residual_mix,X,2022,400,source_page,s,l,", r"line 2, column 'supplier': a residual_mix row names no supplier"),
    ("residual_mix,,22x,400,source_page,s,l,", r"line 2, column 'year': not a year: '22x'"),
    ("residual_mix,,2022,lots,source_page,s,l,", r"line 2, column 'g_co2_per_kwh': not a number: 'lots'"),
    ("residual_mix,,2022,-1,source_page,s,l,", r"line 2, column 'g_co2_per_kwh': must be a number 0..2000 g/kWh"),
    ("residual_mix,,2022,400,guessed,s,l,", r"line 2, column 'checked': unknown value 'guessed'"),
    ("residual_mix,,2022,400,source_page,,l,", r"line 2, column 'source': every factor needs a source"),
    ("residual_mix,,2022,400,source_page,s,,", r"line 2, column 'licence': every factor needs its licence"),
    ("residual_mix,,2022,400,source_page,s,l", r"line 2: expected 8 columns"),
])
def test_table_errors_name_file_line_and_column(tmp_path, row, message):
    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER}\n{row}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"^{path}: {message}"):
        read_factors(path)


def test_a_duplicate_year_names_the_first_line(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text(f"{HEADER}\nresidual_mix,,2022,400,source_page,s,l,\nresidual_mix,,2022,410,source_page,s,l,\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3, column 'year': duplicate \(residual_mix, -, 2022\); first on line 2"):
        read_factors(path)


def test_a_wrong_header_is_refused(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("year,g\n2022,400\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 1: header must be kind,supplier,year"):
        read_factors(path)


def test_the_view_assets_code_version_follows_the_supplier_setting(monkeypatch):
    from emission_assets.gold import assets

    monkeypatch.delenv("EMISSION_SUPPLIER_G_PER_KWH", raising=False)
    monkeypatch.delenv("EMISSION_SUPPLIER", raising=False)
    residual = assets.code_version(lambda: market_based_sql(assets.REFERENCE))
    monkeypatch.setenv("EMISSION_SUPPLIER_G_PER_KWH", "120")
    supplier = assets.code_version(lambda: market_based_sql(assets.REFERENCE))
    assert residual and supplier and residual != supplier
    monkeypatch.setenv("EMISSION_SUPPLIER", "Nobody")  # both set: the SQL cannot be built; the asset fails when run
    assert assets.code_version(lambda: market_based_sql(assets.REFERENCE)) is None


def test_the_market_based_view_is_an_asset_of_the_definitions():
    from dagster import AssetKey

    from emission_assets.definitions import build_definitions

    graph = build_definitions().resolve_asset_graph()
    node = graph.get(AssetKey(["gold", "market_based_monthly"]))
    assert node.parent_keys == {AssetKey(["silver", "consumption"])}
    assert node.tags.get("source") == "gold" and "Market-based" in node.description
