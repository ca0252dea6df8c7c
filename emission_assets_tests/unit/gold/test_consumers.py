"""Consumer views expose nothing below their level; GRANTs for Unity Catalog; config validation."""
from __future__ import annotations

import hashlib
import hmac
import logging

import pytest

from emission_assets.gold.consumers import (
    consumer_views,
    create_consumer_views,
    grant_statements,
    load_consumers,
    parse_consumers,
)
from emission_assets.gold.views import view_definitions
from emission_assets.lakehouse.registry import Registry
from emission_assets.lakehouse.session import Lakehouse
from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.tibber.pseudonyms import refresh_pseudonyms

# the bundled sample home (the bundled household consumer lists it) and a neighbour's
HOMES = ("d1e2a7c0-5a3b-4f8e-9c1d-2b7e6f0a9e11", "0a0b0c0d-1111-2222-3333-444455556666")
MODELS = ("average", "merit_order", "worst_emitter", "locality")
PSEUDONYM_KEY = "test-only-pseudonym-key-7f3a9c1e5b"


def key(home_id: str) -> str:
    return hmac.new(PSEUDONYM_KEY.encode(), home_id.encode(), hashlib.sha256).hexdigest()


def consumption_rows(spark):
    """One silver.consumption row per home: what the pseudonyms are computed from."""
    values = ", ".join(f"('{home}')" for home in HOMES)
    return spark.sql(f"""
        SELECT timestamp'2024-01-31 10:00:00' AS interval_start, timestamp'2024-01-31 11:00:00' AS interval_end,
               home_id, 'api' AS source, CAST(1.5 AS DECIMAL(14,6)) AS energy_kwh, 1.5D AS avg_power_kw,
               CAST(0.5 AS DECIMAL(14,6)) AS ev_kwh, CAST(1 AS DECIMAL(14,6)) AS household_kwh, 11.0D AS ev_charge_kw,
               CAST(0.4 AS DECIMAL(14,6)) AS cost, CAST(0.27 AS DECIMAL(12,6)) AS unit_price, 'EUR' AS currency,
               'seed.json' AS source_file, timestamp'2024-02-01 00:00:00' AS fetched_at,
               2024 AS year, 1 AS month, 31 AS day
        FROM VALUES {values} AS t(home_id)""")


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
def lakehouse(spark, registry, monkeypatch):
    monkeypatch.setenv("EMISSION_PSEUDONYM_KEY", PSEUDONYM_KEY)
    lakehouse = Lakehouse(spark, registry, DeltaWriter(spark, registry))
    lakehouse.writer.append("silver.consumption", consumption_rows(spark))
    assert refresh_pseudonyms(lakehouse) == 2
    return lakehouse


@pytest.fixture
def gold_views(spark, registry, lakehouse):
    """A stand-in gold.consumption_emissions view and gold.emissions_monthly rows with the contract's columns."""
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
    monthly = spark.sql("""
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
    months = [(r.year, r.month) for r in monthly.select("year", "month").distinct().collect()]
    lakehouse.writer.replace_months("gold.emissions_monthly", monthly, months)  # the table, as the asset writes it
    spark.sql("CREATE OR REPLACE VIEW gold.emissions_yearly AS SELECT * FROM gold.emissions_monthly WHERE false")
    create_consumer_views(spark, registry)
    yield
    for view in ("gold.consumer_public", "gold.consumer_analyst", "gold.consumer_household",
                 "gold.emissions_yearly", "gold.consumption_emissions"):
        spark.sql(f"DROP VIEW IF EXISTS {view}")


def all_values(spark, view: str) -> set:
    return {str(v) for row in spark.sql(f"SELECT * FROM {view}").collect() for v in row}


def test_the_bundled_config_defines_the_three_consumers_as_gold_views(monkeypatch):
    monkeypatch.setenv("EMISSION_PSEUDONYM_KEY", PSEUDONYM_KEY)
    consumers = load_consumers()
    assert {name: (c.level, c.home, c.principal, c.homes) for name, c in consumers.items()} == {
        "public": ("monthly", "pseudonymised", "account users", ()),
        "analyst": ("interval", "pseudonymised", "analysts", ()),
        "household": ("interval", "raw", "household-owner", (HOMES[0],)),
    }
    assert set(consumer_views(Registry(catalog="prod"), consumers)) == {
        "gold.consumer_public", "gold.consumer_analyst", "gold.consumer_household"}


def test_without_a_key_the_pseudonymised_views_are_not_created_said_once(monkeypatch, caplog, tmp_path):
    from emission_assets.gold import consumers

    monkeypatch.delenv("EMISSION_PSEUDONYM_KEY", raising=False)
    monkeypatch.setattr(consumers, "_warned", set())
    caplog.set_level(logging.INFO)
    registry = Registry(lakehouse_root=tmp_path)

    for _ in range(3):  # every session start registers the views: said once, not three times
        definitions = view_definitions(registry)
    assert [name for name in definitions if name.startswith("gold.consumer_")] == ["gold.consumer_household"]
    said = [r.getMessage() for r in caplog.records if "EMISSION_PSEUDONYM_KEY" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith("pseudonymised consumer views not created: set EMISSION_PSEUDONYM_KEY")


def test_a_query_of_a_view_left_out_says_which_variable_to_set(spark, monkeypatch):
    from click.testing import CliRunner

    from emission_assets.cli import main

    monkeypatch.delenv("EMISSION_PSEUDONYM_KEY", raising=False)
    # As in a new process: the view an earlier test of this worker created (with a key) is not in the catalog.
    spark.sql("DROP VIEW IF EXISTS gold.consumer_public")
    result = CliRunner().invoke(main, ["query", "SELECT * FROM gold.consumer_public"])

    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        "Error: query failed: pseudonymised consumer views not created: set EMISSION_PSEUDONYM_KEY (a secret of at "
        "least 16 characters, e.g. from `python -c 'import secrets; print(secrets.token_hex(32))'`; on Databricks "
        "via EMISSION_SECRETS)"]


def test_pseudonyms_without_a_key_write_nothing(spark, registry, monkeypatch):
    monkeypatch.delenv("EMISSION_PSEUDONYM_KEY", raising=False)
    lakehouse = Lakehouse(spark, registry, DeltaWriter(spark, registry))
    lakehouse.writer.append("silver.consumption", consumption_rows(spark))
    assert refresh_pseudonyms(lakehouse) is None
    assert spark.sql("SELECT count(*) FROM silver.home_pseudonyms").collect()[0][0] == 0


def test_a_too_short_key_is_refused_naming_the_variable(monkeypatch):
    from emission_assets.errors import UserInputError
    from emission_assets.tibber.pseudonyms import pseudonym_key

    monkeypatch.setenv("EMISSION_PSEUDONYM_KEY", "short")
    with pytest.raises(UserInputError, match=r"^EMISSION_PSEUDONYM_KEY is too short \(5 characters\)"):
        pseudonym_key()


def test_public_home_key_is_the_hmac_of_the_home_id_not_a_plain_hash(spark, gold_views):
    keys = {r.home_key for r in spark.sql("SELECT DISTINCT home_key FROM gold.consumer_public").collect()}
    assert keys == {hmac.new(PSEUDONYM_KEY.encode(), home.encode(), hashlib.sha256).hexdigest() for home in HOMES}
    recomputable = {hashlib.sha256(text.encode()).hexdigest() for home in HOMES for text in (home, f"home:{home}")}
    assert not keys & recomputable  # what anyone knowing an id could compute before


def test_a_new_key_replaces_the_pseudonyms(spark, lakehouse, monkeypatch):
    rotated = "another-test-only-key-0c4d2e8f9a"
    monkeypatch.setenv("EMISSION_PSEUDONYM_KEY", rotated)
    assert refresh_pseudonyms(lakehouse) == 2
    stored = {r.home_id: r.home_key for r in spark.sql("SELECT * FROM silver.home_pseudonyms").collect()}
    assert stored == {home: hmac.new(rotated.encode(), home.encode(), hashlib.sha256).hexdigest() for home in HOMES}


def test_the_key_is_in_no_view_sql_no_table_and_no_log(spark, registry, gold_views, caplog):
    caplog.set_level(logging.DEBUG)
    definitions = view_definitions(registry)
    assert {"gold.consumer_public", "gold.consumer_analyst"} <= set(definitions)
    for name, sql in definitions.items():
        assert PSEUDONYM_KEY not in sql and PSEUDONYM_KEY[5:20] not in sql, name
        assert "sha2" not in sql and "hmac" not in sql.lower(), name  # no hash recipe to recompute a key with
    assert "JOIN silver.home_pseudonyms USING (home_id)" in definitions["gold.consumer_public"]
    stored = spark.sql("SELECT * FROM silver.home_pseudonyms").toPandas().to_csv()
    assert PSEUDONYM_KEY not in stored and key(HOMES[0]) in stored
    assert PSEUDONYM_KEY not in caplog.text


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


def test_household_view_holds_only_its_own_home_with_the_raw_id(spark, gold_views):
    assert spark.sql("SELECT count(DISTINCT home_id) FROM gold.consumption_emissions").collect()[0][0] == 2
    rows = spark.sql("SELECT home_id, count(*) AS n FROM gold.consumer_household GROUP BY home_id").collect()
    assert [(r.home_id, r.n) for r in rows] == [(HOMES[0], 3 * 4 * 2)]  # 3 hours x 4 models x 2 bases, own home
    assert spark.sql(f"SELECT count(*) FROM gold.consumer_household WHERE home_id = '{HOMES[1]}'").collect()[0][0] == 0
    assert "home_key" not in spark.table("gold.consumer_household").columns


def test_a_raw_id_consumer_without_homes_or_owners_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"^consumer 'household': exposes raw home ids, so it must name its homes"):
        parse_consumers({"consumers": {"household": {
            "principal": "owner", "level": "interval", "home": "raw", "columns": ["energy_kwh"]}}})


def test_grants_refuse_a_config_with_an_unfiltered_raw_consumer(tmp_path):
    from click.testing import CliRunner

    from emission_assets.cli import main

    config = tmp_path / "consumers.yaml"
    config.write_text("consumers:\n  household:\n    principal: owner\n    level: monthly\n    home: raw\n"
                      "    columns: [emissions_kg]\n")
    result = CliRunner().invoke(main, ["grants", "--catalog", "prod", "--config", str(config)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {config}: consumer 'household': exposes raw home ids")


OWNED = {"consumers": {"owner": {
    "principal": "homeowners", "level": "interval", "home": "raw", "columns": ["energy_kwh"],
    "owners": {HOMES[0]: "alice@example.com", HOMES[1]: "house-2-owners"}}}}


def test_owner_rows_are_filtered_by_the_principal_on_unity_catalog():
    consumers = parse_consumers(OWNED)
    sql = consumer_views(Registry(catalog="prod"), consumers)["gold.consumer_owner"]
    assert sql.endswith(
        f" WHERE ((home_id = '{HOMES[0]}' AND (current_user() = 'alice@example.com' OR "
        f"is_account_group_member('alice@example.com'))) OR (home_id = '{HOMES[1]}' AND "
        "(current_user() = 'house-2-owners' OR is_account_group_member('house-2-owners'))))")
    statements = grant_statements(Registry(catalog="prod"), consumers)
    create = next(s for s in statements if s.startswith("CREATE OR REPLACE VIEW `prod`.`gold`.`consumer_owner` AS "))
    assert "current_user() = 'alice@example.com'" in create
    assert statements.index(create) < statements.index(
        "GRANT SELECT ON VIEW `prod`.`gold`.`consumer_owner` TO `homeowners`")


def test_an_owner_filtered_view_is_not_created_where_no_principal_exists(tmp_path, caplog, monkeypatch):
    from emission_assets.gold import consumers

    monkeypatch.setattr(consumers, "_warned", set())
    caplog.set_level(logging.INFO)
    assert consumer_views(Registry(lakehouse_root=tmp_path), parse_consumers(OWNED)) == {}
    assert "consumer view gold.consumer_owner not created: its rows are filtered by the reading principal" \
        in caplog.text


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
