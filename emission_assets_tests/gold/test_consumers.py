"""Consumer views expose nothing below their level; GRANTs for Unity Catalog; config validation."""
from __future__ import annotations

import hashlib

import pytest

from emission_assets.gold.consumers import (
    BUILDERS,
    create_consumer_views,
    grant_statements,
    load_consumers,
    parse_consumers,
)
from emission_assets.lakehouse.registry import Registry

HOMES = ("d1e2a7c0-5a3b-4f8e-9c1d-2b7e6f0a9e11", "0a0b0c0d-1111-2222-3333-444455556666")
MODELS = ("average", "merit_order", "worst_emitter", "locality")


def key(home_id: str) -> str:
    return hashlib.sha256(f"home:{home_id}".encode()).hexdigest()


def interval_rows():
    """Two hours of 2024-01-31 and one of 2024-02-01 (UTC) per home, model and basis."""
    rows = []
    for home_index, home in enumerate(HOMES):
        for hour, (year, month, day) in (("2024-01-31 10:00:00", (2024, 1, 31)), ("2024-01-31 11:00:00", (2024, 1, 31)),
                                         ("2024-02-01 10:00:00", (2024, 2, 1))):
            for model_index, model in enumerate(MODELS):
                for basis in ("direct", "lifecycle"):
                    energy, ev = 1.5 + home_index, 0.5
                    g = 300.0 + 50 * model_index + (100 if basis == "lifecycle" else 0)
                    rows.append((hour, home, model, basis, energy, ev, g, year, month, day))
    return rows


@pytest.fixture
def gold_views(spark, registry):
    """Stand-in gold.consumption_emissions and gold.emissions_monthly with the contract's columns."""
    values = ", ".join(
        f"(timestamp'{h}', '{home}', '{model}', '{basis}', {e}, {ev}, {g}, {y}, {m}, {d})"
        for h, home, model, basis, e, ev, g, y, m, d in interval_rows()
    )
    spark.sql(f"""
        CREATE OR REPLACE VIEW gold.consumption_emissions AS
        SELECT interval_start, interval_start + INTERVAL 1 HOUR AS interval_end, home_id, model, basis,
               CAST(e AS DECIMAL(14,6)) AS energy_kwh, CAST(ev AS DECIMAL(14,6)) AS ev_kwh,
               CAST(e - ev AS DECIMAL(14,6)) AS household_kwh, CAST(g AS DOUBLE) AS g_per_kwh,
               CAST(e * g AS DOUBLE) AS emissions_g, CAST(ev * g AS DOUBLE) AS ev_emissions_g,
               CAST((e - ev) * g AS DOUBLE) AS household_emissions_g,
               year, month, day
        FROM VALUES {values} AS t(interval_start, home_id, model, basis, e, ev, g, year, month, day)""")
    spark.sql("""
        CREATE OR REPLACE VIEW gold.emissions_monthly AS
        SELECT year, month, home_id, model, basis, energy_kwh, ev_kwh, household_kwh, emissions_kg, ev_emissions_kg,
               household_emissions_kg, g_per_kwh,
               max(emissions_kg) OVER (PARTITION BY year, month, home_id, basis)
               - min(emissions_kg) OVER (PARTITION BY year, month, home_id, basis) AS spread_kg
        FROM (SELECT year, month, home_id, model, basis, sum(energy_kwh) AS energy_kwh, sum(ev_kwh) AS ev_kwh,
                     sum(household_kwh) AS household_kwh, sum(emissions_g) / 1000 AS emissions_kg,
                     sum(ev_emissions_g) / 1000 AS ev_emissions_kg,
                     sum(household_emissions_g) / 1000 AS household_emissions_kg,
                     sum(emissions_g) / CAST(sum(energy_kwh) AS DOUBLE) AS g_per_kwh
              FROM gold.consumption_emissions GROUP BY year, month, home_id, model, basis)""")
    spark.sql("CREATE OR REPLACE VIEW gold.emissions_yearly AS SELECT * FROM gold.emissions_monthly WHERE false")
    create_consumer_views(spark, registry)
    yield
    for view in ("gold.consumer_public", "gold.consumer_analyst", "gold.consumer_household",
                 "gold.emissions_yearly", "gold.emissions_monthly", "gold.consumption_emissions"):
        spark.sql(f"DROP VIEW IF EXISTS {view}")


def all_values(spark, view: str) -> set:
    return {str(v) for row in spark.sql(f"SELECT * FROM {view}").collect() for v in row}


def test_the_bundled_config_defines_the_three_consumers_as_gold_views():
    consumers = load_consumers()
    assert {name: (c.level, c.home, c.principal) for name, c in consumers.items()} == {
        "public": ("monthly", "pseudonymised", "account users"),
        "analyst": ("interval", "pseudonymised", "analysts"),
        "household": ("interval", "raw", "household-owner"),
    }
    assert set(BUILDERS) == {"gold.consumer_public", "gold.consumer_analyst", "gold.consumer_household"}


def test_public_view_is_monthly_with_pseudonymised_homes_only(spark, gold_views):
    columns = spark.table("gold.consumer_public").columns
    assert columns[:5] == ["year", "month", "home_key", "model", "basis"]
    assert not {"interval_start", "interval_end", "day", "home_id", "cost", "avg_price", "emissions_g"} & set(columns)

    rows = spark.sql("SELECT * FROM gold.consumer_public").collect()
    # one row per month x home x model x basis: 2 months x 2 homes x 4 models x 2 bases
    assert len(rows) == 2 * 2 * 4 * 2
    assert len({(r.year, r.month, r.home_key, r.model, r.basis) for r in rows}) == len(rows)
    assert {r.home_key for r in rows} == {key(h) for h in HOMES}

    # the raw id is nowhere in the view, and a query for it finds nothing
    values = all_values(spark, "gold.consumer_public")
    assert not any(home in value for home in HOMES for value in values)
    for home in HOMES:
        found = spark.sql(
            f"SELECT count(*) AS n FROM gold.consumer_public WHERE home_key = '{home}' OR home_key LIKE '%{home}%'"
        ).collect()[0].n
        assert found == 0

    # January: two hours of 1.5 kWh (first home), average model at 300 g/kWh direct
    january = next(r for r in rows if (r.year, r.month, r.home_key, r.model, r.basis)
                   == (2024, 1, key(HOMES[0]), "average", "direct"))
    assert float(january.energy_kwh) == 3.0 and float(january.ev_kwh) == 1.0 and float(january.household_kwh) == 2.0
    assert january.emissions_kg == pytest.approx(0.9)
    assert january.ev_emissions_kg == pytest.approx(0.3)
    assert january.g_per_kwh == pytest.approx(300.0)
    assert january.spread_kg == pytest.approx(3.0 * 150 / 1000)  # worst_emitter .. average: 450 vs 300 g/kWh


def test_analyst_view_has_interval_rows_with_hashed_ids_only(spark, gold_views):
    columns = spark.table("gold.consumer_analyst").columns
    assert "home_key" in columns and "home_id" not in columns
    assert "interval_start" in columns
    rows = spark.sql("SELECT * FROM gold.consumer_analyst").collect()
    assert len(rows) == len(interval_rows())
    assert {r.home_key for r in rows} == {key(h) for h in HOMES}
    assert not any(home in value for home in HOMES for value in all_values(spark, "gold.consumer_analyst"))


def test_household_view_keeps_the_raw_home_id_for_the_owner(spark, gold_views):
    rows = spark.sql("SELECT DISTINCT home_id FROM gold.consumer_household").collect()
    assert {r.home_id for r in rows} == set(HOMES)
    assert "home_key" not in spark.table("gold.consumer_household").columns


def test_access_clause_keeps_only_the_listed_homes(spark, registry, gold_views):
    consumers = parse_consumers({"consumers": {"owner": {
        "principal": "owner@example.com", "level": "monthly", "home": "raw", "columns": ["emissions_kg"],
        "homes": [HOMES[1]]}}})
    create_consumer_views(spark, registry, consumers)
    try:
        table = spark.table("gold.consumer_owner")
        assert table.columns == ["year", "month", "home_id", "model", "basis", "emissions_kg"]
        assert {r.home_id for r in table.collect()} == {HOMES[1]}
    finally:
        spark.sql("DROP VIEW IF EXISTS gold.consumer_owner")


def test_grant_statements_for_a_catalog():
    statements = grant_statements(Registry(catalog="prod"))
    assert "GRANT SELECT ON VIEW `prod`.`gold`.`consumer_public` TO `account users`" in statements
    assert "GRANT SELECT ON VIEW `prod`.`gold`.`consumer_analyst` TO `analysts`" in statements
    assert "GRANT SELECT ON VIEW `prod`.`gold`.`consumer_household` TO `household-owner`" in statements
    for principal in ("account users", "analysts", "household-owner"):
        assert statements.count(f"GRANT USE CATALOG ON CATALOG `prod` TO `{principal}`") == 1
        assert statements.count(f"GRANT USE SCHEMA ON SCHEMA `prod`.`gold` TO `{principal}`") == 1
        # USE before SELECT: a principal needs both to read the view
        first_use = statements.index(f"GRANT USE CATALOG ON CATALOG `prod` TO `{principal}`")
        assert all(statements.index(s) > first_use for s in statements if s.startswith("GRANT SELECT") and principal in s)
    # nothing on the source views: Unity Catalog views run with their owner's rights
    assert not any("emissions_monthly" in s or "consumption_emissions" in s for s in statements)
    assert len(statements) == 9


def test_grant_statements_need_a_catalog(tmp_path):
    with pytest.raises(ValueError, match="catalog"):
        grant_statements(Registry(lakehouse_root=tmp_path))


def test_grants_cli_prints_the_statements_without_a_session():
    from click.testing import CliRunner

    from emission_assets.cli import main

    result = CliRunner().invoke(main, ["grants", "--catalog", "prod"])
    assert result.exit_code == 0, result.output
    assert "GRANT SELECT ON VIEW `prod`.`gold`.`consumer_public` TO `account users`;" in result.output.splitlines()


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"principal": "p", "level": "daily", "home": "raw", "columns": ["energy_kwh"]}, "unknown level 'daily'"),
        ({"principal": "p", "level": "monthly", "home": "raw", "columns": ["cost"]}, "unknown column"),
        ({"principal": "p", "level": "monthly", "home": "raw", "columns": ["emissions_g"]}, "unknown column"),
        ({"principal": "p", "level": "interval", "home": "hashed", "columns": ["energy_kwh"]}, "unknown home"),
        ({"principal": "p", "level": "monthly", "home": "raw", "columns": ["home_id"]}, "home column"),
        ({"level": "monthly", "home": "raw", "columns": ["energy_kwh"]}, "principal"),
        ({"principal": "p", "level": "monthly", "home": "raw", "columns": []}, "columns"),
        ({"principal": "p", "level": "monthly", "home": "raw", "columns": ["energy_kwh"], "homes": ["x' OR 1=1"]},
         "homes"),
        ({"principal": "p", "level": "monthly", "home": "raw", "columns": ["energy_kwh"], "grain": "x"}, "unknown setting"),
    ],
)
def test_config_validation_names_the_consumer(entry, message):
    with pytest.raises(ValueError, match=message) as error:
        parse_consumers({"consumers": {"marketing": entry}})
    assert "consumer 'marketing'" in str(error.value)


def test_config_file_must_be_a_consumer_mapping(tmp_path):
    path = tmp_path / "consumers.yaml"
    path.write_text("- just a list\n")
    with pytest.raises(ValueError, match="consumers"):
        load_consumers(path)
    path.write_text("consumers:\n  Bad-Name:\n    principal: p\n")
    with pytest.raises(ValueError, match="consumer 'Bad-Name'"):
        load_consumers(path)
