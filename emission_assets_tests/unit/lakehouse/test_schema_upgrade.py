"""A lakehouse whose bronze holds the raw ``payload`` text (the layout before bronze was typed) is converted once,
automatically, when a session registers it; a table of an unknown layout is a one-line error naming it."""
from __future__ import annotations

import json
import logging
import shutil
from datetime import date, datetime, timezone

import pytest
from deltalake import DeltaTable

from emission_assets.lakehouse.bronze_ingest import known_names
from emission_assets.lakehouse.registry import Registry, spec
from emission_assets.lakehouse.schema_upgrade import TableLayoutError, check_layout
from emission_assets.smard import bronze as bronze_smard
from emission_assets.smard.silver import production_from_bronze, unparsed_payloads
from emission_assets.tibber import bronze as bronze_tibber
from emission_assets.tibber.silver import consumption_from_bronze

UTC = timezone.utc
WINDOW = datetime(2024, 3, 24, 23, tzinfo=UTC)  # Monday 2024-03-25 00:00 CET
START_MS = int(WINDOW.timestamp() * 1000)


def smard_file(name: str, text: str) -> tuple:
    return (name, "sha-" + name, "api", "https://smard.test", datetime(2024, 4, 1, tzinfo=UTC),
            datetime(2024, 4, 2, tzinfo=UTC), "old-run", 1223, "DE", "hour", WINDOW, text, date(2024, 3, 25))


def tibber_file(name: str, text: str) -> tuple:
    return (name, "sha-" + name, "api", None, datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 4, 2, tzinfo=UTC),
            "old-run", "hourly", "home-1", None, None, text, date(2024, 3, 25))


def write_old_layout(spark, registry: Registry, module, rows: list[tuple]) -> str:
    """Replace the (empty) table by one of the payload-only layout holding ``rows``."""
    path = registry.path(module.TABLE)
    shutil.rmtree(path)
    partition = spec(module.TABLE).partition_by
    spark.createDataFrame(rows, module.FILE_ROW_SCHEMA).write.format("delta").partitionBy(*partition).save(path)
    assert "payload" in DeltaTable(path).schema().to_arrow().names
    return path


def test_a_payload_only_smard_bronze_is_converted_once_and_keeps_every_file(spark, registry, writer, caplog):
    good = json.dumps({"meta_data": {"version": 1, "created": 7},
                       "series": [[START_MS, 5.0], [START_MS + 3_600_000, None], [START_MS + 7_200_000, 2.5]]})
    path = write_old_layout(spark, registry, bronze_smard, [smard_file("good.json", good),
                                                          smard_file("html.json", "<html>maintenance</html>")])

    with caplog.at_level(logging.WARNING, logger="emission_assets.lakehouse.schema_upgrade"):
        assert registry.register(spark, force=True, check_layout=check_layout)

    assert any("converting bronze.smard_responses" in r.getMessage() for r in caplog.records)
    table = spark.table("bronze.smard_responses")
    assert set(table.columns) == set(spec("bronze.smard_responses").column_names)
    rows = {r.file_name: r for r in table.collect()}
    assert set(rows) == {"good.json", "html.json"}
    assert rows["good.json"].series == [(START_MS, 5.0), (START_MS + 3_600_000, None), (START_MS + 7_200_000, 2.5)]
    assert (rows["good.json"].meta_created_ms, rows["good.json"].raw_payload, rows["good.json"].parse_error) == (7, None, None)
    assert rows["html.json"].series is None and rows["html.json"].raw_payload == "<html>maintenance</html>"
    assert all(r.ingest_run_id == "old-run" and r.sha256 == "sha-" + name for name, r in rows.items())
    # silver reads the converted rows; the file that never parsed is still named
    produced = production_from_bronze(table, date(2024, 3, 25), date(2024, 3, 25)).collect()
    assert sorted(r.energy_mwh for r in produced) == [2.5, 5.0]
    assert [r.file_name for r in unparsed_payloads(table).collect()] == ["html.json"]
    # exactly once carries over: the names bronze holds are the old ones
    assert known_names(spark, writer, "bronze.smard_responses", "window_date", {date(2024, 3, 25)}) == set(rows)

    version = DeltaTable(path).version()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="emission_assets.lakehouse.schema_upgrade"):
        assert registry.register(spark, force=True, check_layout=check_layout)  # a later session: nothing to convert
    assert DeltaTable(path).version() == version and not caplog.records


def test_a_payload_only_tibber_bronze_is_converted(spark, registry):
    node = {"from": "2024-03-25T00:00:00.000+01:00", "to": "2024-03-25T01:00:00.000+01:00", "consumption": 0.75,
            "consumptionUnit": "kWh", "cost": 0.25, "unitPrice": 0.33, "currency": "EUR"}
    page = json.dumps({"data": {"viewer": {"home": {"consumption": {"pageInfo": {}, "nodes": [node]}}}}})
    write_old_layout(spark, registry, bronze_tibber, [tibber_file("page.json", page), tibber_file("busy.json", "busy")])

    assert registry.register(spark, force=True, check_layout=check_layout)

    table = spark.table("bronze.tibber_responses")
    rows = {r.file_name: r for r in table.collect()}
    assert rows["page.json"].hourly_nodes[0].energy_kwh == 0.75 and rows["page.json"].parse_error is None
    assert rows["busy.json"].raw_payload == "busy" and "consumption.nodes" in rows["busy.json"].parse_error
    consumption = consumption_from_bronze(table, date(2024, 3, 25), date(2024, 3, 25)).collect()
    assert [float(r.energy_kwh) for r in consumption] == [0.75]


def test_a_table_of_an_unknown_layout_is_a_one_line_error_naming_it(spark, registry):
    path = registry.path("bronze.smard_responses")
    shutil.rmtree(path)
    spark.createDataFrame([("a", 1)], "file_name string, window_date int").write.format("delta").save(path)

    with pytest.raises(TableLayoutError, match=r"table bronze.smard_responses at .*smard_responses has columns this "
                                               r"version does not know .*missing: .*series.* move the folder away"):
        registry.register(spark, force=True, check_layout=check_layout)


def test_opening_a_home_converts_its_old_bronze(spark):
    """The production path: ``open_lakehouse`` (every step, every command) passes the layout check to the
    registration, so a home of the earlier layout is converted when it is first opened."""
    from emission_assets.lakehouse.session import open_lakehouse
    from emission_assets.settings import paths

    home_registry = Registry(lakehouse_root=paths().lakehouse)
    home_registry.register(spark, force=True)  # the tables, empty, without a check
    good = json.dumps({"meta_data": {"version": 1, "created": 7}, "series": [[START_MS, 5.0]]})
    write_old_layout(spark, home_registry, bronze_smard, [smard_file("good.json", good)])
    Registry(lakehouse_root=paths().home / "elsewhere").register(spark)  # the session points at another lakehouse

    table = open_lakehouse().spark.table("bronze.smard_responses")

    assert "payload" not in table.columns
    assert [r.series for r in table.collect()] == [[(START_MS, 5.0)]]
