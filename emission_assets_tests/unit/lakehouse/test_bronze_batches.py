"""Bronze ingests a step's files in bounded batches (payload size: a Spark Connect plan over 128 MiB is refused;
file count: the engine's memory when it reads the files), each file still exactly once."""
from datetime import timedelta

from deltalake import DeltaTable

from emission_assets.lakehouse import bronze_ingest
from emission_assets.lakehouse.bronze_ingest import payload_batches
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.settings import paths
from emission_assets.smard import bronze as bronze_smard
from emission_assets.smard.catalog import GENERATION_FILTERS
from emission_assets.smard.client import SmardClient
from emission_assets.smard.reservoir import fill
from emission_assets_tests.support.published_values import MONDAY

BRONZE = "bronze.smard_responses"


class File:
    def __init__(self, name, size):
        self.name, self.meta = name, {"bytes": size}


def test_batches_keep_the_order_stay_under_the_limit_and_a_large_file_goes_alone():
    files = [File(n, s) for n, s in (("a", 40), ("b", 50), ("c", 10), ("d", 150), ("e", 1))]
    batches = payload_batches(files, limit=100)
    assert [[f.name for f in b] for b in batches] == [["a", "b", "c"], ["d"], ["e"]]
    assert payload_batches([], limit=100) == []


def test_a_step_over_the_limit_is_several_engine_reads_and_every_file_lands_once(spark, fake_smard, monkeypatch):
    first, last = MONDAY, MONDAY + timedelta(days=13)
    fake_smard.publish_weeks(first, 2)
    files = fill(SmardClient(fake_smard.base_url, backoff_factor=0.01), Reservoir(paths().reservoir), first, last,
                 regions=["DE"], filters=list(GENERATION_FILTERS), resolution="quarterhour").written
    sizes = [int(f.meta["bytes"]) for f in files]
    limit = 3 * max(sizes)  # a few files per read
    monkeypatch.setattr(bronze_ingest, "BATCH_PAYLOAD_BYTES", limit)
    expected_batches = len(payload_batches(files, limit))
    assert expected_batches >= 3
    reads = []
    read_files = bronze_ingest.read_files
    monkeypatch.setattr(bronze_ingest, "read_files", lambda spark, batch: reads.append(len(batch)) or read_files(spark, batch))
    lakehouse = open_lakehouse()
    assert bronze_smard.ingest(lakehouse.spark, lakehouse.writer, files, "run-1") == len(files)
    assert len(reads) == expected_batches and sum(reads) == len(files)
    table = DeltaTable(lakehouse.registry.path(BRONZE))
    merges = [entry for entry in table.history() if entry.get("operation") == "MERGE"]
    assert len(merges) == 1  # the typed batches are staged and MERGEd once (MERGE_BATCH_FILES)
    rows = table.to_pandas(columns=["file_name"])
    assert sorted(rows.file_name) == sorted(f.name for f in files)
    # a re-run adds nothing: the MERGE finds every file
    assert bronze_smard.ingest(lakehouse.spark, lakehouse.writer, files, "run-2") == 0
    assert len(DeltaTable(lakehouse.registry.path(BRONZE)).to_pandas(columns=["file_name"])) == len(files)


def test_batches_also_stop_at_a_file_count():
    files = [File(n, 1) for n in "abcde"]
    assert [[f.name for f in b] for b in payload_batches(files, limit=100, max_files=2)] == [["a", "b"], ["c", "d"],
                                                                                           ["e"]]


def test_the_engine_reads_a_step_in_batches_of_files_merged_in_groups_every_file_once(spark, fake_smard, monkeypatch):
    """The engine's own read of the reservoir files is bounded by a file count (its memory); the typed batches of a
    group of files are staged and MERGEd once."""
    fake_smard.publish_weeks(MONDAY, 1)
    files = fill(SmardClient(fake_smard.base_url, backoff_factor=0.01), Reservoir(paths().reservoir), MONDAY,
                 MONDAY + timedelta(days=6), regions=["DE"], filters=list(GENERATION_FILTERS),
                 resolution="quarterhour").written
    monkeypatch.setattr(bronze_ingest, "READ_BATCH_FILES", 4)
    monkeypatch.setattr(bronze_ingest, "MERGE_BATCH_FILES", 8)
    lakehouse = open_lakehouse()
    assert bronze_smard.ingest(lakehouse.spark, lakehouse.writer, files, "run-1") == len(files) > 8
    table = DeltaTable(lakehouse.registry.path(BRONZE))
    merges = [entry for entry in table.history() if entry.get("operation") == "MERGE"]
    assert len(merges) == -(-len(files) // 8)
    assert not list((lakehouse.registry.lakehouse_root / "_scratch").glob("bronze.smard_responses-*"))  # removed
    rows = lakehouse.spark.table(BRONZE).select("file_name", "series", "parse_error").collect()
    assert sorted(r.file_name for r in rows) == sorted(f.name for f in files)
    assert all(r.parse_error is None and len(r.series) == 7 * 96 for r in rows)
    assert bronze_smard.ingest(lakehouse.spark, lakehouse.writer, files, "run-2") == 0  # a re-run adds nothing
