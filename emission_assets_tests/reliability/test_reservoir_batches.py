"""A reservoir fill killed (SIGKILL) at points inside its batches of writes, and a disk filling up in the middle of
one: only whole, intact pairs count, never a sidecar without its payload, and the re-run fetches exactly what is
missing. The child kills itself on entering its N-th ``os.link`` or ``os.fsync``
(:mod:`emission_assets_tests.support.reservoir_child`), so each case lands at a known point without a hook in the
product code.
"""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest

from emission_assets.lakehouse.reservoir import WRITE_BATCH_FILES, NewFile, Reservoir
from emission_assets.lakehouse.reservoir_integrity import Inspector
from emission_assets.settings import paths
from emission_assets.smard.catalog import GENERATION_FILTERS, REGIONS
from emission_assets.smard.client import SmardClient
from emission_assets.smard.integrity import SMARD_RULES
from emission_assets.smard.reservoir import fill
from emission_assets_tests.support.fake_smard import index_of
from emission_assets_tests.support.paths import REPO_ROOT
from emission_assets_tests.support.published_values import MONDAY
from emission_assets_tests.support.tmpfs import tmpfs

WEEKS = 4  # x 5 regions x 12 types: 240 windows, in batches of 128 and 112
FIRST, LAST = MONDAY, MONDAY + timedelta(days=7 * WEEKS - 1)
WINDOWS = WEEKS * len(REGIONS) * len(GENERATION_FILTERS)
B1, B2 = WRITE_BATCH_FILES, WINDOWS - WRITE_BATCH_FILES  # each batch links its payloads, then its sidecars


def stored(store: Reservoir):
    return store.scan_dated("smard", FIRST - timedelta(days=7), LAST)


def window_key(meta: dict) -> tuple:
    return meta["filter_id"], meta["region"], meta["window_start_ms"]


def window_path(key: tuple) -> str:
    filter_id, region, start = key
    return f"/app/chart_data/{filter_id}/{region}/{filter_id}_{region}_quarterhour_{start}.json"


def fill_all(fake, store: Reservoir):
    with SmardClient(fake.base_url) as client:
        return fill(client, store, FIRST, LAST, regions=list(REGIONS), filters=list(GENERATION_FILTERS),
                    resolution="quarterhour")


@pytest.mark.parametrize(
    "call, n, pairs, orphans",
    [
        ("fsync", 40, 0, 0),  # writing the first batch's temporaries: nothing linked
        ("link", 50, 0, 49),  # linking the first batch's payloads
        ("link", B1 + 60, 59, B1 - 59),  # linking its sidecars
        ("link", 2 * B1 + 30, B1, 29),  # the second batch's payloads, the first batch whole
        ("link", 2 * B1 + B2 + 100, B1 + 99, B2 - 99),  # the second batch's sidecars
    ],
    ids=["temporaries", "payload-links", "sidecar-links", "second-batch-payloads", "second-batch-sidecars"],
)
def test_a_fill_killed_inside_a_batch_leaves_whole_pairs_and_the_rerun_fetches_exactly_the_rest(
    fake_smard, call, n, pairs, orphans
):
    for region in REGIONS:
        fake_smard.publish_weeks(MONDAY, WEEKS, region=region)
    every_window = {(f, r, start) for f in GENERATION_FILTERS for r in REGIONS
                    for start in index_of(fake_smard.root, f, r, "quarterhour")}
    assert len(every_window) == WINDOWS
    store = Reservoir(paths().reservoir)
    child = subprocess.run(
        [sys.executable, "-m", "emission_assets_tests.support.reservoir_child", str(FIRST), str(LAST),
         fake_smard.root.as_uri(), call, str(n)],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True, timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-3000:]
    assert list(store.root.rglob(".*.tmp"))  # killed mid-write: its temporaries are left, and never listed

    listed = stored(store)
    assert listed.sidecars_without_payload == [] and listed.malformed == []  # a sidecar only with its payload
    assert (len(listed.files), len(listed.files_without_sidecar)) == (pairs, orphans)
    inspector = Inspector(store, SMARD_RULES, "test")
    files = inspector.listed("smard", FIRST - timedelta(days=7), LAST)
    assert inspector.verified(files) == files and inspector.quarantined == []  # every listed pair is intact
    complete = {window_key(f.meta) for f in files}

    before = len(fake_smard.window_requests())
    report = fill_all(fake_smard, store)
    assert sorted(fake_smard.window_requests()[before:]) == sorted(window_path(k) for k in every_window - complete)
    assert len(report.written) == WINDOWS - pairs

    after = stored(store)
    assert {window_key(f.meta) for f in after.files} == every_window
    assert sorted(after.files_without_sidecar) == sorted(listed.files_without_sidecar)  # kept, reported by name
    assert after.sidecars_without_payload == []
    again = fill_all(fake_smard, store)
    assert again.series_days_fetched == 0 and again.written == []  # idempotent


def test_a_disk_full_in_the_middle_of_a_batch_links_nothing_and_with_room_the_batch_lands(tmp_path):
    with tmpfs(tmp_path / "small", "size=64k") as folder:
        store = Reservoir(folder)
        kept = store.write_many([NewFile("smard/2024-04-01", "kept", b"[1]", {"source": "test"})])
        files = [NewFile("smard/2024-04-01", f"w{i:02d}", bytes([65 + i]) * 8000, {"source": "test"}) for i in range(12)]

        with pytest.raises(OSError, match="No space left on device") as info:
            store.write_many(files)

        assert info.value.errno == errno.ENOSPC
        assert sorted(p.name for p in (folder / "smard" / "2024-04-01").iterdir()) == ["kept.json", "kept.meta.json"]
        assert [f.name for f in store.list("smard/2024-04-01")] == [kept[0].name]

        subprocess.run(["mount", "-o", "remount,size=1m", str(folder)], check=True)  # room again
        store.write_many(files)
        assert len(store.list("smard/2024-04-01")) == 13
        assert all(f.read_bytes() == bytes([65 + i]) * 8000 for i, f in enumerate(store.list("smard/2024-04-01")[1:]))
