"""The locality SQL on tiny hand-computed production, factor and redispatch rows."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from emission_assets.lakehouse.registry import spec
from emission_assets.models.locality import locality_sql
from emission_assets.timeutil import UTC

DAY = date(2024, 3, 25)  # CET: local = UTC + 1
T10, T11, T12, T13 = (datetime(2024, 3, 25, h, tzinfo=UTC) for h in (10, 11, 12, 13))
COLUMNS = "interval_start, interval_end, region, model, basis, g_per_kwh, determined_by, production_mwh, resolution"


def production_row(start, end, region, production_type, mwh):
    return (start, end, region, production_type, 0, "hour", mwh, mwh, "f.json", T13, DAY.year, DAY.month, DAY.day)


def factor_row(production_type, g, valid_from, valid_to=None, retired=False, basis="direct"):
    return (f"{production_type}-{g}", production_type, basis, float(g), "g/kWh", "test", None, valid_from, valid_to,
            not retired and valid_to is None, T10, T11 if retired else None, "h")


def measure_row(start, end, direction, mwh, instructing, requesting, primary):
    return (start, end, direction, "Strombedingter Redispatch", None, None, mwh, instructing, requesting, "plant",
            primary, "r.json", T13, DAY.year, DAY.month, DAY.day)


def write(spark, writer, table, rows):
    df = spark.createDataFrame(rows, spec(table).ddl)
    if spec(table).partition_by:
        writer.replace_days(table, df, DAY, DAY)
    else:
        writer.append(table, df)


@pytest.fixture
def factors(spark, writer):
    write(spark, writer, "silver.emission_factors", [
        factor_row("wind_onshore", 0, date(2020, 1, 1)),
        factor_row("photovoltaics", 0, date(2020, 1, 1)),
        factor_row("natural_gas", 400, date(2020, 1, 1)),
        factor_row("natural_gas", 999, date(2020, 1, 1), retired=True),  # retired version: ignored
        factor_row("lignite", 2000, date(2020, 1, 1), valid_to=DAY),  # valid until the day before: ignored
        factor_row("lignite", 1100, DAY),
        factor_row("natural_gas", 490, date(2020, 1, 1), basis="lifecycle"),
        factor_row("wind_onshore", 11, date(2020, 1, 1), basis="lifecycle"),
    ])


def query(spark, registry):
    rows = spark.sql(f"SELECT {COLUMNS} FROM ({locality_sql(registry)}) ORDER BY region, interval_start, basis")
    return [r.asDict() for r in rows.collect()]


def test_mix_corrected_by_redispatch(spark, registry, writer, factors):
    write(spark, writer, "silver.production", [
        production_row(T10, T11, "TenneT", "wind_onshore", 600.0),
        production_row(T10, T11, "TenneT", "photovoltaics", 200.0),
        production_row(T10, T11, "TenneT", "natural_gas", 100.0),
        production_row(T10, T11, "TenneT", "lignite", 100.0),
        production_row(T12, T13, "TenneT", "wind_onshore", 100.0),
        production_row(T12, T13, "TenneT", "natural_gas", 100.0),
        production_row(T10, T11, "Amprion", "wind_onshore", 100.0),
        production_row(T10, T11, "DE", "lignite", 5000.0),  # not a control area: no locality rows
    ])
    write(spark, writer, "silver.redispatch", [
        # curtail renewables in TenneT 09:30-11:30 UTC, 400 MWh: 200 MWh in 10-11, taken from wind/PV 600:200
        measure_row(datetime(2024, 3, 25, 9, 30, tzinfo=UTC), datetime(2024, 3, 25, 11, 30, tzinfo=UTC), "curtail", 400.0, "TenneT",
                    "TransnetBW", "renewable"),
        # ramp up conventional in TenneT 10:00-10:30, 50 MWh: to gas/lignite 100:100
        measure_row(T10, datetime(2024, 3, 25, 10, 30, tzinfo=UTC), "ramp_up", 50.0, "TenneT", "TenneT", "conventional"),
        # ramp up instructed by Amprion (requested by TenneT): Amprion has no fossil output -> natural_gas
        measure_row(T10, T11, "ramp_up", 30.0, "Amprion", "TenneT", "conventional"),
    ])
    rows = query(spark, registry)
    got = {(r["region"], r["interval_start"].hour, r["basis"]): r for r in rows}
    naive = lambda moment: moment.replace(tzinfo=None)

    assert {r["model"] for r in rows} == {"locality"} and {r["resolution"] for r in rows} == {"hour"}
    assert {r["region"] for r in rows} == {"TenneT", "Amprion"}
    # TenneT 10-11: wind 450, PV 150, gas 125, lignite 125 (all with direct factors) = 850 MWh
    tennet = got[("TenneT", 10, "direct")]
    assert (tennet["interval_start"], tennet["interval_end"]) == (naive(T10), naive(T11))
    assert tennet["production_mwh"] == pytest.approx(850.0)
    assert tennet["g_per_kwh"] == pytest.approx((125 * 400 + 125 * 1100) / 850)
    assert tennet["determined_by"] == "TenneT mix + redispatch"
    # lifecycle has factors for gas and wind only: (125 * 490 + 450 * 11) / (125 + 450)
    assert got[("TenneT", 10, "lifecycle")]["g_per_kwh"] == pytest.approx((125 * 490 + 450 * 11) / 575)
    assert got[("TenneT", 10, "lifecycle")]["production_mwh"] == pytest.approx(850.0)  # every type counts
    # TenneT 12-13: no measure touches it
    quiet = got[("TenneT", 12, "direct")]
    assert (quiet["g_per_kwh"], quiet["production_mwh"], quiet["determined_by"]) == (200.0, 200.0, "TenneT mix")
    # Amprion 10-11: wind 100 + 30 ramped-up gas (fallback type) = 130 MWh
    amprion = got[("Amprion", 10, "direct")]
    assert amprion["production_mwh"] == pytest.approx(130.0)
    assert amprion["g_per_kwh"] == pytest.approx(30 * 400 / 130)
    assert amprion["determined_by"] == "Amprion mix + redispatch"
    assert len(rows) == 6  # 3 intervals x 2 bases


def test_curtailment_beyond_production_is_capped_and_other_goes_to_other_conventional(
    spark, registry, writer, factors
):
    write(spark, writer, "silver.emission_factors", [factor_row("other_conventional", 700, date(2020, 1, 1))])
    write(spark, writer, "silver.production", [
        production_row(T10, T11, "50Hertz", "wind_onshore", 100.0),
        production_row(T10, T11, "50Hertz", "natural_gas", 100.0),
    ])
    write(spark, writer, "silver.redispatch", [
        measure_row(T10, T11, "curtail", 500.0, "50Hertz", "50Hertz", "renewable"),  # > 100 MWh of renewables
        measure_row(T10, T11, "ramp_up", 100.0, "50Hertz", "50Hertz", "other"),
    ])
    (row,) = [r for r in query(spark, registry) if r["basis"] == "direct"]
    # wind 0 (capped), gas 100, other_conventional 100
    assert row["production_mwh"] == pytest.approx(200.0)
    assert row["g_per_kwh"] == pytest.approx((100 * 400 + 100 * 700) / 200)


def test_no_control_area_production_means_no_rows(spark, registry, writer, factors):
    write(spark, writer, "silver.production", [production_row(T10, T11, "DE", "lignite", 5000.0)])
    write(spark, writer, "silver.redispatch", [
        measure_row(T10, T11, "curtail", 50.0, "TenneT", "TenneT", "renewable"),
    ])
    assert query(spark, registry) == []
