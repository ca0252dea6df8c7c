"""Hand-downloaded CSV into the reservoir, then bronze (exactly once) and silver (latest download wins)."""
from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta

import pytest
from dagster import DagsterInstance, materialize

from emission_assets.lakehouse.registry import spec
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.orchestration.resources import ReservoirResource, SparkResource
from emission_assets.redispatch import bronze as bronze_redispatch
from emission_assets.redispatch.assets import REDISPATCH_ASSETS
from emission_assets.redispatch.layout import (
    import_redispatch_csv,
    missing_days,
    stored_files,
)
from emission_assets.redispatch.silver import redispatch_from_bronze
from emission_assets.timeutil import UTC, to_epoch_ms
from emission_assets_tests.support.redispatch_fixture import REDISPATCH_CSV as FIXTURE
from emission_assets_tests.support.redispatch_fixture import measures_starting_on

FIRST_MS = to_epoch_ms(datetime(2024, 3, 24, 23, tzinfo=UTC))
LAST_MS = to_epoch_ms(datetime(2024, 4, 3, 1, 30, tzinfo=UTC))


def test_import_stores_raw_bytes_with_sidecar(tmp_path):
    reservoir = Reservoir(tmp_path / "reservoir")
    report = import_redispatch_csv([FIXTURE], reservoir)
    assert report.measures == 239 and report.files == [FIXTURE]
    (file,) = report.written
    assert file.name.startswith(f"redispatch/2024-03-25/{FIRST_MS}_{LAST_MS}__") and file.name.endswith(".json")
    assert file.read_bytes() == FIXTURE.read_bytes()
    meta = json.loads(file.path.with_name(file.path.name.replace(".json", ".meta.json")).read_text())
    assert meta["format"] == "csv" and meta["source"] == "csv-import" and meta["url"] == f"file:{FIXTURE.name}"
    assert (meta["series_start_ms"], meta["series_end_ms"], meta["measures"]) == (FIRST_MS, LAST_MS, 239)
    assert str(tmp_path) not in json.dumps(meta)  # no local paths in the reservoir

    assert [f.name for f in stored_files(reservoir, date(2024, 4, 2), date(2024, 4, 2))] == [file.name]
    assert stored_files(reservoir, date(2024, 4, 4), date(2024, 4, 5)) == []
    files = stored_files(reservoir, date(2024, 3, 24), date(2024, 4, 3))
    assert missing_days(files, date(2024, 3, 24), date(2024, 4, 3), timedelta(0)) == [date(2024, 3, 24),
                                                                                      date(2024, 4, 3)]


def test_a_bad_file_stores_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(FIXTURE.read_bytes().replace(b"TenneT DE;TransnetBW", b"Elia;TransnetBW", 1))
    reservoir = Reservoir(tmp_path / "reservoir")
    with pytest.raises(ValueError, match=r"bad.csv, line 3, column ANWEISENDER_UENB: unknown TSO 'Elia'"):
        import_redispatch_csv([FIXTURE, bad], reservoir)
    assert stored_files(reservoir, date(2024, 3, 25), date(2024, 4, 2)) == []


def test_bronze_once_and_silver_latest_wins(spark, writer, tmp_path):
    reservoir = Reservoir(tmp_path / "reservoir")
    first = import_redispatch_csv([FIXTURE], reservoir).written[0]
    # a later download of the same measures with a corrected energy value for line 163
    corrected = tmp_path / "corrected.csv"
    corrected.write_bytes(FIXTURE.read_bytes().replace(b"20;20;115;TransnetBW", b"20;20;116;TransnetBW"))
    second = import_redispatch_csv([corrected], reservoir).written[0]

    files = stored_files(reservoir, date(2024, 3, 30), date(2024, 3, 31))
    assert bronze_redispatch.ingest(spark, writer, files, "run-1") == 2
    assert bronze_redispatch.ingest(spark, writer, files, "run-2") == 0  # exactly once

    bronze = spark.table(writer.registry.sql_name(bronze_redispatch.TABLE))
    rows = redispatch_from_bronze(spark, bronze, date(2024, 3, 30), date(2024, 3, 31)).collect()
    # measures starting on local 30.03 (lines 143..169) and 31.03 (lines 170..184)
    assert len(rows) == (169 - 143 + 1) + (184 - 170 + 1)
    assert len({(r.measure_start, r.measure_end, r.direction, r.instructing_tso, r.requesting_tso,
                 r.affected_plant) for r in rows}) == len(rows)
    assert {r.source_file for r in rows} == {second.name} != {first.name}
    mannheim = [r for r in rows if r.measure_start == datetime(2024, 3, 30, 19) and r.affected_plant.endswith("9")]
    assert [(r.energy_mwh, r.direction, r.primary_energy, (r.year, r.month, r.day)) for r in mannheim] == [
        (116.0, "ramp_up", "conventional", (2024, 3, 30))]
    # Sail returns naive UTC timestamps: 31.03 rows start at or after 30.03 23:00 UTC
    assert {(r.year, r.month, r.day) for r in rows} == {(2024, 3, 30), (2024, 3, 31)}
    # days without files: an empty frame in the silver schema, which replace_days accepts
    empty = redispatch_from_bronze(spark, bronze, date(2024, 5, 1), date(2024, 5, 2))
    assert empty.collect() == [] and empty.columns == spec("silver.redispatch").column_names
    writer.replace_days("silver.redispatch", empty, date(2024, 5, 1), date(2024, 5, 2))


def test_assets_from_an_import_and_without_anything(spark, tmp_path, monkeypatch):
    monkeypatch.delenv("NETZTRANSPARENZ_CLIENT_ID", raising=False)
    monkeypatch.delenv("NETZTRANSPARENZ_CLIENT_SECRET", raising=False)
    reservoir_root = tmp_path / "reservoir"
    resources = {"spark": SparkResource(), "reservoir": ReservoirResource(root=str(reservoir_root))}

    # Nothing stored and no credentials: redispatch is optional (it only corrects the locality model), so the
    # run succeeds, records that the days are not covered and tells how to get the data.
    with DagsterInstance.ephemeral() as instance:
        empty = materialize(REDISPATCH_ASSETS[:1], partition_key="2024-03-26", resources=resources, instance=instance)
        warnings = [r.user_message for r in instance.all_logs(empty.run_id) if r.level == logging.WARNING]
    assert empty.success
    materialization = empty.asset_materializations_for_node("reservoir__redispatch_responses")[0]
    assert materialization.metadata["days_not_covered"].value == 1
    assert any("NETZTRANSPARENZ_CLIENT_ID" in m and "import redispatch-csv" in m for m in warnings), warnings

    import_redispatch_csv([FIXTURE], Reservoir(reservoir_root))
    result = materialize(REDISPATCH_ASSETS, partition_key="2024-03-26", resources=resources)
    assert result.success
    spark = open_lakehouse().spark
    count = spark.sql("SELECT count(*) FROM silver.redispatch WHERE year = 2024 AND month = 3 AND day = 26").collect()
    assert count[0][0] == measures_starting_on(date(2024, 3, 26)) > 0


def test_reservoir_asset_fetches_missing_days_with_credentials(tmp_path, monkeypatch):
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        server.expect_request("/token", method="POST").respond_with_json({"access_token": "t", "expires_in": 600})
        server.expect_request("/api/v1/data/redispatch/2024-03-25T23:00:00/2024-03-26T23:00:00").respond_with_data(
            FIXTURE.read_bytes(), content_type="text/csv")
        monkeypatch.setenv("NETZTRANSPARENZ_CLIENT_ID", "id")
        monkeypatch.setenv("NETZTRANSPARENZ_CLIENT_SECRET", "secret")
        monkeypatch.setenv("NETZTRANSPARENZ_TOKEN_URL", server.url_for("/token"))
        monkeypatch.setenv("NETZTRANSPARENZ_API_URL", server.url_for("/api/v1"))
        resources = {"reservoir": ReservoirResource(root=str(tmp_path / "reservoir"))}
        result = materialize(REDISPATCH_ASSETS[:1], partition_key="2024-03-26", resources=resources)
        assert result.success
        (file,) = stored_files(Reservoir(tmp_path / "reservoir"), date(2024, 3, 26), date(2024, 3, 26))
        assert file.meta["source"] == "api" and file.meta["url"].endswith("2024-03-26T23:00:00")
        assert file.meta["window_start_ms"] == to_epoch_ms(datetime(2024, 3, 25, 23, tzinfo=UTC))
        assert "secret" not in file.path.with_name(file.path.name.replace(".json", ".meta.json")).read_text()
        # the day is now in the reservoir: a second run fetches nothing
        again = materialize(REDISPATCH_ASSETS[:1], partition_key="2024-03-26", resources=resources)
        assert again.success
        assert len([e for e in server.log if "redispatch" in e[0].path]) == 1
    finally:
        server.clear()
        server.stop()
