"""The gold assets: the graph, the monthly tables (exactly the run's months), the checks, the view assets and their
catalog, automation, bad input, and the upgrade of a home from the report-store layout."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, evaluate_automation_conditions, instance_for_test, materialize
from pyspark.sql import functions as F

from emission_assets.gold.assets import consumer_assets, view_asset
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets_tests.support.merit_stack import base_prices, write_prices
from emission_assets_tests.support.silver_frames import consumption, factors, production

GOLD = "gold"
GRID, MONTHLY = AssetKey(["gold", "grid_intensity"]), AssetKey(["gold", "emissions_monthly"])
PROFILE = AssetKey(["gold", "intensity_profile"])
EV_SESSIONS, EV_SHIFT = AssetKey(["gold", "ev_sessions"]), AssetKey(["gold", "ev_shift_savings"])
SILVER_PRODUCTION = AssetKey(["silver", "production"])
SILVER_FACTORS = AssetKey(["silver", "emission_factors"])
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
DAYS = [date(2024, 1, 10), date(2024, 1, 11), date(2024, 2, 10)]
ROOT = Path(__file__).resolve().parents[3]


# --- silver rows -----------------------------------------------------------------------------------------------------

FACTORS = [(t, b, g, date(2020, 1, 1), None, False)
           for t, g in (("lignite", 1000.0), ("solar", 0.0), ("hard_coal", 800.0)) for b in ("direct", "lifecycle")]


@pytest.fixture
def home(spark):
    """The home's lakehouse (what the assets open) with two months of lignite + solar and consumption, and fuel
    prices (the merit order's marginal unit: the cheapest flexible unit of the bundled list, see
    :func:`cheapest_flexible_g_per_kwh`)."""
    lakehouse = open_lakehouse()
    writer = lakehouse.writer
    writer.replace_days("silver.production", production(spark, [(t, d) for t in ("lignite", "solar") for d in DAYS]),
                        DAYS[0], DAYS[-1])
    writer.replace_days("silver.consumption", consumption(spark, DAYS), DAYS[0], DAYS[-1])
    writer.append("silver.emission_factors", factors(spark, FACTORS))
    write_prices(spark, writer, base_prices())
    return lakehouse


def cheapest_flexible_g_per_kwh() -> float:
    """1 MWh of lignite an hour, constant: its must-run level (the month's 0.05 quantile) equals its available
    capacity (its maximum), so every lignite unit is locked and the residual (0) takes the cheapest flexible
    unit of the other fuels (no hard coal or gas rows: not derated) at the test prices (EUA 10, coal 10, gas 20, oil
    40 EUR/MWh): short-run cost = price / efficiency + CO2 factor / efficiency x EUA + variable O&M."""
    from emission_assets.models.merit_order import stack_units

    prices = {"hard_coal": 10.0, "natural_gas": 20.0, "oil": 40.0}

    def cost(u):
        return (prices[u["commodity"]] + u["co2_t_per_mwh_th"] * 10.0) / u["efficiency"] + u["vom_eur_per_mwh"]

    best = min((u for u in stack_units() if u["fuel"] != "lignite" and u["shutdown_year"] is None
                and u["commissioned_year"] <= 2024), key=lambda u: (cost(u), u["unit_id"]))
    assert best["fuel"] == "hard_coal"  # the lifecycle row needs the type's factors (FACTORS has hard coal's)
    return best["co2_t_per_mwh_th"] / best["efficiency"] * 1000


def run_gold(keys, first: str | None = None, last: str | None = None, assets=None, instance=None):
    """One run of ``keys`` (the real asset definitions), over the month range ``first..last`` if given."""
    from emission_assets.definitions import ASSETS
    from emission_assets.sources import resources_for_environment

    tags = {RANGE_START: first, RANGE_END: last or first} if first else None
    return materialize(assets or ASSETS, selection=keys, tags=tags, resources=resources_for_environment(),
                       instance=instance, raise_on_error=False)


def month_files(lakehouse, name: str) -> dict[int, list[str]]:
    """Per month key (yyyymm): the table's live data files, from the Delta log."""
    import pyarrow as pa
    from deltalake import DeltaTable

    actions = pa.table(DeltaTable(lakehouse.registry.path(name)).get_add_actions(flatten=True)).to_pylist()
    files: dict[int, list[str]] = {}
    for a in actions:
        files.setdefault(int(a["partition.year"]) * 100 + int(a["partition.month"]), []).append(a["path"])
    return {month: sorted(paths) for month, paths in files.items()}


def step_error(result) -> str:
    failure = next(e for e in result.all_events if e.is_step_failure)
    error = failure.event_specific_data.error
    while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause
    return error.message


# --- the graph -------------------------------------------------------------------------------------------------------

def test_every_gold_view_and_table_is_an_asset_with_lineage_owners_and_code_version():
    from emission_assets.definitions import build_definitions
    from emission_assets.lakehouse.registry import VIEWS

    graph = build_definitions().resolve_asset_graph()
    gold = {k for k in graph.get_all_asset_keys() if k.path[0] == GOLD}
    expected = {AssetKey(name.split(".")) for name in VIEWS} | {GRID, MONTHLY, AssetKey(["gold", "emissions_report"]),
                                                                  PROFILE}
    expected |= {EV_SESSIONS, EV_SHIFT}
    expected |= {AssetKey(["gold", f"consumer_{c}"]) for c in ("public", "analyst", "household")}
    forecast = AssetKey(["gold", "intensity_forecast"])  # tagged source=forecast: daily, up to tomorrow
    assert gold == expected | {forecast}
    for key in gold:
        node = graph.get(key)
        assert node.group_name == GOLD and node.tags.get("source") == ("forecast" if key == forecast else GOLD), key
        assert node.owners == ["team:emission-tracker"] and node.kinds and node.description, key
        assert node.automation_condition is not None and node.automation_condition.get_label() == "historical_eager"
        if key.path[1] != "emissions_report":
            assert node.code_version and len(node.code_version) == 16, key
    assert graph.get(GRID).parent_keys == {SILVER_PRODUCTION, AssetKey(["silver", "redispatch"]),
                                           AssetKey(["silver", "grid_load"]), AssetKey(["silver", "emission_factors"]),
                                           AssetKey(["silver", "fuel_prices"])}
    assert graph.get(MONTHLY).parent_keys == {GRID, AssetKey(["silver", "consumption"])}
    assert graph.get(PROFILE).parent_keys == {GRID}
    assert graph.get(AssetKey(["gold", "emissions_yearly"])).parent_keys == {MONTHLY}
    assert graph.get(AssetKey(["gold", "consumption_emissions"])).parent_keys == {GRID, AssetKey(["silver", "consumption"])}
    assert graph.get(AssetKey(["gold", "production_emissions"])).parent_keys == {
        SILVER_PRODUCTION, AssetKey(["silver", "emission_factors"])}
    market_based = AssetKey(["gold", "market_based_monthly"])
    assert graph.get(AssetKey(["gold", "emissions_report"])).parent_keys == {MONTHLY, market_based}
    assert graph.get(EV_SESSIONS).parent_keys == {GRID, AssetKey(["silver", "consumption"])}
    assert graph.get(EV_SHIFT).parent_keys == {GRID, EV_SESSIONS}
    assert graph.get(AssetKey(["gold", "ev_savings_monthly"])).parent_keys == {EV_SHIFT}
    assert graph.get(market_based).parent_keys == {AssetKey(["silver", "consumption"])}
    for key in (GRID, MONTHLY, PROFILE):
        partitions = graph.get(key).partitions_def
        assert partitions.timezone == "Europe/Berlin" and partitions.get_first_partition_key() == "2015-01-01"
        assert graph.get(key).backfill_policy.max_partitions_per_run is None
        assert [c.name for c in graph.get(key).metadata["dagster/column_schema"].columns][-2:] == ["year", "month"]
    assert {c.name for c in graph.get(GRID).check_keys} == {
        "intensities_within_physical_bounds", "every_production_interval_has_a_factor",
        "merit_order_marginal_unit_is_fossil"}


def test_a_change_of_the_model_code_changes_the_code_versions(monkeypatch):
    from emission_assets.gold import assets
    from emission_assets.models import merit_order

    before = assets.code_version(assets._intensity_sql_digest)
    monthly = view_asset("gold.emissions_yearly", lambda r: "SELECT 1", "x").get_asset_spec().code_version
    # a calibrated parameter of merit_order.yaml changed: the merit order's SQL (and so the code version) changes
    changed = merit_order.load_parameters().replace(must_run_quantile={"lignite": 0.5})
    monkeypatch.setattr(merit_order, "committed_parameters", lambda: changed)
    assert assets.code_version(assets._intensity_sql_digest) != before
    assert assets.code_version(assets._intensity_sql_digest) == assets.code_version(assets._intensity_sql_digest)
    assert view_asset("gold.emissions_yearly", lambda r: "SELECT 2", "x").get_asset_spec().code_version != monthly


# --- the monthly tables ----------------------------------------------------------------------------------------------

def test_a_one_day_silver_change_then_its_month_s_run_changes_only_that_month(spark, home):
    first = run_gold([GRID, MONTHLY], "2024-01-01", "2024-02-01")
    assert first.success
    assert {e.check_name: e.passed for e in first.get_asset_check_evaluations()} == {
        "intensities_within_physical_bounds": True, "every_production_interval_has_a_factor": True,
        "merit_order_marginal_unit_is_fossil": True}
    files = {name: month_files(home, name) for name in ("gold.grid_intensity", "gold.emissions_monthly")}
    assert set(files["gold.emissions_monthly"]) == {202401, 202402}

    def kg():
        return {(r.month, r.model): r.kg for r in spark.sql(
            "SELECT month, model, emissions_kg AS kg FROM gold.emissions_monthly WHERE basis = 'direct'").collect()}

    before = kg()
    # January: 2 hours x 2 kWh at (1000 + 0) / 2 g/kWh = 2 kg average; February one hour: 1 kg
    assert before[(1, "average")] == pytest.approx(2.0) and before[(2, "average")] == pytest.approx(1.0)
    february = DAYS[-1]
    home.writer.replace_days("silver.consumption", consumption(spark, [february], kwh=4.0), february, february)

    second = run_gold([GRID, MONTHLY], "2024-02-01")
    assert second.success

    after = kg()
    # The step's metadata: February's kg per model and basis, summed from the rows it wrote.
    recorded = next(m for m in second.asset_materializations_for_node("gold__emissions_monthly")).metadata
    sums = {f"{r.model}_{r.basis}_kg": r.kg for r in spark.sql(
        "SELECT model, basis, sum(emissions_kg) AS kg FROM gold.emissions_monthly WHERE month = 2 "
        "GROUP BY model, basis").collect()}
    assert {k: v.value for k, v in recorded.items() if k.endswith("_kg")} == pytest.approx(sums)
    assert recorded["average_direct_kg"].value == pytest.approx(2.0) and recorded["dagster/row_count"].value == len(sums)
    assert after[(2, "average")] == pytest.approx(2.0) and after[(2, "worst_emitter")] == pytest.approx(4.0)
    assert {k: v for k, v in after.items() if k[0] == 1} == {k: v for k, v in before.items() if k[0] == 1}
    for name, old in files.items():
        new = month_files(home, name)
        assert new[202401] == old[202401], name  # January's files: not rewritten
        assert new[202402] != old[202402], name  # February's: replaced


def test_month_by_month_equals_the_builders_over_all_of_silver(spark, registry, writer):
    from emission_assets.gold.aggregates import consumption_emissions_sql, emissions_sql
    from emission_assets.gold.tables import write_emissions_monthly, write_grid_intensity
    from emission_assets.models.grid_intensity import grid_intensity_sql

    days = [date(2024, 1, 31), date(2024, 2, 1), date(2024, 3, 31)]  # month ends, and the spring DST switch
    writer.replace_days("silver.production", production(spark, [(t, d) for t in ("lignite", "solar") for d in days]),
                        days[0], days[-1])
    writer.replace_days("silver.consumption", consumption(spark, days), days[0], days[-1])
    writer.append("silver.emission_factors", factors(spark, FACTORS))
    write_prices(spark, writer, base_prices())
    months = [(2024, 1), (2024, 2), (2024, 3)]
    write_grid_intensity(spark, registry, months, months_per_query=1)
    write_emissions_monthly(spark, registry, months, months_per_query=2)

    columns = "interval_start, region, model, basis, g_per_kwh, determined_by, production_mwh"
    table = spark.sql(f"SELECT {columns} FROM gold.grid_intensity ORDER BY {columns}").collect()
    whole = spark.sql(f"SELECT {columns} FROM ({grid_intensity_sql(registry)}) ORDER BY {columns}").collect()
    assert len(table) == 3 * 3 * 2 and table == whole
    spark.sql(f"CREATE OR REPLACE VIEW gold.consumption_emissions AS {consumption_emissions_sql(registry)}")
    key = "year, month, home_id, model, basis"
    stored = spark.sql(f"SELECT {key}, energy_kwh, emissions_kg, spread_kg FROM gold.emissions_monthly "
                       f"ORDER BY {key}").collect()
    computed = spark.sql(f"SELECT {key}, energy_kwh, emissions_kg, spread_kg FROM ({emissions_sql(registry, 'month')}) "
                         f"ORDER BY {key}").collect()
    assert len(stored) == 3 * 3 * 2 and [tuple(r)[:6] for r in stored] == [tuple(r)[:6] for r in computed]
    assert [r.emissions_kg for r in stored] == pytest.approx([r.emissions_kg for r in computed])


def test_a_month_without_control_area_production_is_written_without_the_locality_model(spark, registry, writer,
                                                                                       monkeypatch):
    """January has a control area's production (locality rows), February only DE's: February's query leaves the
    locality model out, and both months equal the builders over all of silver (the merit order's staged unit table
    included)."""
    from emission_assets.gold.tables import write_grid_intensity
    from emission_assets.models import grid_intensity
    from emission_assets.models.grid_intensity import grid_intensity_sql

    built = []  # the scopes the locality SQL was built for: the months of each query that has it
    real = grid_intensity.locality_sql
    monkeypatch.setattr(grid_intensity, "locality_sql",
                        lambda scope, *a: built.append(getattr(scope, "months", "all")) or real(scope, *a))
    days = [date(2024, 1, 15), date(2024, 2, 15)]
    national = production(spark, [(t, d) for t in ("lignite", "hard_coal", "solar") for d in days])
    area = production(spark, [(t, days[0]) for t in ("lignite", "solar")]).withColumn("region", F.lit("TenneT"))
    writer.replace_days("silver.production", national.unionByName(area), days[0], days[-1])
    writer.append("silver.emission_factors", factors(spark, FACTORS))
    write_prices(spark, writer, base_prices())
    write_grid_intensity(spark, registry, [(2024, 1), (2024, 2)], months_per_query=1)
    assert built == [[(2024, 1)]]

    columns = "interval_start, region, model, basis, g_per_kwh, determined_by, production_mwh"
    table = spark.sql(f"SELECT {columns} FROM gold.grid_intensity ORDER BY {columns}").collect()
    whole = spark.sql(f"SELECT {columns} FROM ({grid_intensity_sql(registry)}) ORDER BY {columns}").collect()
    assert table == whole
    models = {(r.interval_start.month, r.region, r.model) for r in table}
    everywhere = {(m, r, model) for m, r in ((1, "DE"), (1, "TenneT"), (2, "DE"))
                  for model in ("average", "worst_emitter", "merit_order")}
    assert models == everywhere | {(1, "TenneT", "locality")}


def test_a_staged_input_is_a_copy_of_its_rows_and_leaves_no_view_or_scratch_behind(spark, registry, writer):
    from emission_assets.gold.tables import staged_table

    writer.replace_days("silver.production", production(spark, [(t, d) for t in ("lignite", "solar") for d in DAYS]),
                        DAYS[0], DAYS[-1])
    scratch = registry.lakehouse_root / "_scratch"
    january = f"SELECT * FROM {registry.sql_name('silver.production')} WHERE year = 2024 AND month = 1"
    with staged_table(spark, writer, "silver.production", january) as view:
        assert len(list(scratch.iterdir())) == 1
        assert view in [t.name for t in spark.catalog.listTables() if t.isTemporary]
        # the copy holds January as it was: a later change to the table does not reach it
        writer.replace_days("silver.production", production(spark, [("lignite", DAYS[0])]), DAYS[0], DAYS[0])
        staged = spark.sql(f"SELECT production_type, day FROM {view} ORDER BY day, production_type").collect()
        assert [tuple(r) for r in staged] == [("lignite", 10), ("solar", 10), ("lignite", 11), ("solar", 11)]
    assert list(scratch.iterdir()) == []
    assert view not in [t.name for t in spark.catalog.listTables() if t.isTemporary]
    with pytest.raises(Exception, match="(?i)not found"):
        spark.sql(f"SELECT * FROM {view}").collect()
    with pytest.raises(RuntimeError, match="^failed inside$"):
        with staged_table(spark, writer, "silver.production", january):
            raise RuntimeError("failed inside")
    assert list(scratch.iterdir()) == []


def test_writing_grid_intensity_leaves_no_staged_copy_behind(spark, home):
    from emission_assets.gold.tables import write_grid_intensity

    write_grid_intensity(spark, home.registry, [(2024, 1), (2024, 2)], months_per_query=1)

    assert list((home.registry.lakehouse_root / "_scratch").iterdir()) == []
    names = [t.name for t in spark.catalog.listTables() if t.isTemporary]
    assert not [n for n in names if n.startswith("staged_")]
    rows = spark.sql("SELECT month, count(*) AS n FROM gold.grid_intensity GROUP BY month ORDER BY month").collect()
    assert [tuple(r) for r in rows] == [(1, 2 * 3 * 2), (2, 1 * 3 * 2)]  # hours x models (no locality: DE) x bases


def test_the_factor_check_fails_the_step_naming_type_basis_and_days(spark, home):
    home.writer.replace_days("silver.production", production(spark, [("gas", DAYS[0])]), DAYS[0], DAYS[0])

    result = run_gold([GRID, MONTHLY], "2024-01-01")

    assert not result.success  # blocking: emissions_monthly did not run on it
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    factor = checks["every_production_interval_has_a_factor"]
    assert not factor.passed
    assert factor.metadata["production_rows_without_factor"].value == 2
    assert "gas (direct): 1 rows, 2024-01-10..2024-01-10" in factor.metadata["offenders"].value
    assert checks["intensities_within_physical_bounds"].passed
    assert not [e for e in result.all_events if e.is_step_success and e.step_key == "gold__emissions_monthly"]


def test_the_bounds_check_flags_intensities_above_1500(spark, home):
    home.writer.merge("silver.emission_factors", factors(spark, FACTORS).where("production_type = 'lignite'")
                      .selectExpr("factor_id", "CAST(3200.0 AS DOUBLE) AS g_per_kwh"),
                      "t.factor_id = s.factor_id", "WHEN MATCHED THEN UPDATE SET t.g_per_kwh = s.g_per_kwh")

    result = run_gold([GRID], "2024-02-01")

    bounds = {e.check_name: e for e in result.get_asset_check_evaluations()}["intensities_within_physical_bounds"]
    assert not bounds.passed
    # February's hour x 2 bases: average (1600) and worst emitter (3200); the merit order has the unit's own factor
    # (lifecycle: + 3200 - 3200)
    assert bounds.metadata["rows_outside"].value == 4 and bounds.metadata["months"].value == "2024-02..2024-02"
    assert "2024-02-10 10:00:00 DE average/direct: 1600" in bounds.metadata["outside"].value


# --- views -----------------------------------------------------------------------------------------------------------

VIEWS = [AssetKey(["gold", n]) for n in ("production_monthly", "production_yearly", "consumption_emissions",
                                          "emissions_yearly")]


def test_view_assets_create_record_and_describe_their_views_and_a_new_process_sees_them(spark, home):
    assert run_gold([GRID, MONTHLY], "2024-01-01", "2024-02-01").success
    result = run_gold(VIEWS)
    assert result.success
    described = {e.asset_key.path[1]: e.materialization.metadata for e in result.get_asset_materialization_events()}
    yearly = described["emissions_yearly"]
    assert yearly["dagster/row_count"].value == 3 * 2  # 2024 x 3 national models x 2 bases
    assert "FROM gold.emissions_monthly" in yearly["sql"].value
    assert (yearly["first_year"].value, yearly["last_year"].value) == ("2024", "2024")
    assert "spread_kg" in [c.name for c in yearly["dagster/column_schema"].schema.columns]
    assert described["consumption_emissions"]["first_interval_start"].value.startswith("2024-01-10")

    catalog = home.registry.lakehouse_root / "_views.json"
    views = json.loads(catalog.read_text())
    assert set(views) == {f"gold.{k.path[1]}" for k in VIEWS}
    assert "FROM gold.emissions_monthly" in views["gold.emissions_yearly"]
    # A view whose SQL no longer works (a table it read is gone) is skipped with a warning, never breaks a session.
    views["gold.production_yearly"] = "SELECT nothing FROM silver.no_such_table"
    catalog.write_text(json.dumps(views))
    answer = subprocess.run(
        [sys.executable, "-m", "emission_assets.cli", "query",
         "SELECT model, round(emissions_kg, 3) AS kg FROM gold.emissions_yearly WHERE basis = 'direct' ORDER BY model"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert answer.returncode == 0, answer.stderr
    merit_kg = round(3 * 2 * cheapest_flexible_g_per_kwh() / 1000, 3)  # 3 hours x 2 kWh
    assert answer.stdout.splitlines() == ["model,kg", "average,3.0", f"merit_order,{merit_kg}", "worst_emitter,6.0"]
    assert "view gold.production_yearly not re-created" in answer.stderr


def test_bronze_and_silver_tables_open_without_any_view(spark):
    """Registering the lakehouse creates tables only: no view appears until a view asset made it."""
    from emission_assets.lakehouse.registry import Registry
    from emission_assets.lakehouse.view_catalog import restore_views

    registry = Registry(lakehouse_root=Path(os.environ["EMISSION_HOME"]) / "fresh")
    assert registry.register(spark, force=True)
    assert restore_views(spark, registry) == []
    assert not (registry.lakehouse_root / "_views.json").exists()


# --- bad input -------------------------------------------------------------------------------------------------------

def test_a_broken_consumer_entry_fails_only_its_own_asset_naming_file_consumer_and_field(spark, home, tmp_path):
    config = tmp_path / "consumers.yaml"
    config.write_text("consumers:\n"
                      "  mine:\n    principal: me\n    level: interval\n    home: raw\n    homes: [home]\n"
                      "    columns: [energy_kwh]\n"
                      "  typo:\n    principal: you\n    level: weekly\n    home: raw\n    homes: [home]\n"
                      "    columns: [energy_kwh]\n")
    assets = consumer_assets(config)
    assert [a.key.path[1] for a in assets] == ["consumer_mine", "consumer_typo"]
    from emission_assets.definitions import ASSETS

    others = [a for a in ASSETS if not (a.key.path[0] == GOLD and a.key.path[1].startswith("consumer_"))]
    assert run_gold([GRID, MONTHLY], "2024-01-01", "2024-02-01").success
    result = run_gold([AssetKey(["gold", "consumption_emissions"]), *(a.key for a in assets)], assets=others + assets)

    assert not result.success
    assert step_error(result).strip().endswith(f"UserInputError: {config}: consumer 'typo': unknown level 'weekly'; "
                                               "choose one of interval, monthly, yearly")
    done = {e.asset_key.path[1] for e in result.get_asset_materialization_events()}
    assert done == {"consumption_emissions", "consumer_mine"}
    assert spark.sql("SELECT count(*) FROM gold.consumer_mine").collect()[0][0] == 3 * 3 * 2


def test_an_unreadable_consumer_config_gives_one_failing_asset_and_definitions_still_load(tmp_path, monkeypatch):
    from dagster import Definitions

    from emission_assets.gold import consumers

    config = tmp_path / "consumers.yaml"
    config.write_text("consumers: [unclosed\n")
    assets = consumer_assets(config)
    assert [a.key for a in assets] == [AssetKey(["gold", "consumer_views"])]
    result = materialize(assets, raise_on_error=False)
    assert not result.success and f"UserInputError: {config}: not valid YAML" in step_error(result)
    monkeypatch.setattr(consumers, "CONFIG_PATH", config)
    from emission_assets.definitions import build_definitions

    Definitions.validate_loadable(build_definitions())  # bronze, silver and the other gold assets load and run


def test_broken_view_sql_fails_its_asset_naming_the_view_and_records_nothing(spark, home):
    from emission_assets.orchestration.resources import SparkResource

    broken = view_asset("gold.production_yearly", lambda r: "SELECT no_such_column FROM silver.production", "Broken.")

    result = materialize([broken], resources={"spark": SparkResource()}, raise_on_error=False)

    assert not result.success
    assert "RuntimeError: gold view gold.production_yearly: creating it failed: " in step_error(result)
    catalog = home.registry.lakehouse_root / "_views.json"
    assert not catalog.exists() or "gold.production_yearly" not in json.loads(catalog.read_text())


def test_a_wrong_model_parameter_fails_only_the_views_that_use_it(spark, home, monkeypatch):
    monkeypatch.setenv("EMISSION_HOME_REGION", "Atlantis")

    result = run_gold([AssetKey(["gold", "consumption_emissions"]), AssetKey(["gold", "production_monthly"])])

    assert not result.success
    assert "EMISSION_HOME_REGION='Atlantis'" in step_error(result)
    assert {e.asset_key.path[1] for e in result.get_asset_materialization_events()} == {"production_monthly"}


# --- automation ------------------------------------------------------------------------------------------------------

def test_a_one_day_silver_update_requests_exactly_its_month(spark):
    from emission_assets.definitions import build_definitions

    defs = build_definitions()
    monthly_assets = (GRID, MONTHLY)
    with instance_for_test() as instance:
        first = evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.total_requested == 0  # nothing on the first evaluation
        # silver/production for one day, a real materialisation (empty bronze: no rows, a WARN check)
        day = materialize_day(instance, "2022-03-15")
        assert day.success
        second = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        # its month of both monthly tables (emissions_monthly because grid_intensity will be requested), no other month
        assert {k: second.get_requested_partitions(k) for k in monthly_assets} == {
            GRID: {"2022-03-01"}, MONTHLY: {"2022-03-01"}}
        assert second.get_requested_partitions(AssetKey(["gold", "production_monthly"])) == {None}
        # the requested month runs (as the daemon would): then nothing is requested again
        assert run_gold([GRID, MONTHLY], "2022-03-01", instance=instance).success
        third = evaluate_automation_conditions(defs=defs, instance=instance, cursor=second.cursor)
        assert {k: third.get_requested_partitions(k) for k in monthly_assets} == {GRID: set(), MONTHLY: set()}


def test_the_factor_dimension_requests_every_month_only_when_its_rows_change(spark, monkeypatch):
    from emission_assets.definitions import build_definitions
    from emission_assets.factors import assets as factor_assets
    from emission_assets.orchestration.partitions import monthly_partitions

    defs = build_definitions()
    every_month = set(monthly_partitions.get_partition_keys())
    with instance_for_test() as instance:
        def merged_then_requested(cursor):
            assert materialize_factors(instance).success
            result = evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
            return result.get_requested_partitions(GRID), result.cursor

        cursor = evaluate_automation_conditions(defs=defs, instance=instance).cursor
        created, cursor = merged_then_requested(cursor)
        assert created == every_month  # a new dimension: every month
        for _ in range(2):
            unchanged, cursor = merged_then_requested(cursor)
            assert unchanged == set()  # re-merged, nothing changed: the data version is the same
        seed = factor_assets.read_seed()
        seed[0] = {**seed[0], "g_per_kwh": seed[0]["g_per_kwh"] + 1.0}
        monkeypatch.setattr(factor_assets, "read_seed", lambda: seed)
        changed, cursor = merged_then_requested(cursor)
        assert changed == every_month


def materialize_factors(instance: DagsterInstance):
    from emission_assets.definitions import ASSETS
    from emission_assets.sources import resources_for_environment

    return materialize(ASSETS, selection=[SILVER_FACTORS], instance=instance, resources=resources_for_environment(),
                       raise_on_error=False)


def materialize_day(instance: DagsterInstance, day: str):
    from emission_assets.definitions import ASSETS
    from emission_assets.sources import resources_for_environment

    return materialize(ASSETS, selection=[SILVER_PRODUCTION], partition_key=day, instance=instance,
                       resources=resources_for_environment(), raise_on_error=False)


# --- upgrading a home of the report-store layout ---------------------------------------------------------------------

def test_a_home_with_the_old_report_store_keeps_working_and_loses_nothing(spark, home):
    import pyarrow as pa
    from deltalake import write_deltalake

    gold = home.registry.lakehouse_root / "gold"
    old = {}
    from emission_assets.lakehouse.registry import RETIRED_TABLES

    for name in (retired.split(".")[1] for retired in RETIRED_TABLES):  # the previous layout's report store
        write_deltalake(str(gold / name), pa.table({"fingerprint": ["abc"], "year": [2024], "month": [1]}),
                        partition_by=["year", "month"])
        old[name] = sorted((p.relative_to(gold), p.read_bytes()) for p in (gold / name).rglob("*") if p.is_file())

    home.registry.register(spark, force=True)  # what a new process does when it opens the home
    tables = {r.tableName for r in spark.sql("SHOW TABLES IN gold").collect()}
    assert {"grid_intensity", "emissions_monthly"} <= tables and not {"report_monthly", "report_inputs"} & tables
    # the documented step: materialise the gold assets over the home's months
    assert run_gold([GRID, MONTHLY], "2024-01-01", "2024-02-01").success
    assert run_gold([AssetKey(["gold", "emissions_yearly"])]).success
    kg = spark.sql("SELECT sum(emissions_kg) FROM gold.emissions_yearly WHERE model = 'average' AND basis = 'direct'")
    assert kg.collect()[0][0] == pytest.approx(3.0)
    for name, files in old.items():  # ignored, untouched
        assert sorted((p.relative_to(gold), p.read_bytes()) for p in (gold / name).rglob("*") if p.is_file()) == files



def test_a_broken_consumer_config_fails_only_its_asset_and_bronze_silver_and_the_months_run(spark, tmp_path,
                                                                                              monkeypatch):
    """Through the command line: the days and the months are written, only the consumer's step fails, naming the
    file, consumer and field; exit code 1."""
    from click.testing import CliRunner

    import emission_assets.definitions as definitions
    from emission_assets.cli import main
    from emission_assets.gold.assets import gold_assets
    from emission_assets.gold.report_assets import emissions_report_asset
    from emission_assets.orchestration.deployment import with_step_launcher
    from emission_assets_tests.support.paths import FIXTURES

    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # `materialize` sets it; monkeypatch restores it
    config = tmp_path / "consumers.yaml"
    config.write_text("consumers:\n  typo:\n    principal: you\n    level: interval\n    home: raw\n"
                      "    homes: [home]\n    columns: [energy_kwh, colour]\n")
    kept = [a for a in definitions.ASSETS if a.key.path[0] != GOLD]
    monkeypatch.setattr(definitions, "ASSETS",
                        with_step_launcher([*kept, *gold_assets(config), emissions_report_asset]))
    autumn = FIXTURES / "smard" / "smard_realisierte_erzeugung_DE_hour_2022-10-29_2022-10-31.csv"
    assert CliRunner().invoke(main, ["import", "smard-csv", str(autumn)]).exit_code == 0

    result = CliRunner().invoke(main, ["materialize", "--start", "2022-10-29", "--end", "2022-10-31",
                                       "--select", "tag:source=smard", "--select", "tag:source=factors",
                                       "--select", "tag:source=gold"])

    assert result.exit_code == 1, result.output
    assert result.stderr.strip(), result.output
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("Error: step gold__consumer_typo of run ")
    assert error.endswith(f"UserInputError: {config}: consumer 'typo': unknown column(s) ['colour'] at level "
                          "'interval'; allowed: energy_kwh, ev_kwh, household_kwh, g_per_kwh, emissions_g, "
                          "ev_emissions_g, household_emissions_g")
    sql = open_lakehouse().spark.sql
    assert sql("SELECT count(*) FROM silver.production").collect()[0][0] == (24 + 25 + 24) * 12
    assert sql("SELECT count(DISTINCT month) FROM gold.grid_intensity").collect()[0][0] == 1
    assert sql("SELECT count(*) FROM gold.production_monthly").collect()[0][0] == 12
