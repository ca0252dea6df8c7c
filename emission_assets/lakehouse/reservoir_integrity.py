"""Reservoir integrity: a file counts (reservoir steps) or is ingested (bronze) only if it matches its sidecar.

A sidecar must be a JSON object with the keys its source needs; the payload must be readable and have the
sidecar's byte count and sha256 (and be UTF-8 where bronze stores it as text). A file that fails is quarantined:
moved with its sidecar to ``_quarantine/<relative path>`` next to a ``<stem>.reason.json`` record (why, when, which
step, what the file covered), named in one warning line and the step's metadata, never ingested and never deleted
by the product (retention skips the folder; inspect it, then delete by hand).

What happens to the days such a file covered:
- the reservoir steps count only intact files as covering a day, so the same materialize fetches it again;
- a bronze step fails (:class:`ReservoirIntegrityError`, one line) when a quarantined file of its range leaves days
  that no other intact file covers and bronze does not hold the file already (ingested while intact), naming the
  file(s), the days and the command that repairs them. It ingests the intact files first, so nothing else waits.

A malformed sidecar is quarantined with its payload rather than failing the run: without a trustworthy sidecar
the payload cannot be verified, and the source can usually serve the day again, so one bad file neither stops the
other sources nor needs a manual step. Halves without their pair (a payload without sidecar, e.g. after a crash
between the two links of a write; a sidecar whose payload is gone) are listed once per bronze run and not ingested;
a sidecar without payload covers nothing, so the reservoir step fetches its days again.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import PurePosixPath
from typing import Callable

from emission_assets.errors import UserInputError
from emission_assets.lakehouse.reservoir import (
    META_SUFFIX,
    PAYLOAD_SUFFIX,
    QUARANTINE_DIR,
    Reservoir,
    ReservoirFile,
)
from emission_assets.timeutil import UTC, day_bounds_utc, days_between, local_date_of_ms, to_epoch_ms

NONE = type(None)
COMMON_KEYS = {"sha256": (str,), "bytes": (int,), "fetched_at": (str,), "source": (str,), "url": (str, NONE)}
STAMP = r"__\d{8}T\d{12}Z\.json$"
MAX_NAMED = 10  # files named in one warning or error line; the metadata lists up to 50


class ReservoirIntegrityError(UserInputError):
    """Quarantined reservoir files leave days of a run incomplete; the message names files, days and the repair."""


@dataclass(frozen=True)
class SourceRules:
    """What a source's sidecars must hold, which files are versions of one series, and how its days are repaired."""

    source: str  # the assets' ``source`` tag
    required: dict[str, tuple[type, ...]]  # sidecar key -> accepted JSON types (beyond COMMON_KEYS)
    key: Callable[[dict], tuple]  # files with equal keys are versions of the same series
    describe: Callable[[tuple], str]  # a key for people
    span: Callable[[dict], tuple[int, int] | None]  # [start, end) epoch ms a file vouches for
    meta_from_name: Callable[[str], dict | None]  # key and span fields from a file name, when the sidecar is bad
    repair: Callable[[list["Damage"], date, date], str]  # what to run
    text: bool = True  # bronze stores the payload as UTF-8 text

    def sidecar_problem(self, meta: dict) -> str | None:
        """Why the sidecar cannot be used, or None."""
        wanted = {**COMMON_KEYS, **self.required}
        missing = [k for k in wanted if k not in meta]
        if missing:
            return f"sidecar lacks key(s) {', '.join(missing)}"
        wrong = [k for k, types in wanted.items() if not isinstance(meta[k], types)]
        if wrong:
            return "sidecar has key(s) of the wrong type: " + ", ".join(f"{k}={meta[k]!r}" for k in wrong)
        try:
            datetime.fromisoformat(meta["fetched_at"])
        except ValueError:
            return f"sidecar's fetched_at {meta['fetched_at']!r} is not an ISO-8601 time"
        return None


@dataclass(frozen=True)
class Damage:
    """A file that cannot be used: quarantined (``quarantined_as``), or a sidecar whose payload is missing."""

    name: str | None  # relative name of the payload, as listed
    reason: str
    quarantined_as: str | None  # relative name of the payload in the quarantine; None if not moved (there)
    meta: dict | None  # the sidecar if usable, else what the name tells (key and span), else None
    by_other_run: bool = False

    def text(self) -> str:
        where = f" -> {self.quarantined_as}" if self.quarantined_as else ""
        return f"{self.name} ({self.reason}{', quarantined by another run' if self.by_other_run else ''}){where}"


def _days_text(days: list[date]) -> str:
    """``2024-04-15..2024-04-17, 2024-04-20``: consecutive days as ranges."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and day == runs[-1][-1] + timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(r[0].isoformat() if len(r) == 1 else f"{r[0].isoformat()}..{r[-1].isoformat()}" for r in runs)


def _covered(need: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    """Whether the union of ``spans`` covers ``[need)``."""
    cursor = need[0]
    for start, end in sorted(spans):
        if cursor >= need[1]:
            break
        if start > cursor:
            return False
        cursor = max(cursor, end)
    return cursor >= need[1]


def _folder_date(name: str) -> date | None:
    try:
        return date.fromisoformat(PurePosixPath(name).parent.name)
    except ValueError:
        return None


class Inspector:
    """Lists reservoir folders for one step, quarantines what fails, and says what that leaves incomplete.

    One inspector per step run: it collects what it quarantined and the unpaired halves it saw, for one warning
    line each (:meth:`conclude`).
    """

    def __init__(self, reservoir: Reservoir, rules: SourceRules, step: str, run_id: str | None = None):
        self.reservoir = reservoir
        self.rules = rules
        self.step = step
        self.run_id = run_id
        self.quarantined: list[Damage] = []
        self.unpaired_sidecars: list[Damage] = []
        self.files_without_sidecar: list[str] = []
        self.completed: list[str] = []  # quarantines a crash had cut short, finished now
        self._folders: list[tuple[str, date, date]] = []

    # --- listing and checking ------------------------------------------------------------------------------------

    def listed(self, prefix: str, first: date, last: date) -> list[ReservoirFile]:
        """Files of the dated folders ``prefix/<first..last>`` whose sidecar is usable; the others are quarantined."""
        self._folders.append((prefix, first, last))
        listing = self.reservoir.scan_dated(prefix, first, last)
        for name, why in listing.malformed:
            self._quarantine(name, why, None)
        usable = []
        for file in listing.files:
            why = self.rules.sidecar_problem(file.meta)
            if why is None:
                usable.append(file)
            else:
                self._quarantine(file.name, why, file.meta)
        for file in listing.sidecars_without_payload:
            self.unpaired_sidecars.append(Damage(file.name, "payload missing", None, self._usable_meta(file.name, file.meta)))
        for name in listing.files_without_sidecar:
            finished = self.reservoir.finish_quarantine(name) if name.endswith(PAYLOAD_SUFFIX) else None
            if finished is not None:
                self.completed.append(finished)
            else:
                self.files_without_sidecar.append(name)
        return usable

    def verified(
        self, files: list[ReservoirFile], *, should: Callable[[ReservoirFile], bool] | None = None, keep: bool = False
    ) -> list[ReservoirFile]:
        """The files whose payload matches the sidecar (those ``should`` skips are passed through unchecked); the
        others are quarantined. ``keep``: the returned files carry the verified bytes, so ingest uses exactly them."""
        intact = []
        for file in files:
            if should is not None and not should(file):
                intact.append(file)
                continue
            data, why = self._payload(file)
            if why is not None:
                self._quarantine(file.name, why, file.meta)
            else:
                intact.append(replace(file, payload=data) if keep else file)
        return intact

    def _payload(self, file: ReservoirFile) -> tuple[bytes | None, str | None]:
        try:
            data = file.path.read_bytes()
        except OSError as error:
            return None, f"payload unreadable ({type(error).__name__}: {error.strerror or error})"
        expected_bytes, expected_sha = file.meta["bytes"], file.meta["sha256"]
        if len(data) != expected_bytes:
            return None, f"payload has {len(data)} bytes, its sidecar says {expected_bytes}"
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected_sha:
            return None, f"payload sha256 {digest[:16]}... differs from its sidecar's {expected_sha[:16]}..."
        if self.rules.text:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as error:
                return None, f"payload is not UTF-8 text ({error})"
        return data, None

    def _usable_meta(self, name: str, meta: dict | None) -> dict | None:
        """The sidecar if its key and span can be read, else what the file name says."""
        if meta is not None:
            try:
                self.rules.key(meta)
                if self.rules.span(meta) is not None:
                    return meta
            except (KeyError, TypeError, ValueError):
                pass
        return self.rules.meta_from_name(name)

    def _quarantine(self, name: str, why: str, meta: dict | None) -> None:
        usable = self._usable_meta(name, meta)
        record = {
            "reason": why,
            "quarantined_at": datetime.now(UTC).isoformat(),
            "step": self.step,
            "run_id": self.run_id,
            "meta": usable,
        }
        moved = self.reservoir.quarantine(name, record)
        self.quarantined.append(Damage(name, why, moved, usable, by_other_run=moved is None))

    # --- what quarantined files leave incomplete -----------------------------------------------------------------

    def damaged(self) -> list[Damage]:
        """Quarantined files of the folders listed (this run's and earlier ones') and sidecars without payload."""
        found = []
        for prefix, first, last in self._folders:
            for record in self.reservoir.quarantine_records(prefix, first, last):
                found.append(Damage(record.get("name"), str(record.get("reason")), record["quarantined_as"],
                                    record.get("meta") if isinstance(record.get("meta"), dict) else None))
        return found + self.unpaired_sidecars

    def folder_dates(self) -> set[date]:
        """Dated folders of every damaged file: the bronze partitions to ask whether bronze holds them."""
        return {d for d in (_folder_date(x.name) for x in self.damaged() if x.name) if d is not None}

    def incomplete(
        self, intact: list[ReservoirFile], first_day: date, last_day: date, held: set[str]
    ) -> list[tuple[Damage, list[date]]]:
        """Damaged files with the days of ``first_day..last_day`` they covered that no intact file (of the same
        series) covers; files bronze holds (``held``) are left out: their content is in bronze."""
        spans: dict[tuple, list[tuple[int, int]]] = {}
        for file in intact:
            span = self.rules.span(file.meta)
            if span is not None:
                spans.setdefault(tuple(self.rules.key(file.meta)), []).append(span)
        found = []
        for damage in self.damaged():
            if damage.name in held or damage.meta is None:
                continue
            try:
                key, span = tuple(self.rules.key(damage.meta)), self.rules.span(damage.meta)
            except (KeyError, TypeError, ValueError):
                continue
            if span is None or span[1] <= span[0]:
                continue
            days = []
            first = max(first_day, local_date_of_ms(span[0]))
            last = min(last_day, local_date_of_ms(span[1] - 1))
            for day in days_between(first, last) if first <= last else []:
                start, end = (to_epoch_ms(moment) for moment in day_bounds_utc(day))
                if not _covered((max(start, span[0]), min(end, span[1])), spans.get(key, [])):
                    days.append(day)
            if days:
                found.append((damage, days))
        return found

    # --- reporting -----------------------------------------------------------------------------------------------

    def conclude(
        self,
        log,
        *,
        then: str,
        list_unpaired: bool = False,
        coverage: tuple[list[ReservoirFile], date, date, set[str]] | None = None,
    ) -> dict:
        """Warn once about what was quarantined (``then``: what happens to its days) and, with ``list_unpaired``,
        once about halves without their pair; with ``coverage`` (intact files, first day, last day, names bronze
        holds) raise :class:`ReservoirIntegrityError` for days left incomplete. Returns the step's metadata."""
        from dagster import MetadataValue

        metadata: dict = {"files_quarantined": len(self.quarantined)}
        if self.quarantined:
            log.warning(
                f"{self.step} quarantined {len(self.quarantined)} reservoir file(s) that do not match their sidecar "
                f"(kept under {self.reservoir.root / QUARANTINE_DIR} and not ingested; {then}): "
                + _named([d.text() for d in self.quarantined])
            )
            metadata["quarantined"] = MetadataValue.md("\n".join(f"- {d.text()}" for d in self.quarantined[:50]))
        if self.completed:
            log.warning(f"{self.step} finished {len(self.completed)} quarantine(s) a crash had cut short: "
                        + _named(self.completed))
        if list_unpaired:
            unpaired = [f"{d.name[: -len(PAYLOAD_SUFFIX)]}{META_SUFFIX} (sidecar without payload)"
                        for d in self.unpaired_sidecars] + [f"{n} (no sidecar)" for n in self.files_without_sidecar]
            metadata["files_without_pair"] = len(unpaired)
            if unpaired:
                log.warning(
                    f"{self.step}: {len(unpaired)} reservoir file(s) without their pair, not ingested (a sidecar "
                    "without payload covers no day; remove or restore them by hand): " + _named(unpaired)
                )
                metadata["without_pair"] = MetadataValue.md("\n".join(f"- {u}" for u in unpaired[:50]))
        if coverage is not None:
            intact, first_day, last_day, held = coverage
            damaged = self.damaged()
            metadata["quarantined_in_range"] = sum(1 for d in damaged if d.quarantined_as)
            incomplete = self.incomplete(intact, first_day, last_day, held)
            if incomplete:
                raise ReservoirIntegrityError(self._incomplete_message(incomplete, first_day, last_day))
        return metadata

    def _incomplete_message(self, incomplete: list[tuple[Damage, list[date]]], first_day: date, last_day: date) -> str:
        items = []
        for damage, days in incomplete:
            try:
                what = self.rules.describe(tuple(self.rules.key(damage.meta)))
            except (KeyError, TypeError, ValueError):
                what = self.rules.source
            items.append(f"{damage.text()} leaves {_days_text(days)} ({what}) incomplete")
        all_days = sorted({d for _, days in incomplete for d in days})
        return (
            f"{self.step}: {len(incomplete)} reservoir file(s) failed the integrity check and no other intact file "
            f"covers their days: {_named(items, sep='; ')}. Repair: "
            f"{self.rules.repair([d for d, _ in incomplete], all_days[0], all_days[-1])}"
        )


def _named(items: list[str], sep: str = ", ") -> str:
    more = f"{sep}... and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else ""
    return sep.join(items[:MAX_NAMED]) + more


def materialize_hint(first: date, last: date, source: str, extra: str = "") -> str:
    """The command that fetches a source's days again (a source's ``repair`` text starts with it)."""
    return f"emission-tracker materialize --start {first.isoformat()} --end {last.isoformat()} --select 'tag:source={source}'{extra}"
