"""Crashes and concurrency: a writer process killed (SIGKILL) inside a Delta write, then re-run; two overlapping
backfills at once; a read racing another process's checkpoint. Every writer is a process of its own with its own
embedded engine (``crash_child.py``, the CLI).

The kill lands inside a write without any hook in the product code: an inotify watch (watchdog) on the table
freezes the child (SIGSTOP) the moment it creates a data file; if the Delta log does not reference that file yet,
the write is in progress and the child is killed, otherwise it is let go on to its next write.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from deltalake import DeltaTable
from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer

from emission_assets.lakehouse.registry import spec
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.lakehouse.writer import ConcurrentWriteError, DeltaWriter
from emission_assets.settings import paths
from emission_assets.smard import bronze as bronze_smard
from emission_assets.smard.catalog import GENERATION_FILTERS
from emission_assets.smard.client import SmardClient
from emission_assets.smard.reservoir import fill
from emission_assets.smard.silver import production_from_bronze
from emission_assets_tests.support.crash_child import batch_order
from emission_assets_tests.support.paths import REPO_ROOT
from emission_assets_tests.support.published_values import (
    MONDAY,
    SILVER,
    expected_values,
    silver_values,
)

BRONZE = "bronze.smard_responses"
TYPES = len(GENERATION_FILTERS)


# ------------------------------------------------------------------------------------------------------- helpers
def fill_reservoir(fake, first: date, last: date, refresh: bool = False) -> list:
    """The days' SMARD windows from the fake API into the reservoir, over HTTP like the reservoir asset."""
    report = fill(SmardClient(fake.base_url, backoff_factor=0.01), Reservoir(paths().reservoir), first, last,
                  regions=["DE"], filters=list(GENERATION_FILTERS), resolution="quarterhour", refresh=refresh)
    return report.written


def start_child(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "emission_assets_tests.support.crash_child", *map(str, args)],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def run_child(*args) -> str:
    child = start_child(*args)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, f"crash_child {args} failed:\n{err[-3000:]}"
    return out


def log_entries(table: Path) -> list[dict]:
    """Every action of every commit in the table's Delta log."""
    return [json.loads(line) for commit in sorted((table / "_delta_log").glob("*.json"))
            for line in commit.read_text().splitlines() if line.strip()]


def committed_files(table: Path) -> set[str]:
    """Names of the data files any commit ever added."""
    return {Path(entry["add"]["path"]).name for entry in log_entries(table) if "add" in entry}


def data_files_on_disk(table: Path) -> set[str]:
    """Data files in the table's folders, complete or not (the local object store stages a file as ``name#n``)."""
    return {p.name.split("#")[0] for p in table.rglob("part-*") if "_delta_log" not in p.parts and p.is_file()}


class WriteTrap(FileSystemEventHandler):
    """Freezes ``pid`` when it creates a data file in the watched table (once ``armed()``)."""

    def __init__(self, pid: int, armed=lambda: True):
        self.pid, self.armed = pid, armed
        self.caught: str | None = None
        self.frozen = threading.Event()

    def on_created(self, event) -> None:
        name = Path(event.src_path).name
        if event.is_directory or self.frozen.is_set() or not name.startswith("part-") or "_delta_log" in event.src_path:
            return
        if not self.armed():
            return
        try:
            os.kill(self.pid, signal.SIGSTOP)
        except ProcessLookupError:
            return
        self.caught = name.split("#")[0]
        self.frozen.set()

    def release(self) -> None:
        self.frozen.clear()
        os.kill(self.pid, signal.SIGCONT)


def kill_inside_a_write(child: subprocess.Popen, table: Path, armed=lambda: True, timeout: float = 90) -> str:
    """SIGKILL ``child`` while a write of it to ``table`` has data files out but no commit; the caught file's name."""
    trap = WriteTrap(child.pid, armed)
    observer = Observer()
    observer.schedule(trap, str(table), recursive=True)
    observer.start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            if trap.frozen.wait(0.05):
                if trap.caught not in committed_files(table):
                    child.kill()
                    break
                trap.release()  # that write had committed already: let the child go on to its next one
            if child.poll() is not None or time.monotonic() > deadline:
                out, err = child.communicate(timeout=10)
                pytest.fail(f"no write of the child caught in progress (exit {child.returncode}):\n{out}\n{err[-3000:]}")
    finally:
        observer.stop()
        observer.join()
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return trap.caught


def assert_readable_at_protocol_1_2(table: Path, name: str) -> int:
    """delta-rs and the engine read the table, the protocol is still reader 1 / writer 2; returns the row count."""
    delta = DeltaTable(str(table))
    protocol = delta.protocol()
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2)
    rows = len(delta.to_pandas(columns=["year"] if name == SILVER else ["file_name"]))
    assert open_lakehouse().spark.sql(f"SELECT count(*) FROM {name}").collect()[0][0] == rows
    return rows


# ------------------------------------------------------------------------------------------------------ the tests
def test_bronze_ingest_killed_inside_a_merge_then_rerun_holds_every_file_once(spark, fake_smard):
    weeks = 6
    first, last = MONDAY, MONDAY + timedelta(days=7 * weeks - 1)
    fake_smard.publish_weeks(first, weeks)
    stored = sorted(fill_reservoir(fake_smard, first, last), key=batch_order)
    assert len(stored) == weeks * TYPES
    table = Path(open_lakehouse().registry.path(BRONZE))  # created (version 0) by the registration

    # One MERGE per type over its six weekly windows; killed inside one after the first has committed.
    child = start_child("bronze", first, last, weeks)
    caught = kill_inside_a_write(child, table, armed=lambda: len(list((table / "_delta_log").glob("*.json"))) >= 2)

    orphans = data_files_on_disk(table) - committed_files(table)
    assert caught in orphans  # the killed MERGE had written data that no commit references
    merges = [h for h in DeltaTable(str(table)).history() if h["operation"] == "MERGE"]
    assert 1 <= len(merges) < TYPES
    rows = assert_readable_at_protocol_1_2(table, BRONZE)
    names = DeltaTable(str(table)).to_pandas(columns=["file_name"]).file_name
    # exactly the committed batches, each file once; nothing of the killed one
    assert sorted(names) == sorted(f.name for f in stored[: weeks * len(merges)]) and rows == len(names)

    run_child("bronze", first, last, 100)  # a fresh process ingests the rest in one MERGE

    bronze = DeltaTable(str(table)).to_pandas(columns=["file_name", "ingest_run_id"])
    assert sorted(bronze.file_name) == sorted(f.name for f in stored)  # every reservoir file exactly once
    assert assert_readable_at_protocol_1_2(table, BRONZE) == len(stored)
    # the batches committed before the kill were not ingested again
    runs = dict(zip(bronze.file_name, bronze.ingest_run_id))
    assert all(runs[f.name] == f"crash-child-{i // weeks}" for i, f in enumerate(stored[: weeks * len(merges)]))
    assert caught in data_files_on_disk(table) - committed_files(table)  # the orphan is still there, and unread

    run_child("silver", first, last)
    assert silver_values(first, last) == Counter({(f, t, v): 1 for (f, t), v in expected_values(first, last).items()})
    assert assert_readable_at_protocol_1_2(Path(open_lakehouse().registry.path(SILVER)), SILVER) == 42 * 96 * TYPES


def test_silver_replace_killed_inside_the_write_keeps_every_day_whole(spark, fake_smard):
    first, last = MONDAY, MONDAY + timedelta(days=20)
    revised_first, revised_last = MONDAY + timedelta(days=7), MONDAY + timedelta(days=13)
    fake_smard.publish_weeks(first, 3)
    lakehouse = open_lakehouse()
    bronze_smard.ingest(lakehouse.spark, lakehouse.writer, fill_reservoir(fake_smard, first, last), "setup")
    bronze = lakehouse.table(BRONZE)
    lakehouse.writer.replace_days(SILVER, production_from_bronze(bronze, first, last), first, last)
    original = expected_values(first, last)
    assert silver_values(first, last) == Counter({(f, t, v): 1 for (f, t), v in original.items()})
    # SMARD revises the middle week; the new versions reach bronze, silver still holds the old values
    fake_smard.publish_weeks(revised_first, 1, version=1)
    revised = fill_reservoir(fake_smard, revised_first, revised_last, refresh=True)
    bronze_smard.ingest(lakehouse.spark, lakehouse.writer, revised, "revision")
    table = Path(lakehouse.registry.path(SILVER))
    version = DeltaTable(str(table)).version()

    caught = kill_inside_a_write(start_child("silver", revised_first, revised_last, 5), table)

    assert caught in data_files_on_disk(table) - committed_files(table)
    assert assert_readable_at_protocol_1_2(table, SILVER) == 21 * 96 * TYPES  # the orphans are not read
    held = silver_values(first, last)
    assert set(held.values()) == {1}  # no duplicates
    new = expected_values(revised_first, revised_last, version=1)
    outcome = {(f, t): v for f, t, v in held}
    assert len(outcome) == len(original)  # no lost rows
    # Every other day intact; the replaced week wholly old, or wholly new if an earlier write of the child committed.
    assert {k: v for k, v in outcome.items() if k not in new} == {k: v for k, v in original.items() if k not in new}
    child_committed = DeltaTable(str(table)).version() > version
    assert {k: outcome[k] for k in new} == (new if child_committed else {k: original[k] for k in new})

    run_child("silver", revised_first, revised_last)  # the re-run, in a fresh process

    assert silver_values(first, last) == Counter({(f, t, v): 1 for (f, t), v in {**original, **new}.items()})
    assert caught in data_files_on_disk(table) - committed_files(table)
    assert assert_readable_at_protocol_1_2(table, SILVER) == 21 * 96 * TYPES


def test_two_overlapping_backfills_at_once_leave_every_interval_once(spark, fake_smard, monkeypatch):
    """Days 1-5 and 3-8 through reservoir, bronze and silver at the same time, each by the CLI in its own process,
    on a fresh home (both create the Dagster instance and the tables)."""
    from dagster import DagsterInstance, DagsterRunStatus

    fake_smard.publish_weeks(MONDAY, 2)
    ranges = [(MONDAY, MONDAY + timedelta(days=4)), (MONDAY + timedelta(days=2), MONDAY + timedelta(days=7))]

    def materialize(first: date, last: date) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "emission_assets.cli", "materialize", "--start", str(first), "--end", str(last),
             "--select", "tag:source=smard"],
            cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    runs = [materialize(*r) for r in ranges]
    outcomes = [(run.communicate(timeout=180), run.returncode) for run in runs]
    for ((out, err), code), (first, last) in zip(outcomes, ranges):
        assert "Traceback" not in err, err[-3000:]
        if code != 0:  # allowed: a clear one-line conflict message, and a re-run finishes the range
            assert code == 1 and "failed:" in err and "concurrent" in err, err[-3000:]
            again = materialize(first, last)
            out, err = again.communicate(timeout=180)
            assert again.returncode == 0, err[-3000:]
        assert f"materialised {first}..{last}" in out

    first, last = ranges[0][0], ranges[1][1]
    assert silver_values(first, last) == Counter({(f, t, v): 1 for (f, t), v in expected_values(first, last).items()})
    reservoir = sorted(p.name.removesuffix(".meta.json") + ".json" for p in paths().reservoir.rglob("*.meta.json"))
    bronze = DeltaTable(open_lakehouse().registry.path(BRONZE)).to_pandas(columns=["file_name"])
    assert sorted(Path(n).name for n in bronze.file_name) == reservoir  # every stored window exactly once
    for name in (BRONZE, SILVER):
        assert_readable_at_protocol_1_2(Path(open_lakehouse().registry.path(name)), name)
    monkeypatch.setenv("DAGSTER_HOME", str(paths().dagster_home))  # the instance's dagster.yaml reads it
    with DagsterInstance.from_config(str(paths().dagster_home)) as instance:
        final = {}
        for run in sorted(instance.get_runs(), key=lambda r: instance.get_run_record_by_id(r.run_id).create_timestamp):
            final[run.tags.get("dagster/asset_partition_range_start")] = run.status
    assert set(final.values()) == {DagsterRunStatus.SUCCESS}


def test_a_read_racing_another_writers_checkpoint_is_retried_and_a_lasting_one_named(
        spark, writer, registry, caplog, monkeypatch):
    """Sail resolves a table's version, then lists its log from the checkpoint that ``_last_checkpoint`` names. When
    another process commits and checkpoints in between, the checkpoint is newer than the version being read and the
    listing misses the older commits: "Missing commit file". Here ``_last_checkpoint`` is set ahead by hand (the
    state that reader sees); the other process's "next version" appears 0.5 s later."""
    monkeypatch.setattr(DeltaWriter.collect.retry, "sleep", lambda seconds: time.sleep(min(seconds, 0.3)))
    for day in range(1, 5):  # a few commits, as a backfill leaves them
        start = datetime(2024, 4, day, tzinfo=timezone.utc)
        row = (start, start + timedelta(hours=1), "DE", "lignite", 1223, "hour", 1.0, 1.0, "f.json", start, 2024, 4, day)
        writer.append(SILVER, spark.createDataFrame([row], spec(SILVER).ddl))
    log = Path(registry.path(SILVER)) / "_delta_log"
    count = spark.sql(f"SELECT count(*) FROM {SILVER}")
    assert writer.collect(SILVER, count)[0][0] == 4

    (log / "_last_checkpoint").write_text(json.dumps({"version": 10, "size": 4}))
    with pytest.raises(Exception, match="Missing commit file"):
        count.collect()  # the engine's own error, on every read of the table
    settled = threading.Timer(0.5, (log / "_last_checkpoint").unlink)
    settled.start()
    caplog.set_level(logging.WARNING, logger="emission_assets.lakehouse.writer")
    assert writer.collect(SILVER, count)[0][0] == 4  # retried until the log is consistent again
    settled.join()
    assert any("Missing commit file" in r.getMessage() for r in caplog.records)  # each retry is logged

    (log / "_last_checkpoint").write_text(json.dumps({"version": 10, "size": 4}))
    with pytest.raises(ConcurrentWriteError, match="failed 6 times") as caught:
        writer.collect(SILVER, count)
    message = str(caught.value)
    assert message.startswith(f"collect on {SILVER} failed 6 times") and "Missing commit file" in message
    assert "Re-run" in message and "_delta_log" in message
