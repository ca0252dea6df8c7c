"""Atomic, versioned raw-file storage.

Each payload ``<stem>.json`` gets a sidecar ``<stem>.meta.json`` (source URL, fetched_at, sha256, ...). Both are
written to a temporary name, fsynced and linked into place, payload first: a sidecar exists only for a complete payload, so
readers list sidecars and never see half-written files. Names are never overwritten; a re-fetch is a new stem.
Files are written in batches (:meth:`Reservoir.write_many`, :class:`BatchWriter`): the fsyncs of a batch run
together (:mod:`emission_assets.lakehouse.durable`), which is what made a year's backfill of single writes slow.

A file that does not match its sidecar is moved (not deleted) to ``_quarantine/<its relative path>`` with a
``<stem>.reason.json`` record, see :meth:`Reservoir.quarantine` and :mod:`emission_assets.lakehouse.reservoir_integrity`.
"""
from __future__ import annotations

import errno
import glob
import hashlib
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Sequence

from emission_assets.errors import UserInputError
from emission_assets.lakehouse.durable import TemporaryFiles, fsync_directories
from emission_assets.timeutil import day_bounds_utc, days_between, local_date_of_ms, to_epoch_ms

PAYLOAD_SUFFIX = ".json"
META_SUFFIX = ".meta.json"
QUARANTINE_DIR = "_quarantine"
REASON_SUFFIX = ".reason.json"
WRITE_BATCH_FILES = 128  # files per write_many of a BatchWriter: a few MB of payloads held at a time


class SidecarError(UserInputError):
    """A ``.meta.json`` sidecar that cannot be read as a JSON object; the message names the file."""


@dataclass(frozen=True)
class ReservoirFile:
    path: Path  # the payload file
    name: str  # path relative to the reservoir root (posix); the file's identity in bronze
    meta: dict
    # The bytes as verified against the sidecar (see integrity.py): ingest uses exactly what was checked.
    payload: bytes | None = field(default=None, repr=False, compare=False)

    def read_bytes(self) -> bytes:
        return self.payload if self.payload is not None else self.path.read_bytes()


def is_temporary(file_name: str) -> bool:
    """``.<name>.<random>.tmp``: an atomic write in flight (or left by a crash), never a file of its own."""
    return file_name.startswith(".") and file_name.endswith(".tmp")


@dataclass
class Listing:
    """What one or more reservoir folders hold, sorted by name.

    ``files`` have a payload and a sidecar that is a JSON object (not yet checked against the payload);
    ``malformed`` are (payload name, why) of sidecars that are unreadable or not a JSON object; the other two are
    halves without their pair (relative names).
    """

    files: list[ReservoirFile] = field(default_factory=list)
    malformed: list[tuple[str, str]] = field(default_factory=list)
    sidecars_without_payload: list[ReservoirFile] = field(default_factory=list)
    files_without_sidecar: list[str] = field(default_factory=list)

    def extend(self, other: "Listing") -> None:
        self.files += other.files
        self.malformed += other.malformed
        self.sidecars_without_payload += other.sidecars_without_payload
        self.files_without_sidecar += other.files_without_sidecar


def _read_sidecar(meta_path: Path) -> tuple[dict | None, str | None]:
    """(meta, None), or (None, why) for a sidecar that is unreadable, not JSON or not a JSON object."""
    try:
        meta = json.loads(meta_path.read_bytes())
    except OSError as error:
        return None, f"sidecar unreadable ({type(error).__name__}: {error.strerror or error})"
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        return None, f"sidecar is not valid JSON ({error})"
    if not isinstance(meta, dict):
        return None, f"sidecar is JSON but not an object ({type(meta).__name__})"
    return meta, None


def _atomic_create(target: Path, data: bytes, mode: int) -> None:
    """One durable file, linked into place: atomic, and never replaces a file (of two concurrent writers of one
    name, the second gets FileExistsError)."""
    with TemporaryFiles() as temporaries:
        (temporary,) = temporaries.write_durably([(target, data, mode)])
        os.link(temporary, target)


def _complete(listing: Listing, root: Path) -> list[ReservoirFile]:
    if listing.malformed:
        name, why = listing.malformed[0]
        more = f" (and {len(listing.malformed) - 1} more)" if len(listing.malformed) > 1 else ""
        sidecar = (root / name).with_name(Path(name).name[: -len(PAYLOAD_SUFFIX)] + META_SUFFIX)
        raise SidecarError(f"reservoir sidecar {sidecar}: {why}{more}; a materialize run that includes the "
                           "reservoir or bronze step moves it to the quarantine and fetches its days again")
    return listing.files


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


@dataclass(frozen=True)
class NewFile:
    """One file for :meth:`Reservoir.write_many`: ``relative_dir/<stem>.json`` and its sidecar from ``meta``
    (owner-only when ``private``)."""

    relative_dir: str
    stem: str
    payload: bytes = field(repr=False)
    meta: dict
    private: bool = False


@dataclass(frozen=True)
class _Planned:
    file: NewFile
    directory: Path
    payload_path: Path
    meta_path: Path
    name: str
    meta: dict  # the sidecar: the caller's meta with name, sha256 and bytes

    @property
    def mode(self) -> int:
        return 0o600 if self.file.private else 0o644


def _missing_folders(directory: Path) -> list[Path]:
    """``directory`` and those of its parents that do not exist yet."""
    missing = []
    while not directory.exists() and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    return missing


def _exists(payload_path: Path) -> str:
    return f"reservoir file {payload_path} exists already; versions are never overwritten"


def _link_error(error: OSError, payload_path: Path) -> OSError:
    if error.errno == errno.EEXIST:  # a concurrent writer of the same name, or a half a crash left
        return FileExistsError(_exists(payload_path))
    return error


class Reservoir:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def write(self, relative_dir: str, stem: str, payload: bytes, meta: dict, *, private: bool = False) -> ReservoirFile:
        """Store ``payload`` under ``relative_dir/stem.json`` with its sidecar; refuses to overwrite history."""
        return self.write_many([NewFile(relative_dir, stem, payload, meta, private)])[0]

    def write_many(self, files: Sequence[NewFile]) -> list[ReservoirFile]:
        """Store several files as :meth:`write` does, made durable together (few journal commits, not two per file).

        Order, for crash safety: every payload and sidecar is written to a temporary name and fsynced (in
        parallel); then the payloads are linked into place and their folders (and the parents of folders made
        here) fsynced; only then the sidecars, and their folders fsynced again. So a sidecar never names a payload that is not durable, whatever the file
        system orders. A crash or error on the way leaves complete pairs, payloads without sidecar (not listed;
        the integrity check reports them) and temporary files (never listed), never a sidecar without payload.
        A name that exists already is refused before anything is written; an error while linking (a concurrent
        writer of the same name) spares the other files of the batch and is raised after them.
        """
        planned: list[_Planned] = []
        folders: set[tuple[Path, bool]] = set()
        holding_new_folders: set[Path] = set()  # folders whose entries (new subfolders) must be made durable too
        for file in files:
            directory = self.root / file.relative_dir
            if (directory, file.private) not in folders:
                holding_new_folders.update(folder.parent for folder in _missing_folders(directory))
                _make_dirs(self.root, directory, file.private)
                folders.add((directory, file.private))
            payload_path = directory / f"{file.stem}{PAYLOAD_SUFFIX}"
            meta_path = directory / f"{file.stem}{META_SUFFIX}"
            if meta_path.exists():
                raise FileExistsError(_exists(payload_path))
            name = payload_path.relative_to(self.root).as_posix()
            meta = {**file.meta, "name": name, "sha256": hashlib.sha256(file.payload).hexdigest(),
                    "bytes": len(file.payload)}
            planned.append(_Planned(file, directory, payload_path, meta_path, name, meta))
        twice = sorted(str(path) for path, n in Counter(plan.payload_path for plan in planned).items() if n > 1)
        if twice:
            raise ValueError(f"reservoir file {twice[0]} is twice in one batch")
        failure: OSError | None = None
        with TemporaryFiles() as temporaries:
            staged = temporaries.write_durably(
                [(plan.payload_path, plan.file.payload, plan.mode) for plan in planned]
                + [(plan.meta_path, json.dumps(plan.meta, sort_keys=True, indent=1).encode(), plan.mode)
                   for plan in planned]
            )
            linked = []  # (plan, its sidecar's temporary)
            for plan, payload_temporary, sidecar_temporary in zip(planned, staged, staged[len(planned):]):
                try:
                    os.link(payload_temporary, plan.payload_path)
                    linked.append((plan, sidecar_temporary))
                except OSError as error:
                    failure = failure or _link_error(error, plan.payload_path)
            fsync_directories([*holding_new_folders, *(plan.directory for plan, _ in linked)])
            completed = []
            for plan, sidecar_temporary in linked:
                try:
                    os.link(sidecar_temporary, plan.meta_path)
                    completed.append(plan)
                except OSError as error:
                    failure = failure or _link_error(error, plan.payload_path)
            fsync_directories(plan.directory for plan in completed)
        if failure is not None:
            raise failure
        return [ReservoirFile(plan.payload_path, plan.name, plan.meta) for plan in planned]

    def scan(self, relative_dir: str) -> Listing:
        """Everything in one directory: complete files, malformed sidecars, and halves without their pair
        (temporary files of atomic writes in flight are not files yet and are left out)."""
        directory = self.root / relative_dir
        try:
            with os.scandir(directory) as entries:
                names = {entry.name for entry in entries if entry.is_file()}
        except (FileNotFoundError, NotADirectoryError):
            return Listing()
        listing = Listing()
        for file_name in sorted(names):
            if is_temporary(file_name):
                continue
            path = directory / file_name
            if file_name.endswith(META_SUFFIX):
                payload_path = path.with_name(file_name[: -len(META_SUFFIX)] + PAYLOAD_SUFFIX)
                name = payload_path.relative_to(self.root).as_posix()
                meta, why = _read_sidecar(path)
                if meta is None:
                    listing.malformed.append((name, why))
                elif payload_path.name in names or payload_path.exists():
                    listing.files.append(ReservoirFile(payload_path, name, meta))
                else:
                    listing.sidecars_without_payload.append(ReservoirFile(payload_path, name, meta))
            elif file_name.endswith(PAYLOAD_SUFFIX):
                sidecar = file_name[: -len(PAYLOAD_SUFFIX)] + META_SUFFIX
                # re-checked on disk: a write in flight links its sidecar just after the payload
                if sidecar not in names and not (directory / sidecar).exists():
                    listing.files_without_sidecar.append(path.relative_to(self.root).as_posix())
            else:
                listing.files_without_sidecar.append(path.relative_to(self.root).as_posix())
        return listing

    def scan_dated(self, prefix: str, first: date, last: date) -> Listing:
        """:meth:`scan` of the dated folders ``prefix/<YYYY-MM-DD>`` from ``first`` to ``last`` inclusive."""
        listing = Listing()
        for day in days_between(first, last):
            listing.extend(self.scan(f"{prefix}/{day.isoformat()}"))
        return listing

    def list(self, relative_dir: str) -> list[ReservoirFile]:
        """Complete files (payload and sidecar) in one directory, by name; a malformed sidecar is a one-line
        :class:`SidecarError` naming it (the reservoir and bronze steps quarantine such files instead)."""
        return _complete(self.scan(relative_dir), self.root)

    def list_dated(self, prefix: str, first: date, last: date) -> list[ReservoirFile]:
        """Files in the dated folders ``prefix/<YYYY-MM-DD>`` from ``first`` to ``last`` inclusive."""
        return _complete(self.scan_dated(prefix, first, last), self.root)

    def quarantine(self, name: str, record: dict) -> str | None:
        """Move the payload ``name`` and its sidecar to ``_quarantine/<name>`` and write ``record`` (why, when,
        what it covered) next to them as ``<stem>.reason.json``; returns the quarantined payload's relative name,
        or None when another run quarantined the file first. Never deletes or overwrites: a name quarantined
        before gets a ``~<n>`` stem.

        Order, for crash safety: the record first (created exclusively: it claims the stem), then the sidecar
        (from then on readers no longer list the file), then the payload. A crash between the last two leaves a
        payload without a sidecar, which the next inspection moves after its sidecar (:meth:`finish_quarantine`).
        """
        payload_path = self.root / name
        stem = payload_path.name[: -len(PAYLOAD_SUFFIX)]
        target_dir = self.root / QUARANTINE_DIR / Path(name).parent
        _make_dirs(self.root, target_dir, private=True)
        data = json.dumps({**record, "name": name}, sort_keys=True, indent=1, default=str).encode()
        for n in range(10_000):
            target_stem = f"{stem}~{n}" if n else stem
            if any((target_dir / f"{target_stem}{suffix}").exists() for suffix in (META_SUFFIX, PAYLOAD_SUFFIX)):
                continue
            try:
                _atomic_create(target_dir / f"{target_stem}{REASON_SUFFIX}", data, 0o600)
                break
            except FileExistsError:  # claimed by another run (or a crashed one)
                continue
        else:
            raise FileExistsError(f"no free quarantine name for {name} in {target_dir}")
        reason_path = target_dir / f"{target_stem}{REASON_SUFFIX}"
        try:
            os.rename(payload_path.with_name(stem + META_SUFFIX), target_dir / f"{target_stem}{META_SUFFIX}")
        except FileNotFoundError:  # another run moved the sidecar first: the file is its to move
            reason_path.unlink(missing_ok=True)
            return None
        try:
            os.rename(payload_path, target_dir / f"{target_stem}{PAYLOAD_SUFFIX}")
        except FileNotFoundError:  # a sidecar without payload
            pass
        return (target_dir / f"{target_stem}{PAYLOAD_SUFFIX}").relative_to(self.root).as_posix()

    def finish_quarantine(self, name: str) -> str | None:
        """Move the payload ``name`` after its sidecar if a quarantine of it was cut short (its record and sidecar
        are in ``_quarantine``, the payload is not); returns the quarantined name, or None if there is none."""
        payload_path = self.root / name
        stem = payload_path.name[: -len(PAYLOAD_SUFFIX)]
        target_dir = self.root / QUARANTINE_DIR / Path(name).parent
        if not target_dir.is_dir():
            return None
        for meta_path in sorted(target_dir.glob(f"{glob.escape(stem)}*{META_SUFFIX}")):
            target_stem = meta_path.name[: -len(META_SUFFIX)]
            if target_stem != stem and not target_stem.startswith(f"{stem}~"):
                continue
            target = meta_path.with_name(target_stem + PAYLOAD_SUFFIX)
            if not target.exists() and meta_path.with_name(target_stem + REASON_SUFFIX).exists():
                try:
                    os.rename(payload_path, target)
                except FileNotFoundError:  # the quarantining run got there meanwhile
                    pass
                return target.relative_to(self.root).as_posix()
        return None

    def quarantine_records(self, prefix: str, first: date, last: date) -> list[dict]:
        """The records of files quarantined from the dated folders ``prefix/<YYYY-MM-DD>``, ``first..last``;
        each with ``quarantined_as`` (the quarantined payload's relative name)."""
        records = []
        for day in days_between(first, last):
            folder = self.root / QUARANTINE_DIR / prefix / day.isoformat()
            for path in sorted(folder.glob(f"*{REASON_SUFFIX}")) if folder.is_dir() else []:
                try:
                    record = json.loads(path.read_bytes())
                except (OSError, ValueError):
                    record = None
                stem = path.name[: -len(REASON_SUFFIX)]
                if not any(path.with_name(stem + suffix).exists() for suffix in (META_SUFFIX, PAYLOAD_SUFFIX)):
                    continue  # a claim whose move never started (a crash, or another run just now): no file
                if not isinstance(record, dict):  # the record itself got damaged: still a quarantined file
                    record = {"name": None, "reason": f"record {path.name} unreadable"}
                records.append({**record, "quarantined_as": path.with_name(stem + PAYLOAD_SUFFIX).relative_to(
                    self.root).as_posix()})
        return records

    def delete_all(self) -> int:
        """Remove every file (``reset``); returns how many payloads were removed."""
        if not self.root.exists():
            return 0
        count = sum(1 for _ in self.root.rglob(f"*{META_SUFFIX}"))
        shutil.rmtree(self.root)
        return count


class BatchWriter:
    """Collects new files and stores them with :meth:`Reservoir.write_many`, ``size`` at a time.

    A fill adds each file as it is fetched; leaving the ``with`` block stores what is left, also when the block
    raises (what was fetched before a failed request is kept, so a re-run fetches only the rest).
    """

    def __init__(self, reservoir: Reservoir, size: int = WRITE_BATCH_FILES):
        self.reservoir = reservoir
        self.size = size
        self.written: list[ReservoirFile] = []
        self._pending: list[NewFile] = []

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.flush()

    def add(self, file: NewFile) -> None:
        self._pending.append(file)
        if len(self._pending) >= self.size:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            self.written += self.reservoir.write_many(pending)


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
