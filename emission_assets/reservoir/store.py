"""Atomic, versioned raw-file storage.

Each payload ``<stem>.json`` gets a sidecar ``<stem>.meta.json`` (source URL, fetched_at, sha256, ...). Both are
written to a temporary name, fsynced and linked into place, payload first: a sidecar exists only for a complete payload, so
readers list sidecars and never see half-written files. Names are never overwritten; a re-fetch is a new stem.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

from emission_assets.timeutil import day_bounds_utc, local_date_of_ms, to_epoch_ms

PAYLOAD_SUFFIX = ".json"
META_SUFFIX = ".meta.json"


@dataclass(frozen=True)
class ReservoirFile:
    path: Path  # the payload file
    name: str  # path relative to the reservoir root (posix); the file's identity in bronze
    meta: dict

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


def _atomic_create(target: Path, data: bytes, mode: int) -> None:
    """Write to a temporary file, fsync, then hard-link it into place: atomic, and never replaces a file
    (of two concurrent writers of one name, the second gets FileExistsError)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.link(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _make_dirs(root: Path, directory: Path, private: bool) -> None:
    """Create ``directory`` (inside ``root``) and its missing parents. For private files the ones made here, up to
    and including ``root``, are owner-only (0700) whatever the umask: their names (home id, dates) are personal too.
    Existing folders are left as they are."""
    if not private:
        directory.mkdir(parents=True, exist_ok=True)
        return
    root.parent.mkdir(parents=True, exist_ok=True)
    missing = []
    while not directory.exists() and directory != root.parent:
        missing.append(directory)
        directory = directory.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # a concurrent writer made it
            continue
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask


class Reservoir:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def write(self, relative_dir: str, stem: str, payload: bytes, meta: dict, *, private: bool = False) -> ReservoirFile:
        """Store ``payload`` under ``relative_dir/stem.json`` with its sidecar; refuses to overwrite history."""
        directory = self.root / relative_dir
        _make_dirs(self.root, directory, private)
        payload_path = directory / f"{stem}{PAYLOAD_SUFFIX}"
        meta_path = directory / f"{stem}{META_SUFFIX}"
        if meta_path.exists():
            raise FileExistsError(f"reservoir file {payload_path} exists already; versions are never overwritten")
        name = payload_path.relative_to(self.root).as_posix()
        full_meta = {
            **meta,
            "name": name,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "bytes": len(payload),
        }
        mode = 0o600 if private else 0o644
        _atomic_create(payload_path, payload, mode)
        _atomic_create(meta_path, json.dumps(full_meta, sort_keys=True, indent=1).encode(), mode)
        return ReservoirFile(payload_path, name, full_meta)

    def list(self, relative_dir: str) -> list[ReservoirFile]:
        """Complete files (those with a sidecar) in one directory, by name."""
        directory = self.root / relative_dir
        if not directory.is_dir():
            return []
        files = []
        for meta_path in sorted(directory.glob(f"*{META_SUFFIX}")):
            stem = meta_path.name[: -len(META_SUFFIX)]
            payload_path = directory / f"{stem}{PAYLOAD_SUFFIX}"
            meta = json.loads(meta_path.read_text())
            files.append(ReservoirFile(payload_path, payload_path.relative_to(self.root).as_posix(), meta))
        return files

    def list_dated(self, prefix: str, first: date, last: date) -> list[ReservoirFile]:
        """Files in the dated folders ``prefix/<YYYY-MM-DD>`` from ``first`` to ``last`` inclusive."""
        files: list[ReservoirFile] = []
        day = first
        while day <= last:
            files.extend(self.list(f"{prefix}/{day.isoformat()}"))
            day += timedelta(days=1)
        return files

    def delete_all(self) -> int:
        """Remove every file (``reset``); returns how many payloads were removed."""
        if not self.root.exists():
            return 0
        count = sum(1 for _ in self.root.rglob(f"*{META_SUFFIX}"))
        shutil.rmtree(self.root)
        return count


def overlapping(files: list[ReservoirFile], start_ms: int, end_ms: int) -> list[ReservoirFile]:
    """Files whose sidecar range ``[series_start_ms, series_end_ms)`` overlaps ``[start_ms, end_ms)``."""
    return [
        f
        for f in files
        if f.meta.get("series_start_ms") is not None
        and f.meta["series_start_ms"] < end_ms
        and f.meta["series_end_ms"] > start_ms
    ]


def covers_day(file: ReservoirFile, day: date, settle: timedelta) -> bool:
    """True when the file spans the whole local day and was fetched ``settle`` after it ended, so the source had
    published (and, for Tibber, corrected) the day's values by then."""
    start, end = day_bounds_utc(day)
    meta = file.meta
    return (
        meta.get("series_start_ms") is not None
        and meta["series_start_ms"] <= to_epoch_ms(start)
        and meta["series_end_ms"] >= to_epoch_ms(end)
        and datetime.fromisoformat(meta["fetched_at"]) >= end + settle
    )


def covered_days(files: list[ReservoirFile], settle: timedelta, key: Callable[[dict], tuple]) -> set[tuple]:
    """``key(meta) + (day,)`` for every local day some file covers (see :func:`covers_day`)."""
    covered = set()
    for file in files:
        if file.meta.get("series_start_ms") is None:
            continue
        day = local_date_of_ms(file.meta["series_start_ms"])
        while day <= local_date_of_ms(file.meta["series_end_ms"] - 1):
            if covers_day(file, day, settle):
                covered.add((*key(file.meta), day))
            day += timedelta(days=1)
    return covered
