"""The emission-factor SCD2 dimension on the real embedded engine: seed, merge, history and the "as known at" filter."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from deltalake import DeltaTable

from emission_assets.factors.dimension import (
    BASES,
    PRODUCTION_TYPES,
    TABLE,
    current_factors,
    merge_seed,
    read_seed,
)
from emission_assets.models.factors import factor_condition

UTC = timezone.utc
T0 = datetime(2024, 1, 1, 12, tzinfo=UTC)
T1 = datetime(2024, 2, 1, 12, tzinfo=UTC)
T2 = datetime(2024, 3, 1, 12, tzinfo=UTC)
HEADER = "production_type,basis,g_per_kwh,valid_from,source,note\n"


def row(production_type="lignite", basis="direct", g=1100.0, valid_from=date(2015, 1, 1), source="UBA", note=""):
    return {"production_type": production_type, "basis": basis, "g_per_kwh": g, "valid_from": valid_from,
            "source": source, "note": note}


def table(spark, registry):
    return spark.table(registry.sql_name(TABLE))


def version(registry):
    return DeltaTable(registry.path(TABLE)).version()


def rows(spark, registry, where="true"):
    return sorted(
        ((r.production_type, r.basis, r.g_per_kwh, r.valid_from, r.valid_to, r.is_current, r.retired_at is None)
         for r in table(spark, registry).where(where).collect()),
        key=lambda t: tuple((v is None, v if v is not None else 0) for v in t),
    )


def test_first_merge_inserts_every_row(spark, registry, writer):
    seed = [row(), row(basis="lifecycle", g=1160.0), row("natural_gas", g=388.0)]
    counts = merge_seed(spark, writer, seed, T0)
    assert counts == {"inserted": 3, "retired": 0, "unchanged": 0, "committed": True}
    got = table(spark, registry).collect()
    assert len(got) == 3
    assert {r.unit for r in got} == {"g CO2eq/kWh"}
    assert all(r.is_current and r.valid_to is None and r.retired_at is None for r in got)
    assert all(r.recorded_at is not None and len(r.factor_id) == 64 and len(r.row_hash) == 64 for r in got)
    assert len({r.factor_id for r in got}) == 3


def test_value_change_retires_the_old_row_and_inserts_the_new_one(spark, registry, writer):
    merge_seed(spark, writer, [row(), row("natural_gas", g=388.0)], T0)
    old_id = table(spark, registry).where("production_type = 'lignite'").collect()[0].factor_id
    counts = merge_seed(spark, writer, [row(g=1110.0), row("natural_gas", g=388.0)], T1)
    assert counts == {"inserted": 1, "retired": 1, "unchanged": 1, "committed": True}
    lignite = {r.factor_id: r for r in table(spark, registry).where("production_type = 'lignite'").collect()}
    assert len(lignite) == 2
    old = lignite.pop(old_id)
    (new,) = lignite.values()
    # history is kept: the old value stays, only its transaction end and current flag change
    assert (old.g_per_kwh, old.is_current, old.retired_at is not None) == (1100.0, False, True)
    assert old.recorded_at < old.retired_at
    assert (new.g_per_kwh, new.is_current, new.retired_at) == (1110.0, True, None)
    assert [(r.g_per_kwh, r.production_type) for r in current_factors(table(spark, registry)).collect()
            if r.production_type == "lignite"] == [(1110.0, "lignite")]
    # the gas row was not touched
    gas = table(spark, registry).where("production_type = 'natural_gas'").collect()
    assert len(gas) == 1 and gas[0].retired_at is None


def test_row_missing_from_the_seed_is_retired(spark, registry, writer):
    merge_seed(spark, writer, [row(), row("natural_gas", g=388.0)], T0)
    counts = merge_seed(spark, writer, [row()], T1)
    assert counts == {"inserted": 0, "retired": 1, "unchanged": 1, "committed": True}
    assert rows(spark, registry, "production_type = 'natural_gas'") == [
        ("natural_gas", "direct", 388.0, date(2015, 1, 1), None, False, False)
    ]
    assert [r.production_type for r in current_factors(table(spark, registry)).collect()] == ["lignite"]


def test_rerun_with_the_same_seed_is_a_noop_without_a_commit(spark, registry, writer):
    seed = [row(), row(basis="lifecycle", g=1160.0)]
    merge_seed(spark, writer, seed, T0)
    before = version(registry)
    snapshot = sorted(map(tuple, table(spark, registry).collect()))
    counts = merge_seed(spark, writer, seed, T1)
    assert counts == {"inserted": 0, "retired": 0, "unchanged": 2, "committed": False}
    assert version(registry) == before
    assert sorted(map(tuple, table(spark, registry).collect())) == snapshot


def test_a_new_dated_version_closes_the_previous_one(spark, registry, writer):
    merge_seed(spark, writer, [row(g=1100.0)], T0)
    counts = merge_seed(spark, writer, [row(g=1100.0), row(g=1050.0, valid_from=date(2023, 1, 1))], T1)
    assert counts == {"inserted": 2, "retired": 1, "unchanged": 0, "committed": True}
    assert rows(spark, registry) == [
        ("lignite", "direct", 1050.0, date(2023, 1, 1), None, True, True),
        ("lignite", "direct", 1100.0, date(2015, 1, 1), date(2023, 1, 1), False, True),  # closed version
        ("lignite", "direct", 1100.0, date(2015, 1, 1), None, False, False),  # as first recorded, now retired
    ]
    # and the same seed again changes nothing
    before = version(registry)
    assert merge_seed(spark, writer, [row(g=1100.0), row(g=1050.0, valid_from=date(2023, 1, 1))], T2)["committed"] is False
    assert version(registry) == before


def test_gold_factor_condition_before_and_after_a_change(spark, registry, writer):
    """Gold's "as known at" filter (its join is tested in gold/test_factor_join.py) on a history the merge wrote."""
    merge_seed(spark, writer, [row(g=1100.0), row("natural_gas", g=388.0)], T0)
    merge_seed(spark, writer, [row(g=1110.0)], T1)
    full = table(spark, registry)

    def known(when):
        return sorted((r.production_type, r.g_per_kwh) for r in full.where(factor_condition(when)).collect())

    assert known(T0 - timedelta(seconds=1)) == []
    assert known(T0) == known(T1 - timedelta(seconds=1)) == [("lignite", 1100.0), ("natural_gas", 388.0)]
    assert known(T1) == known(T2) == [("lignite", 1110.0)]
    assert sorted((r.production_type, r.g_per_kwh) for r in current_factors(full).collect()) == [("lignite", 1110.0)]


@pytest.mark.parametrize(
    "line, column, message",
    [
        ("coal,direct,800,2015-01-01,UBA,", "production_type", "unknown production type"),
        ("lignite,total,800,2015-01-01,UBA,", "basis", "unknown basis"),
        ("lignite,direct,-1,2015-01-01,UBA,", "g_per_kwh", ">= 0"),
        ("lignite,direct,lots,2015-01-01,UBA,", "g_per_kwh", "not a number"),
        ("lignite,direct,nan,2015-01-01,UBA,", "g_per_kwh", "finite"),
        ("lignite,direct,800,2015-13-01,UBA,", "valid_from", "not a date"),
        ("lignite,direct,800,2015-01-01,,", "source", "needs a source"),
        ("lignite,direct,900,2015-01-01,UBA,", "valid_from", "duplicate"),
    ],
)
def test_seed_validation_names_file_line_and_column(tmp_path, line, column, message):
    path = tmp_path / "factors.csv"
    first = "lignite,direct,1100,2015-01-01,UBA,"  # the duplicate case repeats its key on line 3
    path.write_text(HEADER + first + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        read_seed(path)
    text = str(error.value)
    assert str(path) in text and "line 3" in text and f"column {column!r}" in text and message in text


def test_seed_header_is_checked(tmp_path):
    path = tmp_path / "factors.csv"
    path.write_text("type,basis,value\nlignite,direct,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: header"):
        read_seed(path)


def test_bundled_seed_has_both_bases_for_every_type_and_one_current_row_each(spark, registry, writer):
    seed = read_seed()
    assert {(r["production_type"], r["basis"]) for r in seed} == {(t, b) for t in PRODUCTION_TYPES for b in BASES}
    assert len(PRODUCTION_TYPES) == 12
    assert all(r["source"] for r in seed)
    by_key = {(r["production_type"], r["basis"]): r["g_per_kwh"] for r in seed if r["valid_from"] == date(2015, 1, 1)}
    assert all(by_key[(t, "lifecycle")] >= by_key[(t, "direct")] for t in PRODUCTION_TYPES)
    assert by_key[("biomass", "direct")] == 0.0 and by_key[("pumped_storage", "direct")] == 0.0

    counts = merge_seed(spark, writer, seed, T0)
    assert counts["inserted"] == len(seed) and counts["retired"] == 0
    current = [r for r in current_factors(table(spark, registry)).collect() if r.is_current]
    assert sorted((r.production_type, r.basis) for r in current) == sorted(
        (t, b) for t in PRODUCTION_TYPES for b in BASES
    )
    # the dated fossil versions: one per year, each closed by the next year's, the last (2023) open
    versions = sorted((r.valid_from, r.valid_to) for r in current_factors(table(spark, registry)).collect()
                      if (r.production_type, r.basis) == ("hard_coal", "direct"))
    assert versions == [(date(y, 1, 1), date(y + 1, 1, 1) if y < 2023 else None) for y in range(2015, 2024)]


def test_bundled_dated_factors_follow_the_fleet_and_keep_the_upstream_share():
    seed = read_seed()
    by = {(r["production_type"], r["basis"], r["valid_from"].year): r for r in seed}
    for production_type, upstream in (("lignite", 60), ("hard_coal", 60), ("natural_gas", 120)):
        for year in range(2015, 2024):
            direct, lifecycle = by[(production_type, "direct", year)], by[(production_type, "lifecycle", year)]
            assert lifecycle["g_per_kwh"] == direct["g_per_kwh"] + upstream
            assert "plant_units.csv" in direct["source"] and "capacity-weighted" in direct["source"]
            assert ("repeats the 2019 fleet" in direct["note"]) == (year > 2019)
        # the years after the list's last shutdown year repeat 2019
        assert {by[(production_type, "direct", y)]["g_per_kwh"] for y in range(2019, 2024)} == {
            by[(production_type, "direct", 2019)]["g_per_kwh"]}
    # hard coal closures 2015-2019 (the OPSD list's shutdowns) left a slightly more efficient fleet
    assert by[("hard_coal", "direct", 2019)]["g_per_kwh"] < by[("hard_coal", "direct", 2015)]["g_per_kwh"]
    # other conventional keeps its single project-estimate version
    assert sorted(r["valid_from"] for r in seed if r["production_type"] == "other_conventional") == [
        date(2015, 1, 1), date(2015, 1, 1)]


def test_checks_flag_overlaps_missing_types_and_several_current_rows():
    from emission_assets.factors.assets import evaluate_factor_checks

    def active(t, b, start, end=None):
        return {"production_type": t, "basis": b, "valid_from": start, "valid_to": end, "is_current": end is None}

    good = [active(t, b, date(2015, 1, 1)) for t in PRODUCTION_TYPES for b in BASES]
    assert all(c.passed for c in evaluate_factor_checks(good))
    bad = [r for r in good if r["production_type"] != "hydro"] + [
        active("lignite", "direct", date(2020, 1, 1)),  # a second open version overlapping the 2015 one
    ]
    results = {c.check_name: c.passed for c in evaluate_factor_checks(bad)}
    assert results == {"no_overlapping_validity": False, "one_current_row_each": False, "complete_seed": False}


def test_asset_materializes_the_bundled_seed_and_reruns_without_a_commit():
    from dagster import materialize

    from emission_assets.factors.assets import emission_factors_asset
    from emission_assets.orchestration.resources import SparkResource

    rows = len(read_seed())  # 12 types x 2 bases, lignite/hard coal/gas with one version per year 2015..2023
    assert rows == 24 + 3 * 2 * 8
    first = materialize([emission_factors_asset], resources={"spark": SparkResource()})
    assert first.success
    meta = first.asset_materializations_for_node("silver__emission_factors")[0].metadata
    assert meta["inserted"].value == rows and meta["active_rows"].value == rows
    checks = first.get_asset_check_evaluations()
    assert {c.check_name for c in checks} == {"no_overlapping_validity", "one_current_row_each", "complete_seed"}
    assert all(c.passed for c in checks)
    again = materialize([emission_factors_asset], resources={"spark": SparkResource()})
    meta = again.asset_materializations_for_node("silver__emission_factors")[0].metadata
    assert (meta["inserted"].value, meta["retired"].value, meta["committed"].value) == (0, 0, False)


def test_bundled_dated_factors_are_what_the_build_script_computes_from_plant_units():
    """Hand edits of the dated rows would drift from their stated derivation: the script's output must match."""
    import csv
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    spec = importlib.util.spec_from_file_location("build_dated_factors", root / "scripts" / "build_dated_factors.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with open(script.UNITS, newline="", encoding="utf-8") as handle:
        generated = script.dated_rows(list(csv.DictReader(handle)))
    seed = read_seed()
    for (production_type, basis), rows in generated.items():
        committed = [r for r in seed if (r["production_type"], r["basis"]) == (production_type, basis)]
        assert [(float(r["g_per_kwh"]), date.fromisoformat(r["valid_from"]), r["source"]) for r in rows] == [
            (r["g_per_kwh"], r["valid_from"], r["source"]) for r in committed]
    # a 2017 lignite fleet, by hand: lignite capacity-weighted efficiency -> 0.407 / efficiency
    count, megawatts, efficiency = script.fleet(
        [{"production_type": "lignite", "commissioned_year": "1990", "shutdown_year": "", "capacity_net_mw": "300",
          "efficiency": "0.40"},
         {"production_type": "lignite", "commissioned_year": "1970", "shutdown_year": "2017", "capacity_net_mw": "900",
          "efficiency": "0.30"},
         {"production_type": "lignite", "commissioned_year": "1975", "shutdown_year": "2018", "capacity_net_mw": "100",
          "efficiency": "0.32"}], "lignite", 2017)
    assert (count, megawatts, round(efficiency, 6)) == (2, 400.0, round((300 * 0.40 + 100 * 0.32) / 400, 6))
