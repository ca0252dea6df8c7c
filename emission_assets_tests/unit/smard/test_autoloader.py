"""The Auto Loader mapping (Databricks) yields the same bronze rows as the batch ingest for the same files."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.smard import bronze as bronze_smard
from emission_assets.smard.autoloader import autoload_smard, enabled, smard_rows_from_files
from emission_assets.smard.windows import build_window, store_window
from emission_assets.timeutil import local_midnight, to_epoch_ms

UTC = timezone.utc
KEYS = ("file_name", "sha256", "fetched_at", "filter_id", "region", "resolution", "window_start", "meta_version",
        "meta_created_ms", "series", "parse_error", "raw_payload", "window_date")


def stored_files(tmp_path):
    reservoir = Reservoir(tmp_path / "reservoir")
    start = to_epoch_ms(local_midnight(datetime(2024, 3, 25).date()))
    files = []
    for filter_id, resolution, step in ((1223, "hour", 3_600_000), (4068, "quarterhour", 900_000)):
        points = [(start + i * step, float(i)) for i in range(5)]
        files.append(store_window(
            reservoir, filter_id=filter_id, region="DE", resolution=resolution, window_start_ms=start,
            payload=build_window(points, datetime(2024, 4, 1, tzinfo=UTC)), url="u",
            fetched_at=datetime(2024, 4, 1, 6, 30, 15, 123456, tzinfo=UTC), source="api"))
    return reservoir, files


def test_rows_from_paths_and_contents_match_the_batch_ingest(spark, writer, registry, tmp_path):
    reservoir, files = stored_files(tmp_path)
    assert bronze_smard.ingest(spark, writer, files, "run-1") == 2
    batch = {r.file_name: r.asDict() for r in spark.table("bronze.smard_responses").collect()}
    listing = [(f"dbfs:{f.path}", f.read_bytes().decode()) for f in files]
    sidecars = [(f"dbfs:{f.path.with_suffix('')}.meta.json", "{}") for f in files]  # Auto Loader's filter skips them
    frame = spark.createDataFrame(listing + sidecars, "path string, content string")
    rows = smard_rows_from_files(frame, str(reservoir.root), "run-1").collect()
    assert len(rows) == 2
    by_name = {r.file_name: r.asDict() for r in rows}
    assert set(by_name) == set(batch) == {f.name for f in files}
    for name, got in by_name.items():
        assert len(got["series"]) == 5 and got["parse_error"] is None
        for key in KEYS:
            assert got[key] == batch[name][key], key


def test_auto_loader_only_on_databricks(spark, tmp_path, monkeypatch):
    monkeypatch.setenv("EMISSION_BRONZE_AUTOLOADER", "1")
    assert enabled("databricks") and not enabled("embedded")
    with pytest.raises(RuntimeError, match="needs the Databricks runtime"):
        autoload_smard(spark, None, str(tmp_path), str(tmp_path / "chk"), "run")
