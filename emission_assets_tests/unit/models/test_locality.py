"""The locality SQL on tiny hand-computed production, grid load, factor and redispatch rows."""
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


def load_row(start, end, region, mwh):
    return (start, end, region, "hour", mwh, "l.json", T13, DAY.year, DAY.month, DAY.day)


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


def test_mix_corrected_by_redispatch_without_grid_load_keeps_the_own_mix(spark, registry, writer, factors):
    """No silver.grid_load rows: every interval keeps its (corrected) own mix and says why."""
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
    assert tennet["determined_by"] == "TenneT mix + redispatch (no grid load: own mix only)"
    # lifecycle has factors for gas and wind only: (125 * 490 + 450 * 11) / (125 + 450)
    assert got[("TenneT", 10, "lifecycle")]["g_per_kwh"] == pytest.approx((125 * 490 + 450 * 11) / 575)
    assert got[("TenneT", 10, "lifecycle")]["production_mwh"] == pytest.approx(850.0)  # every type counts
    # TenneT 12-13: no measure touches it
    quiet = got[("TenneT", 12, "direct")]
    assert (quiet["g_per_kwh"], quiet["production_mwh"], quiet["determined_by"]) == (200.0, 200.0, "TenneT mix (no grid load: own mix only)")
    # Amprion 10-11: wind 100 + 30 ramped-up gas (fallback type) = 130 MWh
    amprion = got[("Amprion", 10, "direct")]
    assert amprion["production_mwh"] == pytest.approx(130.0)
    assert amprion["g_per_kwh"] == pytest.approx(30 * 400 / 130)
    assert amprion["determined_by"] == "Amprion mix + redispatch (no grid load: own mix only)"
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


# The balance with the area's grid load. DE 10-11 and 12-13: lignite 300 + wind 700 -> national 330 g/kWh direct
# (300 * 1100 / 1000), 11 g/kWh lifecycle (lignite has no lifecycle factor: wind alone).
NATIONAL = [production_row(t, t.replace(hour=t.hour + 1), "DE", p, mwh)
            for t in (T10, T12) for p, mwh in (("lignite", 300.0), ("wind_onshore", 700.0))]


def by_key(rows):
    return {(r["region"], r["interval_start"].hour, r["basis"]): r for r in rows}


def test_net_importing_and_net_exporting_areas_without_redispatch(spark, registry, writer, factors):
    write(spark, writer, "silver.production", NATIONAL + [
        production_row(T12, T13, "TenneT", "wind_onshore", 100.0),  # own mix 200 direct, (100 * 11 + 100 * 490) / 200 = 250.5 lifecycle
        production_row(T12, T13, "TenneT", "natural_gas", 100.0),
        production_row(T12, T13, "Amprion", "wind_onshore", 300.0),  # own mix 100 direct
        production_row(T12, T13, "Amprion", "natural_gas", 100.0),
        production_row(T12, T13, "TransnetBW", "wind_onshore", 0.0),  # no generation at all
    ])
    write(spark, writer, "silver.grid_load", [
        load_row(T12, T13, "TenneT", 500.0),  # 200 of 500 own: own share 0.4, net imports 300 MWh = 0.6
        load_row(T12, T13, "Amprion", 250.0),  # 400 >= 250: net exporter
        load_row(T12, T13, "TransnetBW", 100.0),  # own share 0: all imported
        load_row(T12, T13, "DE", 990.0),  # not a control area: no locality row
    ])
    got = by_key(query(spark, registry))
    assert set(got) == {(a, 12, b) for a in ("TenneT", "Amprion", "TransnetBW") for b in ("direct", "lifecycle")}
    tennet = got[("TenneT", 12, "direct")]
    assert tennet["g_per_kwh"] == pytest.approx(0.4 * 200 + 0.6 * 330)  # 278
    assert tennet["determined_by"] == "TenneT mix + net imports (DE mix)"
    assert tennet["production_mwh"] == pytest.approx(200.0)  # own generation, as before (not the load)
    assert got[("TenneT", 12, "lifecycle")]["g_per_kwh"] == pytest.approx(0.4 * 250.5 + 0.6 * 11)  # 106.8
    amprion = got[("Amprion", 12, "direct")]
    assert (amprion["g_per_kwh"], amprion["determined_by"]) == (pytest.approx(100.0), "Amprion mix")
    transnet = got[("TransnetBW", 12, "direct")]
    assert transnet["g_per_kwh"] == pytest.approx(330.0)
    assert transnet["determined_by"] == "TransnetBW mix + net imports (DE mix)"
    assert got[("TransnetBW", 12, "lifecycle")]["g_per_kwh"] == pytest.approx(11.0)


def test_redispatch_corrects_the_own_generation_that_the_share_uses(spark, registry, writer, factors):
    write(spark, writer, "silver.production", NATIONAL + [
        production_row(T10, T11, "TenneT", "wind_onshore", 600.0),
        production_row(T10, T11, "TenneT", "photovoltaics", 200.0),
        production_row(T10, T11, "TenneT", "natural_gas", 100.0),
        production_row(T10, T11, "TenneT", "lignite", 100.0),
        production_row(T10, T11, "Amprion", "wind_onshore", 100.0),
    ])
    write(spark, writer, "silver.redispatch", [
        # as in the first test: TenneT 10-11 loses 200 MWh of wind/PV and gains 50 MWh of gas/lignite -> 850 MWh,
        # own mix (125 * 400 + 125 * 1100) / 850; Amprion gains 30 MWh of gas -> 130 MWh, own mix 30 * 400 / 130
        measure_row(datetime(2024, 3, 25, 9, 30, tzinfo=UTC), datetime(2024, 3, 25, 11, 30, tzinfo=UTC), "curtail",
                    400.0, "TenneT", "TransnetBW", "renewable"),
        measure_row(T10, datetime(2024, 3, 25, 10, 30, tzinfo=UTC), "ramp_up", 50.0, "TenneT", "TenneT", "conventional"),
        measure_row(T10, T11, "ramp_up", 30.0, "Amprion", "TenneT", "conventional"),
    ])
    write(spark, writer, "silver.grid_load", [
        load_row(T10, T11, "TenneT", 1000.0),  # uncorrected 1000 would balance it; corrected 850: own share 0.85
        load_row(T10, T11, "Amprion", 100.0),  # 130 >= 100: net exporter
    ])
    got = by_key(query(spark, registry))
    tennet = got[("TenneT", 10, "direct")]
    assert tennet["g_per_kwh"] == pytest.approx(0.85 * (125 * 400 + 125 * 1100) / 850 + 0.15 * 330)  # 237
    assert tennet["determined_by"] == "TenneT mix + net imports (DE mix) + redispatch"
    assert tennet["production_mwh"] == pytest.approx(850.0)
    amprion = got[("Amprion", 10, "direct")]
    assert amprion["g_per_kwh"] == pytest.approx(30 * 400 / 130)
    assert amprion["determined_by"] == "Amprion mix + redispatch"


def test_missing_load_or_national_mix_keeps_the_own_mix_and_says_so(spark, registry, writer, factors):
    write(spark, writer, "silver.production", NATIONAL[:2] + [  # DE only at 10-11
        production_row(T10, T11, "TenneT", "natural_gas", 100.0),
        production_row(T12, T13, "TenneT", "natural_gas", 100.0),
        production_row(T12, T13, "50Hertz", "natural_gas", 100.0),
    ])
    write(spark, writer, "silver.grid_load", [
        load_row(T12, T13, "TenneT", 400.0),  # a net importer at 12-13, but no DE mix then
        load_row(T12, T13, "50Hertz", 0.0),  # a load of zero says nothing about the balance
    ])  # TenneT 10-11: no load row
    got = by_key(query(spark, registry))
    assert {k: (r["g_per_kwh"], r["determined_by"]) for k, r in got.items() if k[2] == "direct"} == {
        ("TenneT", 10, "direct"): (400.0, "TenneT mix (no grid load: own mix only)"),
        ("TenneT", 12, "direct"): (400.0, "TenneT mix (net importer, no DE mix: own mix only)"),
        ("50Hertz", 12, "direct"): (400.0, "50Hertz mix (no grid load: own mix only)"),
    }


def test_net_imports_take_the_factors_valid_at_the_interval(spark, registry, writer, factors):
    """The national mix uses the same point-in-time factors: a lignite factor retired later than ``known_at``
    still counts as known then, one recorded after it does not."""
    write(spark, writer, "silver.production", NATIONAL[:2] + [production_row(T10, T11, "TenneT", "wind_onshore", 50.0)])
    write(spark, writer, "silver.grid_load", [load_row(T10, T11, "TenneT", 100.0)])  # half own (0 g), half imported
    rows = spark.sql(f"SELECT basis, g_per_kwh FROM ({locality_sql(registry)})").collect()
    assert {r.basis: r.g_per_kwh for r in rows} == {"direct": pytest.approx(0.5 * 330), "lifecycle": pytest.approx(
        0.5 * 11 + 0.5 * 11)}
    before = datetime(2024, 1, 1, tzinfo=UTC)  # before the factors were recorded (T10): nothing known, no rows
    assert spark.sql(f"SELECT * FROM ({locality_sql(registry, known_at=before)})").count() == 0
