"""Reservoir: atomic payload + sidecar writes, no overwrites, crash-safe listing, private mode, delete_all."""
from __future__ import annotations

import hashlib
import json
import stat

import pytest

from emission_assets.lakehouse.reservoir import Reservoir

PAYLOAD = b'{"series": [[1, 2.5]]}'


@pytest.fixture
def reservoir(tmp_path):
    return Reservoir(tmp_path / "reservoir")


def mode_of(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_creates_payload_and_sidecar_with_hash_size_and_relative_name(reservoir):
    written = reservoir.write("smard/2024-01-01", "window_a", PAYLOAD, {"source": "test", "url": "http://x"})

    payload_path = reservoir.root / "smard" / "2024-01-01" / "window_a.json"
    meta_path = reservoir.root / "smard" / "2024-01-01" / "window_a.meta.json"
    assert written.path == payload_path
    assert payload_path.read_bytes() == PAYLOAD
    assert written.read_bytes() == PAYLOAD
    assert written.name == "smard/2024-01-01/window_a.json"

    sidecar = json.loads(meta_path.read_text())
    assert sidecar == written.meta
    assert sidecar["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert sidecar["bytes"] == len(PAYLOAD)
    assert sidecar["name"] == "smard/2024-01-01/window_a.json"
    assert sidecar["source"] == "test" and sidecar["url"] == "http://x"
    # no temporary files left behind
    assert sorted(p.name for p in payload_path.parent.iterdir()) == ["window_a.json", "window_a.meta.json"]


def test_write_refuses_to_overwrite_and_keeps_the_original(reservoir):
    first = reservoir.write("d", "stem", PAYLOAD, {"source": "first"})

    with pytest.raises(FileExistsError, match="never overwritten"):
        reservoir.write("d", "stem", b"other bytes", {"source": "second"})

    assert first.path.read_bytes() == PAYLOAD
    [listed] = reservoir.list("d")
    assert listed.meta["source"] == "first"
    assert listed.meta["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert sorted(p.name for p in first.path.parent.iterdir()) == ["stem.json", "stem.meta.json"]


def test_list_returns_only_complete_files_sorted(reservoir):
    reservoir.write("d", "b", b"2", {})
    reservoir.write("d", "a", b"1", {})
    directory = reservoir.root / "d"
    # a crash after the payload rename but before the sidecar, and a leftover temporary file
    (directory / "crashed.json").write_bytes(b"half")
    (directory / ".c.json.abc123.tmp").write_bytes(b"partial")
    (directory / ".c.meta.json.abc123.tmp").write_bytes(b"partial")

    listed = reservoir.list("d")

    assert [f.name for f in listed] == ["d/a.json", "d/b.json"]
    assert [f.read_bytes() for f in listed] == [b"1", b"2"]
    assert all(f.meta["name"] == f.name for f in listed)


def test_list_of_a_missing_directory_is_empty(reservoir):
    assert reservoir.list("nowhere") == []


def test_private_files_are_owner_only(reservoir):
    private = reservoir.write("p", "secret", PAYLOAD, {}, private=True)
    public = reservoir.write("p", "open", PAYLOAD, {})

    assert mode_of(private.path) == 0o600
    assert mode_of(private.path.with_name("secret.meta.json")) == 0o600
    assert mode_of(public.path) == 0o644
    assert mode_of(public.path.with_name("open.meta.json")) == 0o644


def test_delete_all_counts_payloads_and_removes_the_root(reservoir):
    assert reservoir.delete_all() == 0  # nothing there yet
    reservoir.write("x/1", "a", b"1", {})
    reservoir.write("x/1", "b", b"2", {})
    reservoir.write("y", "c", b"3", {})
    (reservoir.root / "y" / "orphan.json").write_bytes(b"no sidecar")

    assert reservoir.delete_all() == 3
    assert not reservoir.root.exists()
    assert reservoir.list("x/1") == []


def test_scan_sorts_files_into_complete_malformed_and_unpaired_and_skips_writes_in_flight(reservoir):
    from emission_assets.lakehouse.reservoir import SidecarError

    reservoir.write("d", "good", b"1", {})
    reservoir.write("d", "no_payload", b"2", {})
    reservoir.write("d", "bad_sidecar", b"3", {})
    directory = reservoir.root / "d"
    (directory / "no_payload.json").unlink()
    (directory / "bad_sidecar.meta.json").write_text('{"sha256": ')
    (directory / "no_sidecar.json").write_bytes(b"4")
    (directory / ".good.json.x1y2z3.tmp").write_bytes(b"in flight")

    listing = reservoir.scan("d")

    assert [f.name for f in listing.files] == ["d/good.json"]
    assert [(name, why.split(" (")[0]) for name, why in listing.malformed] == [
        ("d/bad_sidecar.json", "sidecar is not valid JSON")]
    assert [f.name for f in listing.sidecars_without_payload] == ["d/no_payload.json"]
    assert listing.files_without_sidecar == ["d/no_sidecar.json"]
    with pytest.raises(SidecarError, match=r"reservoir sidecar .*/d/bad_sidecar\.meta\.json: sidecar is not valid JSON"):
        reservoir.list("d")
