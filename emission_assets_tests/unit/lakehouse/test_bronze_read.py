"""The engine's own read of reservoir files for bronze: one row per file, checked against the sidecar."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pyspark.errors import PySparkException

from emission_assets.lakehouse.bronze_ingest import path_key, read_files, with_payload
from emission_assets.lakehouse.reservoir import ReservoirFile


def stored(tmp_path: Path, name: str, data: bytes, sidecar_sha: str | None = None) -> ReservoirFile:
    path = tmp_path / name
    path.write_bytes(data)
    return ReservoirFile(path, name, {"sha256": sidecar_sha or hashlib.sha256(data).hexdigest(), "bytes": len(data)})


def payloads(spark, files: list[ReservoirFile]) -> list[tuple[str, str]]:
    rows = spark.createDataFrame([(f.name, f.meta["sha256"], path_key(f), f.meta["bytes"]) for f in files],
                                 "file_name string, sha256 string, _path string, _bytes bigint")
    return sorted((r.file_name, r.payload) for r in with_payload(rows, read_files(spark, files)).collect())


def test_one_row_per_file_also_for_a_file_the_engine_splits_and_for_an_empty_file(spark, tmp_path):
    big = b'{"series": [' + b",".join(b"[%d, 1.5]" % i for i in range(1_500_000)) + b"]}"  # ~20 MB: split in two
    files = [stored(tmp_path, "big.json", big), stored(tmp_path, "small.json", b'{"series": []}'),
             stored(tmp_path, "empty.json", b"")]

    found = payloads(spark, files)

    assert [name for name, _ in found] == ["big.json", "empty.json", "small.json"]  # the big file once
    assert len(found[0][1]) == len(big) and found[1][1] == ""


def test_a_file_changed_after_its_check_fails_the_batch_naming_it(spark, tmp_path):
    files = [stored(tmp_path, "ok.json", b"{}"), stored(tmp_path, "changed.json", b"{}", sidecar_sha="0" * 64)]

    with pytest.raises(PySparkException, match=r"reservoir file changed\.json changed after its integrity check"):
        payloads(spark, files)
