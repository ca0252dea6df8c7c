"""``query`` runs only read-only statements: the parser's verdicts, and the CLI against a lakehouse with rows."""
from __future__ import annotations

import re

import pytest

from emission_assets.lakehouse.read_only_sql import NotReadOnly, check_read_only
from emission_assets_tests.support.cli import run

REFUSAL = "query accepts only a single SELECT, WITH ... SELECT, SHOW, DESCRIBE or EXPLAIN of a query: "

ACCEPTED = [
    "SELECT 1",
    "select count(*) from silver.production;",
    "WITH p AS (SELECT * FROM silver.production) SELECT count(*) FROM p",
    "(SELECT 1) UNION ALL (SELECT 2)",
    "SHOW TABLES",
    "SHOW TABLES IN silver",
    "DESCRIBE TABLE silver.production",
    "DESCRIBE QUERY SELECT 1 AS a",
    "EXPLAIN SELECT count(*) FROM silver.production",
    "EXPLAIN FORMATTED WITH p AS (SELECT 1 AS a) SELECT a FROM p",
]

REFUSED = [
    ("DELETE FROM silver.production WHERE production_type = 'lignite'", "DELETE statement"),
    ("INSERT INTO silver.production SELECT * FROM silver.production", "INSERT statement"),
    ("INSERT OVERWRITE TABLE silver.production SELECT * FROM silver.production", "INSERT statement"),
    ("DROP TABLE silver.production", "DROP TABLE statement"),
    ("UPDATE silver.production SET energy_mwh = 0", "UPDATE statement"),
    ("MERGE INTO silver.production t USING silver.production s ON t.region = s.region WHEN MATCHED THEN DELETE",
     "MERGE statement"),
    ("CREATE TABLE t AS SELECT 1", "CREATE TABLE statement"),
    ("TRUNCATE TABLE silver.production", "TRUNCATE TABLE statement"),
    ("ALTER TABLE silver.production ADD COLUMNS (x INT)", "ALTER statement"),
    ("CACHE TABLE silver.production", "CACHE TABLE statement"),
    ("SET spark.sql.ansi.enabled = false", "SET statement"),
    ("VACUUM silver.production", "VACUUM statement"),
    ("SELECT 1; DROP TABLE silver.production", "2 statements (SELECT, DROP TABLE)"),
    ("WITH p AS (SELECT * FROM silver.production) INSERT INTO silver.production SELECT * FROM p",
     "INSERT (wrapped in WITH) statement"),
    ("EXPLAIN DELETE FROM silver.production", "EXPLAIN of DELETE"),
    ("DESCRIBE QUERY DELETE FROM silver.production", "DESCRIBE QUERY of DELETE"),
    ("SELEC * FORM silver.production", "SQL that does not parse"),
    ("  ;  ", "no statement"),
]


@pytest.mark.parametrize("sql", ACCEPTED)
def test_read_only_statements_are_accepted(sql):
    check_read_only(sql)  # raises on refusal


@pytest.mark.parametrize(("sql", "seen"), REFUSED)
def test_statements_that_change_something_are_refused_naming_what_was_seen(sql, seen):
    with pytest.raises(NotReadOnly, match="^" + re.escape(REFUSAL + seen)):
        check_read_only(sql)


# --- through the CLI, on a lakehouse with rows -------------------------------------------------------------------

PRODUCTION_ROWS = """
    SELECT CAST(t AS TIMESTAMP) AS interval_start, CAST(t AS TIMESTAMP) + INTERVAL 1 HOUR AS interval_end,
           'DE' AS region, production_type, 1223 AS filter_id, 'hour' AS resolution,
           CAST(energy AS DOUBLE) AS energy_mwh, CAST(energy AS DOUBLE) AS power_mw, 'seed.json' AS source_file,
           CAST('2022-01-02 00:00:00' AS TIMESTAMP) AS fetched_at, 2022 AS year, 1 AS month, 1 AS day
    FROM VALUES ('2022-01-01 00:00:00', 'lignite', 9000), ('2022-01-01 00:00:00', 'wind_onshore', 12000),
                ('2022-01-01 01:00:00', 'lignite', 8900), ('2022-01-01 01:00:00', 'wind_onshore', 12500)
         AS v(t, production_type, energy)
"""


def production_count() -> int:
    result = run("query", "SELECT count(*) AS n FROM silver.production")
    assert result.exit_code == 0, result.output
    return int(result.stdout.splitlines()[1])


@pytest.fixture
def production(spark):
    from emission_assets.lakehouse.session import open_lakehouse

    lakehouse = open_lakehouse()
    lakehouse.writer.append("silver.production", lakehouse.spark.sql(PRODUCTION_ROWS))
    assert production_count() == 4


@pytest.mark.parametrize(("sql", "seen"), [
    ("DELETE FROM silver.production WHERE production_type = 'lignite'", "DELETE statement"),
    ("INSERT INTO silver.production SELECT * FROM silver.production", "INSERT statement"),
    ("DROP TABLE silver.production", "DROP TABLE statement"),
    ("WITH p AS (SELECT * FROM silver.production) INSERT INTO silver.production SELECT * FROM p",
     "INSERT (wrapped in WITH)"),
    ("SELECT 1; DELETE FROM silver.production", "2 statements (SELECT, DELETE)"),
])
def test_query_refuses_a_writing_statement_and_nothing_changes(production, sql, seen):
    result = run("query", sql)

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {REFUSAL}{seen}"), result.stderr
    assert production_count() == 4  # the table is still there, with every row once


def test_query_runs_selects_with_show_describe_and_explain(production):
    assert run("query", "SELECT production_type, sum(energy_mwh) AS mwh FROM silver.production "
                        "GROUP BY production_type ORDER BY production_type").stdout == (
        "production_type,mwh\nlignite,17900.0\nwind_onshore,24500.0\n")
    with_result = run("query", "WITH p AS (SELECT * FROM silver.production WHERE production_type = 'lignite') "
                               "SELECT count(*) AS n FROM p")
    assert (with_result.exit_code, with_result.stdout) == (0, "n\n2\n")

    show = run("query", "SHOW TABLES IN silver")
    assert show.exit_code == 0, show.output
    assert "silver,production,False" in show.stdout.splitlines()

    describe = run("query", "DESCRIBE TABLE silver.production")
    assert describe.exit_code == 0, describe.output
    assert [line.split(",")[0] for line in describe.stdout.splitlines()[1:4]] == [
        "interval_start", "interval_end", "region"]

    explain = run("query", "EXPLAIN SELECT count(*) FROM silver.production")
    assert explain.exit_code == 0, explain.output
    assert explain.stdout.startswith("plan\n") and "Physical Plan" in explain.stdout
    assert production_count() == 4
