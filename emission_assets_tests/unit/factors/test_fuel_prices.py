"""The fuel price SCD2 dimension (silver.fuel_prices) on the real embedded engine: seed validation, a price change
applied point-in-time, idempotent re-runs, its checks and its Dagster asset on the bundled seed."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from deltalake import DeltaTable

from emission_assets.factors.prices import (
    COMMODITIES,
    SEED_COLUMNS,
    TABLE,
    UNITS,
    current_prices,
    merge_price_seed,
    read_price_seed,
)
from emission_assets.lakehouse.registry import spec as table_spec
from emission_assets.models.factors import factor_condition

UTC = timezone.utc
T0 = datetime(2024, 1, 1, 12, tzinfo=UTC)
T1 = datetime(2024, 2, 1, 12, tzinfo=UTC)
T2 = datetime(2024, 3, 1, 12, tzinfo=UTC)
HEADER = "commodity,valid_from,price,unit,source,licence,note\n"


def price(commodity="natural_gas", valid_from=date(2022, 8, 1), value=262.17, source="World Bank Pink Sheet",
          licence="CC BY 4.0", note=""):
    return {"commodity": commodity, "valid_from": valid_from, "price": value, "unit": UNITS[commodity],
            "source": source, "licence": licence, "note": note}


def table(spark, registry):
    return spark.table(registry.sql_name(TABLE))


def version(registry):
    return DeltaTable(registry.path(TABLE)).version()


def test_table_spec_has_the_interface_columns():
    assert table_spec(TABLE).columns == (
        ("price_id", "STRING"), ("commodity", "STRING"), ("price", "DOUBLE"), ("unit", "STRING"),
        ("source", "STRING"), ("licence", "STRING"), ("note", "STRING"), ("valid_from", "DATE"),
        ("valid_to", "DATE"), ("is_current", "BOOLEAN"), ("recorded_at", "TIMESTAMP"), ("retired_at", "TIMESTAMP"),
        ("row_hash", "STRING"),
    )
    assert SEED_COLUMNS == ("commodity", "valid_from", "price", "unit", "source", "licence", "note")


def test_first_merge_closes_each_commodity_at_its_next_month(spark, registry, writer):
    seed = [price(), price(valid_from=date(2022, 9, 1), value=230.0), price("eua", date(2022, 1, 1), 80.32)]
    counts = merge_price_seed(spark, writer, seed, T0)
    assert counts == {"inserted": 3, "retired": 0, "unchanged": 0, "committed": True}
    got = sorted((r.commodity, r.valid_from, r.valid_to, r.is_current, r.unit, len(r.price_id))
                 for r in table(spark, registry).collect())
    assert got == [
        ("eua", date(2022, 1, 1), None, True, "EUR/t_CO2", 64),
        ("natural_gas", date(2022, 8, 1), date(2022, 9, 1), False, "EUR/MWh_th", 64),
        ("natural_gas", date(2022, 9, 1), None, True, "EUR/MWh_th", 64),
    ]


def test_a_changed_price_retires_the_old_row_and_is_applied_point_in_time(spark, registry, writer):
    merge_price_seed(spark, writer, [price(value=262.17), price("eua", date(2022, 1, 1), 80.32)], T0)
    counts = merge_price_seed(spark, writer, [price(value=250.0), price("eua", date(2022, 1, 1), 80.32)], T1)
    assert counts == {"inserted": 1, "retired": 1, "unchanged": 1, "committed": True}
    full = table(spark, registry)

    def gas_known(when):
        return [r.price for r in full.where(factor_condition(when)).where("commodity = 'natural_gas'").collect()]

    assert gas_known(T0 - timedelta(seconds=1)) == []
    assert gas_known(T0) == gas_known(T1 - timedelta(seconds=1)) == [262.17]
    assert gas_known(T1) == gas_known(T2) == [250.0]
    assert sorted((r.commodity, r.price) for r in current_prices(full).collect()) == [
        ("eua", 80.32), ("natural_gas", 250.0)]
    old = full.where("commodity = 'natural_gas' AND price = 262.17").collect()[0]
    assert (old.is_current, old.retired_at is not None, old.recorded_at < old.retired_at) == (False, True, True)


def test_a_changed_source_alone_is_a_change_too(spark, registry, writer):
    merge_price_seed(spark, writer, [price()], T0)
    counts = merge_price_seed(spark, writer, [price(source="World Bank Pink Sheet (June 2026 release)")], T1)
    assert (counts["inserted"], counts["retired"]) == (1, 1)


def test_rerun_with_the_same_seed_is_a_noop_without_a_commit(spark, registry, writer):
    seed = [price(), price("hard_coal", value=38.86), price("eua", date(2022, 1, 1), 80.32)]
    merge_price_seed(spark, writer, seed, T0)
    before = version(registry)
    snapshot = sorted(map(tuple, table(spark, registry).collect()))
    assert merge_price_seed(spark, writer, seed, T1) == {"inserted": 0, "retired": 0, "unchanged": 3,
                                                        "committed": False}
    assert version(registry) == before
    assert sorted(map(tuple, table(spark, registry).collect())) == snapshot


@pytest.mark.parametrize(
    "line, column, message",
    [
        ("gold,2022-08-01,1,EUR/MWh_th,WB,CC BY 4.0,", "commodity", "unknown commodity 'gold'"),
        ("natural_gas,2022-08-01,-3,EUR/MWh_th,WB,CC BY 4.0,", "price", ">= 0"),
        ("natural_gas,2022-08-01,cheap,EUR/MWh_th,WB,CC BY 4.0,", "price", "not a number"),
        ("natural_gas,2022-08-01,inf,EUR/MWh_th,WB,CC BY 4.0,", "price", "finite"),
        ("natural_gas,2022-08-32,1,EUR/MWh_th,WB,CC BY 4.0,", "valid_from", "not a date"),
        ("natural_gas,2022-08-15,1,EUR/MWh_th,WB,CC BY 4.0,", "valid_from", "first day of a month"),
        ("natural_gas,2022-09-01,1,EUR/t_CO2,WB,CC BY 4.0,", "unit", "natural_gas prices are in EUR/MWh_th"),
        ("eua,2022-01-01,80,EUR/MWh_th,DEHSt,public,", "unit", "eua prices are in EUR/t_CO2"),
        ("natural_gas,2022-09-01,1,EUR/MWh_th,,CC BY 4.0,", "source", "needs a source"),
        ("natural_gas,2022-09-01,1,EUR/MWh_th,WB,,", "licence", "needs a licence"),
        ("natural_gas,2022-07-01,9,EUR/MWh_th,WB,CC BY 4.0,", "valid_from", "duplicate"),
    ],
)
def test_seed_validation_names_file_line_and_column(tmp_path, line, column, message):
    path = tmp_path / "prices.csv"
    first = "natural_gas,2022-07-01,100,EUR/MWh_th,WB,CC BY 4.0,"  # the duplicate case repeats its key on line 3
    path.write_text(HEADER + first + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        read_price_seed(path)
    text = str(error.value)
    assert str(path) in text and "line 3" in text and f"column {column!r}" in text and "\n" not in text


def test_seed_header_and_column_count_are_checked(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("commodity,valid_from,price\nnatural_gas,2022-01-01,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: header must be commodity,valid_from,price,unit"):
        read_price_seed(path)
    path.write_text(HEADER + "natural_gas,2022-01-01,1,EUR/MWh_th\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: expected 7 columns"):
        read_price_seed(path)


def test_bundled_seed_covers_2019_to_2023_with_a_source_and_licence_per_row():
    seed = read_price_seed()
    assert {r["commodity"] for r in seed} == set(COMMODITIES)
    months = {(r["valid_from"].year, r["valid_from"].month) for r in seed if r["commodity"] == "natural_gas"}
    assert months == {(y, m) for y in range(2019, 2024) for m in range(1, 13)}
    assert all(r["source"] and r["licence"] for r in seed)
    by = {(r["commodity"], r["valid_from"]): r["price"] for r in seed}
    # 2022's gas crisis: TTF above coal per MWh of fuel, as the Pink Sheet shows it
    assert by[("natural_gas", date(2022, 8, 1))] > 5 * by[("hard_coal", date(2022, 8, 1))]
    unverified = [r for r in seed if "UNVERIFIED" in r["note"]]
    assert all("UNVERIFIED" in r["source"] for r in unverified)


def test_checks_flag_overlaps_missing_commodities_and_several_current_rows():
    from emission_assets.factors.assets import evaluate_price_checks

    def active(c, start, end=None):
        return {"commodity": c, "valid_from": start, "valid_to": end, "is_current": end is None}

    good = [active(c, date(2019, 1, 1), date(2020, 1, 1)) for c in COMMODITIES] + [
        active(c, date(2020, 1, 1)) for c in COMMODITIES]
    assert all(c.passed for c in evaluate_price_checks(good))
    bad = [r for r in good if r["commodity"] != "oil"] + [active("eua", date(2019, 6, 1))]
    results = {c.check_name: c.passed for c in evaluate_price_checks(bad)}
    assert results == {"no_overlapping_validity": False, "one_current_row_each": False, "complete_seed": False}


def test_asset_materializes_the_bundled_seed_and_reruns_without_a_commit():
    from dagster import materialize

    from emission_assets.factors.assets import fuel_prices_asset
    from emission_assets.orchestration.resources import SparkResource

    rows = len(read_price_seed())
    first = materialize([fuel_prices_asset], resources={"spark": SparkResource()})
    assert first.success
    meta = first.asset_materializations_for_node("silver__fuel_prices")[0].metadata
    assert meta["inserted"].value == rows and meta["active_rows"].value == rows
    assert all(c.passed for c in first.get_asset_check_evaluations())
    again = materialize([fuel_prices_asset], resources={"spark": SparkResource()})
    meta = again.asset_materializations_for_node("silver__fuel_prices")[0].metadata
    assert (meta["inserted"].value, meta["retired"].value, meta["committed"].value) == (0, 0, False)
