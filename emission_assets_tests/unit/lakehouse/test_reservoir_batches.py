"""Batched reservoir writes (``write_many``, ``BatchWriter``) keep every guarantee of a single write: whole pairs,
no overwrites, no temporary left, and a failure in the middle of a batch leaves only complete pairs or payloads
without sidecar (which listings report and never ingest), never a sidecar without its payload. Real files; only the
operating system's fsync is made to fail where a disk error is needed."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import stat

import pytest

from emission_assets.lakehouse.reservoir import BatchWriter, NewFile, Reservoir


@pytest.fixture
def reservoir(tmp_path):
    return Reservoir(tmp_path / "reservoir")


def new_files(count: int, folder: str = "smard/2024-04-01", prefix: str = "w", private: bool = False) -> list[NewFile]:
    return [NewFile(folder if i % 2 else f"{folder}-b", f"{prefix}{i:03d}", f'{{"series": [[{i}, 1.5]]}}'.encode(),
                    {"source": "test", "url": f"http://x/{i}"}, private) for i in range(count)]


def on_disk(reservoir: Reservoir) -> list[str]:
    return sorted(p.relative_to(reservoir.root).as_posix() for p in reservoir.root.rglob("*") if p.is_file())


def listing(reservoir: Reservoir):
    listed = reservoir.scan("smard/2024-04-01")
    listed.extend(reservoir.scan("smard/2024-04-01-b"))
    return listed


def test_write_many_stores_every_file_as_write_does_and_leaves_no_temporary(reservoir):
    files = new_files(40)

    written = reservoir.write_many(files)

    assert [w.name for w in written] == [f"{f.relative_dir}/{f.stem}.json" for f in files]
    for file, stored in zip(files, written):
        assert stored.path.read_bytes() == file.payload
        sidecar = json.loads(stored.path.with_name(f"{file.stem}.meta.json").read_bytes())
        assert sidecar == stored.meta == {**file.meta, "name": stored.name, "bytes": len(file.payload),
                                          "sha256": hashlib.sha256(file.payload).hexdigest()}
        assert stat.S_IMODE(stored.path.stat().st_mode) == 0o644
    assert len(on_disk(reservoir)) == 80  # 40 pairs, not a temporary among them
    listed = listing(reservoir)
    assert sorted(f.name for f in listed.files) == sorted(w.name for w in written)
    assert (listed.files_without_sidecar, listed.sidecars_without_payload, listed.malformed) == ([], [], [])


def test_private_files_of_a_batch_are_owner_only(reservoir):
    written = reservoir.write_many(new_files(4, folder="tibber/hourly/2024-04-01", private=True))

    for stored in written:
        assert stat.S_IMODE(stored.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(stored.path.with_name(stored.path.name[:-5] + ".meta.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((reservoir.root / "tibber" / "hourly" / "2024-04-01").stat().st_mode) == 0o700


def test_a_name_stored_already_refuses_the_whole_batch_before_anything_is_written(reservoir):
    first = reservoir.write_many(new_files(1))[0]
    before = on_disk(reservoir)

    with pytest.raises(FileExistsError, match=r"reservoir file .*w000\.json exists already; versions are never overwritten"):
        reservoir.write_many(new_files(6))

    assert on_disk(reservoir) == before
    assert first.path.read_bytes() == new_files(1)[0].payload


def test_a_name_twice_in_one_batch_is_refused_and_nothing_written(reservoir):
    files = new_files(3)

    with pytest.raises(ValueError, match=r"reservoir file .*w001\.json is twice in one batch"):
        reservoir.write_many([*files, files[1]])

    assert on_disk(reservoir) == []


def test_a_payload_left_by_a_crash_in_the_middle_of_a_batch_spares_the_others_and_is_not_replaced(reservoir):
    files = new_files(9)
    orphan = reservoir.root / files[4].relative_dir / f"{files[4].stem}.json"  # a payload whose sidecar never came
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"half of an earlier run")

    with pytest.raises(FileExistsError, match=r"w004\.json exists already; versions are never overwritten"):
        reservoir.write_many(files)

    assert orphan.read_bytes() == b"half of an earlier run"
    assert not orphan.with_name("w004.meta.json").exists()  # no sidecar for bytes it does not describe
    listed = listing(reservoir)
    assert sorted(f.name for f in listed.files) == sorted(f"{f.relative_dir}/{f.stem}.json" for f in files if f.stem != "w004")
    assert listed.files_without_sidecar == [orphan.relative_to(reservoir.root).as_posix()]
    assert listed.sidecars_without_payload == []
    assert not [p for p in reservoir.root.rglob("*.tmp")]


def test_a_disk_error_before_the_links_leaves_nothing_and_the_rerun_stores_the_batch(reservoir, monkeypatch):
    kept = reservoir.write_many(new_files(2, prefix="kept"))
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) >= 7:  # the disk fails from the seventh fsync on
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    files = new_files(10)
    with pytest.raises(OSError, match="Input/output error"):
        reservoir.write_many(files)

    assert on_disk(reservoir) == sorted(n for k in kept for n in (k.name, k.name[:-5] + ".meta.json"))
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert len(reservoir.write_many(files)) == 10  # the same names: nothing of the failed batch was linked
    assert len(listing(reservoir).files) == 12


def test_a_disk_error_after_the_payloads_leaves_payloads_without_sidecar_never_a_sidecar_alone(reservoir, monkeypatch):
    real_fsync = os.fsync

    def folders_fail(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", folders_fail)
    files = new_files(10)
    with pytest.raises(OSError, match="Input/output error"):
        reservoir.write_many(files)

    listed = listing(reservoir)
    assert listed.files == [] and listed.sidecars_without_payload == []
    assert sorted(listed.files_without_sidecar) == sorted(f"{f.relative_dir}/{f.stem}.json" for f in files)
    assert not [p for p in reservoir.root.rglob("*.tmp")]

    monkeypatch.setattr(os, "fsync", real_fsync)  # a re-run fetches again: new versions, new names
    reservoir.write_many(new_files(10, prefix="again"))
    assert len(listing(reservoir).files) == 10


def test_batch_writer_writes_size_files_at_a_time_and_the_rest_when_the_block_raises(reservoir):
    files = new_files(7)
    seen = []

    with pytest.raises(RuntimeError, match="request failed"):
        with BatchWriter(reservoir, size=3) as batch:
            for file in files:
                batch.add(file)
                seen.append(len(listing(reservoir).files))
            raise RuntimeError("request failed")

    assert seen == [0, 0, 3, 3, 3, 6, 6]  # stored when a batch is full, not file by file
    assert [w.name for w in batch.written] == [f"{f.relative_dir}/{f.stem}.json" for f in files]
    assert len(listing(reservoir).files) == 7  # what was fetched before the failure is kept


def test_single_writes_from_several_threads_at_once_all_land(reservoir):
    from concurrent.futures import ThreadPoolExecutor

    files = new_files(24)
    with ThreadPoolExecutor(6) as pool:
        written = list(pool.map(lambda f: reservoir.write(f.relative_dir, f.stem, f.payload, f.meta), files))

    assert sorted(w.name for w in written) == sorted(f.name for f in listing(reservoir).files)
    assert len(written) == 24


def _write_in_child(root: str) -> None:
    Reservoir(root).write_many(new_files(6, prefix="child"))


def test_a_forked_process_writes_batches_with_threads_of_its_own(reservoir):
    import multiprocessing

    reservoir.write_many(new_files(40, prefix="parent"))  # all the parent's fsync threads exist now; a fork has none
    child = multiprocessing.get_context("fork").Process(target=_write_in_child, args=(str(reservoir.root),))
    child.start()
    child.join(60)
    if child.is_alive():  # hung: its pool's threads were the parent's
        child.kill()
        child.join()

    assert child.exitcode == 0
    assert sorted(f.name.split("/")[-1] for f in listing(reservoir).files) == sorted(
        [f"child{i:03d}.json" for i in range(6)] + [f"parent{i:03d}.json" for i in range(40)])
