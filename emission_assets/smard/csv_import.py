"""Import SMARD download-center CSV exports into the reservoir as API-shaped weekly windows.

Why: a user may have CSVs downloaded by hand from smard.de (offline, or history the API no longer serves). Storing
them as the same window files the API fetcher writes (same JSON shape, same Monday-00:00-Berlin weeks, same
reservoir folders) means bronze and silver need no second code path; the sidecar's ``source: csv-import`` and
``url: file:...`` keep the provenance visible. Re-importing writes new versions; silver takes the latest.

The exports are in local Europe/Berlin time, so the hard part is mapping rows to UTC interval starts: the repeated
autumn hour is disambiguated by occurrence order (first = summer time) and times in the spring gap are rejected.
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable, Iterator

from emission_assets.errors import UserInputError
from emission_assets.lakehouse.reservoir import BatchWriter, Reservoir, ReservoirFile
from emission_assets.smard import windows
from emission_assets.smard.catalog import SERIES, check_region
from emission_assets.timeutil import (
    BERLIN,
    RESOLUTION_STEP,
    UTC,
    from_epoch_ms,
    local_date_of_ms,
    local_midnight,
    to_epoch_ms,
    week_start,
)

SOURCE = "csv-import"
CLASSIC_HEADER = ("Datum", "Anfang", "Ende")  # exports up to ~2024: date, start clock time, end clock time
CURRENT_HEADER = ("Datum von", "Datum bis")  # 2025 exports: "dd.mm.yyyy HH:MM" start and end

_TYPE_TO_FILTER = {s.german: s.filter_id for s in SERIES} | {"Gesamt (Netzlast)": 410}
# Types that only appear in consumption exports; they mark a file as consumption.
_CONSUMPTION_TYPES = {"Netzlast", "Gesamt (Netzlast)", "Residuallast", "Netzlast inkl. Pumpspeicher"}
# Types that only appear in generation exports ("Pumpspeicher" is in both: generation 4070, consumption 4387).
_GENERATION_TYPES = {s.german for s in SERIES if s.kind == "generation"} - {"Pumpspeicher"}
# The download center's two energy exports, by the kind the importer is told to expect.
EXPORTS = {"generation": "Realisierte Erzeugung", "consumption": "Realisierter Stromverbrauch"}
# Consumption columns with no catalog series: skipped with a warning rather than failing the whole import.
# "Pumpspeicher" in a consumption export is pumped-storage *consumption* (filter 4387), not generation 4070.
_SKIPPED_CONSUMPTION_TYPES = {
    "Pumpspeicher": "pumped-storage consumption (SMARD filter 4387) is not in the catalog",
    "Netzlast inkl. Pumpspeicher": "grid load including pumped storage is not in the catalog (410 is imported)",
}
_COLUMN = re.compile(r"(?P<type>.+?)\s*\[(?P<unit>[^\]]*)\].*")
_NUMBER = re.compile(r"-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?")  # German: 1.469,25 / -226,75 / 0
_LOCAL_TIME = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}) +(\d{1,2}):(\d{2})")  # dd.mm.yyyy HH:MM
_RESOLUTIONS = {RESOLUTION_STEP[name]: name for name in ("quarterhour", "hour")}


class SmardCsvError(UserInputError):
    """A user-supplied file that is not a usable SMARD CSV export; the message names file, line and column."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None, column: str | None = None):
        self.path, self.line, self.column = Path(path), line, column
        where = str(path) + (f", line {line}" if line is not None else "") + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {message}")


@dataclass
class ParsedCsv:
    """One export: per filter id the (UTC epoch-ms interval start, MWh or None) points, sorted by time."""

    path: Path
    layout: str  # "classic" (Datum;Anfang;Ende) or "2025" (Datum von;Datum bis)
    resolution: str  # "hour" or "quarterhour"
    series: dict[int, list[tuple[int, float | None]]]
    skipped_columns: list[str]
    warnings: list[str]
    first_start_ms: int
    last_start_ms: int
    export: str = "generation"  # "generation" (Realisierte Erzeugung) or "consumption" (Realisierter Stromverbrauch)
    value_columns: list[str] = field(default_factory=list)  # header names of the imported columns

    @property
    def first_start(self) -> datetime:
        return from_epoch_ms(self.first_start_ms)

    @property
    def last_start(self) -> datetime:
        return from_epoch_ms(self.last_start_ms)


@dataclass
class ImportSummary:
    files: list[Path] = field(default_factory=list)
    windows_written: int = 0
    values: int = 0  # non-null points written
    nulls: int = 0  # null points written ("-" cells and rows missing inside a file's span)
    first_interval_start: datetime | None = None  # UTC
    last_interval_start: datetime | None = None  # UTC
    resolutions: list[str] = field(default_factory=list)
    skipped_columns: list[str] = field(default_factory=list)  # "<file>: <column>"
    warnings: list[str] = field(default_factory=list)
    written: list[ReservoirFile] = field(default_factory=list)


def _read_text(path: Path) -> str:
    """UTF-8 (BOM stripped) as SMARD exports it; cp1252 as a fallback for files re-saved by Excel."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SmardCsvError(path, f"cannot read file ({error.strerror or error})") from None
    if data.startswith(b"PK\x03\x04"):  # a zip container: the download center's XLSX format
        raise SmardCsvError(path, "is an Excel/ZIP file, not CSV; download the export in CSV format")
    if b"\x00" in data[:65536]:  # text never holds NUL bytes; csv's own error for them is cryptic
        raise SmardCsvError(
            path, "is a binary (or UTF-16) file, not a SMARD CSV export (expected ;-separated UTF-8 text)"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _parse_local(path: Path, line: int, column: str, text: str) -> datetime:
    """Naive local datetime from ``dd.mm.yyyy HH:MM``; strict so that ISO or US formats fail loudly."""
    match = _LOCAL_TIME.fullmatch(text.strip())
    try:
        if match:
            day, month, year, hour, minute = map(int, match.groups())
            return datetime(year, month, day, hour, minute)
    except ValueError:
        pass
    raise SmardCsvError(path, f"cannot parse date/time {text.strip()!r}, expected dd.mm.yyyy HH:MM", line=line, column=column)


def _parse_number(path: Path, line: int, column: str, cell: str) -> float | None:
    cell = cell.strip()
    if cell in ("", "-"):
        return None
    if not _NUMBER.fullmatch(cell):
        raise SmardCsvError(path, f"cannot parse number {cell!r}, expected German format like 1.469,25 or '-'", line=line, column=column)
    return float(cell.replace(".", "").replace(",", "."))


def _map_columns(path: Path, names: list[str]) -> tuple[dict[int, int], list[str], list[str], str]:
    """Column index -> filter id for the value columns, skipped column names, warnings and the export kind
    (``generation`` or ``consumption``, told by the header's types; the file name only where the header is silent)."""
    types = []
    for name in names:
        match = _COLUMN.fullmatch(name)
        kind = match["type"] if match else None
        if match and match["unit"] != "MWh":
            raise SmardCsvError(
                path, f"values are in {match['unit']!r}, expected 'MWh': not an energy export (use 'Realisierte "
                "Erzeugung' or 'Realisierter Stromverbrauch' from the SMARD download center)", line=1, column=name
            )
        if kind not in _TYPE_TO_FILTER and kind not in _SKIPPED_CONSUMPTION_TYPES:
            known = ", ".join(sorted(_TYPE_TO_FILTER))
            raise SmardCsvError(
                path, f"not a known SMARD type in MWh; known types: {known} (columns look like 'Braunkohle [MWh] ...')", line=1, column=name
            )
        types.append(kind)
    consumption_columns = [name for name, kind in zip(names, types) if kind in _CONSUMPTION_TYPES]
    generation_columns = [name for name, kind in zip(names, types) if kind in _GENERATION_TYPES]
    if consumption_columns and generation_columns:
        raise SmardCsvError(
            path, f"mixes generation columns ({generation_columns[0]!r}) and consumption columns "
            f"({consumption_columns[0]!r}); import the two download-center exports as separate files", line=1
        )
    consumption = bool(consumption_columns) or (not generation_columns and "verbrauch" in path.name.lower())
    mapping, skipped, warnings, seen = {}, [], [], {}
    for offset, (name, kind) in enumerate(zip(names, types)):
        if kind in _SKIPPED_CONSUMPTION_TYPES and (consumption or kind not in _TYPE_TO_FILTER):
            skipped.append(name)
            warnings.append(f"{path}: skipped column {name!r}: {_SKIPPED_CONSUMPTION_TYPES[kind]}")
            continue
        filter_id = _TYPE_TO_FILTER[kind]
        if filter_id in seen:
            raise SmardCsvError(path, f"same series (filter {filter_id}) as column {seen[filter_id]!r}", line=1, column=name)
        seen[filter_id] = name
        mapping[offset] = filter_id
    return mapping, skipped, warnings, "consumption" if consumption else "generation"


def read_smard_csv(path: Path | str) -> ParsedCsv:
    """Parse one SMARD export (either layout) into UTC-keyed series; raises ``SmardCsvError`` on user mistakes."""
    path = Path(path)
    text = _read_text(path)
    if not text.strip():
        raise SmardCsvError(path, "file is empty; expected a SMARD CSV export with a header line")
    reader = csv.reader(io.StringIO(text), delimiter=";")
    try:
        header = [cell.strip() for cell in next(reader)]
        while header and not header[-1]:  # tolerate a trailing ';'
            header.pop()
        if len(header) == 1 and ("," in header[0] or "\t" in header[0]):
            delimiter = "," if "," in header[0] else "tab"
            raise SmardCsvError(path, f"fields are separated by {delimiter!r}; SMARD exports use ';' (re-export the file, do not re-save it)", line=1)
        if tuple(header[:3]) == CLASSIC_HEADER:
            layout, time_columns = "classic", 3
        elif tuple(header[:2]) == CURRENT_HEADER:
            layout, time_columns = "2025", 2
        else:
            raise SmardCsvError(
                path,
                f"not a SMARD export: header starts {';'.join(header[:3])!r}, expected "
                f"{';'.join(CLASSIC_HEADER)!r} or {';'.join(CURRENT_HEADER)!r}",
                line=1,
            )
        value_names = header[time_columns:]
        if not value_names:
            raise SmardCsvError(path, "header has no value columns", line=1)
        mapping, skipped, warnings, export = _map_columns(path, value_names)

        rows: list[tuple[datetime, int, list[float | None]]] = []  # (naive local start, line, values)
        lengths: Counter[timedelta] = Counter()
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < len(header) or any(cell.strip() for cell in row[len(header):]):
                raise SmardCsvError(path, f"has {len(row)} fields, the header has {len(header)}", line=line)
            if layout == "classic":
                start = _parse_local(path, line, "Anfang", f"{row[0]} {row[1]}")
                end = _parse_local(path, line, "Ende", f"{row[0]} {row[2]}")
                lengths[(end - start) % timedelta(days=1)] += 1  # Ende 00:00 is the next day
            else:
                start = _parse_local(path, line, "Datum von", row[0])
                end = _parse_local(path, line, "Datum bis", row[1])
                lengths[end - start] += 1
            values = [_parse_number(path, line, value_names[i], row[time_columns + i]) for i in mapping]
            rows.append((start, line, values))
    except csv.Error as error:
        raise SmardCsvError(path, f"malformed CSV ({error})", line=reader.line_num) from None
    if not rows:
        raise SmardCsvError(path, "has a header but no data rows")

    # The most common clock length decides, so a DST-edge row (e.g. 01:45 -> 03:00) cannot mislead it.
    length = lengths.most_common(1)[0][0]
    if length not in _RESOLUTIONS:
        # Classic exports give clock times only, so a day (or longer) interval shows as 00:00 -> 00:00.
        described = "a day or longer" if not length or length >= timedelta(days=1) else f"{length} long"
        raise SmardCsvError(
            path, f"intervals are {described}; only quarter-hour and hour exports can be imported "
            "(choose 'Viertelstunde' or 'Stunde' as the resolution in the SMARD download center)"
        )
    resolution = _RESOLUTIONS[length]
    step_ms = int(length.total_seconds() * 1000)

    stamped, seen_at, occurrences = [], {}, Counter()
    for start, line, values in rows:
        summer, winter = start.replace(tzinfo=BERLIN), start.replace(tzinfo=BERLIN, fold=1)
        if summer.utcoffset() != winter.utcoffset():
            if summer.astimezone(UTC).astimezone(BERLIN).replace(tzinfo=None) != start:
                raise SmardCsvError(path, f"local time {start:%d.%m.%Y %H:%M} does not exist (skipped by the switch to summer time)", line=line)
            occurrences[start] += 1  # repeated autumn hour: first row is summer time, second winter time
            moment = summer if occurrences[start] == 1 else winter
        else:
            moment = summer
        epoch = to_epoch_ms(moment)
        if epoch in seen_at:
            raise SmardCsvError(path, f"duplicate row for {start:%d.%m.%Y %H:%M} (first on line {seen_at[epoch]})", line=line)
        if epoch % step_ms:
            raise SmardCsvError(path, f"start {start:%H:%M} is not on the {resolution} grid", line=line)
        seen_at[epoch] = line
        stamped.append((epoch, values))
    stamped.sort(key=lambda item: item[0])
    series = {filter_id: [(epoch, values[k]) for epoch, values in stamped] for k, filter_id in enumerate(mapping.values())}
    return ParsedCsv(path, layout, resolution, series, skipped, warnings, stamped[0][0], stamped[-1][0], export,
                     [value_names[i] for i in mapping])


def _week_windows(first_ms: int, last_ms: int) -> Iterable[tuple[int, int]]:
    """(start, end) epoch ms of the Monday-00:00-Berlin weeks overlapping ``first_ms..last_ms``, as the API cuts them."""
    monday = week_start(local_date_of_ms(first_ms))
    while (start := to_epoch_ms(local_midnight(monday))) <= last_ms:
        monday += timedelta(days=7)
        yield start, to_epoch_ms(local_midnight(monday))


def windowed(csv_file: ParsedCsv) -> Iterator[tuple[int, int, list[tuple[int, float | None]]]]:
    """``(filter_id, window_start_ms, points)`` for every weekly API window the file touches.

    A window holds only the slots inside the file's time span (a file starting mid-week yields a partial window,
    like the API's newest window); rows missing inside the span become nulls.
    """
    step_ms = int(RESOLUTION_STEP[csv_file.resolution].total_seconds() * 1000)
    lookups = {filter_id: dict(points) for filter_id, points in csv_file.series.items()}
    for window_start, window_end in _week_windows(csv_file.first_start_ms, csv_file.last_start_ms):
        slots = range(
            max(window_start, csv_file.first_start_ms), min(window_end, csv_file.last_start_ms + step_ms), step_ms
        )
        for filter_id, values in lookups.items():
            yield filter_id, window_start, [(t, values.get(t)) for t in slots]


# --- guards: what a CSV must pass before its values are stored under a region and a kind of export -----------
# Checks a SMARD CSV must pass before its values are stored under a region and a kind of export.
#
# A download-center export does not say which region it is for, so ``--region`` is the user's word; and generation and
# consumption exports share a layout. Both mistakes used to be stored silently: a national file imported as TenneT
# made TenneT's total equal Germany's to the MWh, and load series landed where generation was expected.
#
# Region rule: a control area's series are parts of the national one and differ from every other area's, so a file
# whose values equal another region's already stored values is that region's export. Compared are the intervals where
# both hold a value and at least one is non-zero (zeros, e.g. solar at night or nuclear after April 2023, are equal
# in every region and prove nothing); at least :data:`MIN_COMPARED_VALUES` such pairs, all equal, refuse the import.
# Without another region stored there is nothing to compare with; no plausibility bound replaces it (the bundled
# plant capacities are national, so they cannot tell a control area's export from Germany's).

# One day of hourly values of one series, or a quarter of a day of quarter-hours, across all series of the file.
MIN_COMPARED_VALUES = 24
# Exports give at most two decimals (quarter MWh in practice); float noise stays far below this.
EQUAL_WITHIN_MWH = 0.001


def check_export(csv_file: ParsedCsv, export: str) -> None:
    """Refuse a generation export where consumption is expected, and the other way round."""
    if csv_file.export == export:
        return
    columns = ", ".join(repr(name.split(" [")[0]) for name in csv_file.value_columns[:3])
    raise SmardCsvError(
        csv_file.path,
        f"is a {csv_file.export} export ({EXPORTS[csv_file.export]}: columns {columns}), not a {export} export "
        f"({EXPORTS[export]}); to import it as {csv_file.export}, pass --kind {csv_file.export}",
        line=1,
    )


@dataclass
class _Comparison:
    compared: int = 0
    different: int = 0
    first_ms: int | None = None
    last_ms: int | None = None

    def add(self, start_ms: int, equal: bool) -> None:
        self.compared += 1
        self.different += not equal
        self.first_ms = start_ms if self.first_ms is None else min(self.first_ms, start_ms)
        self.last_ms = start_ms if self.last_ms is None else max(self.last_ms, start_ms)


def check_region_of_values(csv_file: ParsedCsv, region: str, reservoir: Reservoir) -> None:
    """Refuse ``region`` for a file whose values equal another region's stored series (see the module docstring)."""
    comparisons: dict[str, _Comparison] = defaultdict(_Comparison)
    listed: dict[int, list] = {}
    for filter_id, window_start, points in windowed(csv_file):
        if window_start not in listed:
            listed[window_start] = reservoir.list(windows.window_dir(window_start))
        for other, stored in _latest_of_other_regions(listed[window_start], filter_id, csv_file.resolution,
                                                      window_start, region).items():
            comparison = comparisons[other]
            for start_ms, value in points:
                theirs = stored.get(start_ms)
                if value is None or theirs is None or (value == 0 and theirs == 0):
                    continue
                comparison.add(start_ms, abs(value - theirs) <= EQUAL_WITHIN_MWH)
    for other, comparison in sorted(comparisons.items()):
        if comparison.compared >= MIN_COMPARED_VALUES and comparison.different == 0:
            first_day, last_day = local_date_of_ms(comparison.first_ms), local_date_of_ms(comparison.last_ms)
            raise SmardCsvError(
                csv_file.path,
                f"--region {region} refused: its values equal the {other} series already in the reservoir for "
                f"{first_day}..{last_day} ({comparison.compared} values compared, all equal): this file looks like "
                f"the {other} export; import it with --region {other}",
            )


def _latest_of_other_regions(files, filter_id: int, resolution: str, window_start: int, region: str):
    """Per other region, the points of the newest stored version of this window (unreadable versions are skipped:
    bronze's integrity check reports them)."""
    newest = {}
    for file in files:
        meta = file.meta
        if (meta.get("filter_id"), meta.get("resolution"), meta.get("window_start_ms")) != (
                filter_id, resolution, window_start) or meta.get("region") in (None, region):
            continue
        if meta["region"] not in newest or meta.get("fetched_at", "") > newest[meta["region"]].meta.get("fetched_at", ""):
            newest[meta["region"]] = file
    points = {}
    for other, file in newest.items():
        try:
            points[other] = dict(windows.parse_window(file.read_bytes(), file.name))
        except (OSError, windows.SmardFormatError):
            continue
    return points


def import_smard_csv(
    paths: Iterable[Path | str] | Path | str,
    region: str,
    reservoir: Reservoir,
    *,
    export: str = "generation",
    imported_at: datetime | None = None,
) -> ImportSummary:
    """Store every series of every file as weekly windows in the reservoir (see :func:`windowed`).

    ``export`` is the download-center export the files must be (``generation`` or ``consumption``): the other one
    is refused. All files are parsed and checked (kind, region: see :func:`check_export`,
    :func:`check_region_of_values`)
    before anything is written, so one bad file does not leave a half import.
    """
    check_region(region)
    if export not in EXPORTS:
        raise UserInputError(f"unknown SMARD export kind {export!r}; known: {', '.join(EXPORTS)}")
    imported_at = imported_at or datetime.now(UTC)
    if imported_at.tzinfo is None:
        raise ValueError(f"imported_at {imported_at!r} must be timezone-aware")
    if isinstance(paths, (str, Path)):
        paths = [paths]
    parsed = [read_smard_csv(path) for path in paths]
    for csv_file in parsed:
        check_export(csv_file, export)
        check_region_of_values(csv_file, region, reservoir)

    summary = ImportSummary()
    versions: Counter[tuple] = Counter()
    with BatchWriter(reservoir) as batch:  # durable in batches; a write error keeps the batches before it
        for csv_file in parsed:
            url = "file:" + str(csv_file.path.resolve())
            for filter_id, window_start, window_points in windowed(csv_file):
                # Two files of one import touching the same window would get the same reservoir name: later files
                # get a later fetched_at (by microseconds) so both versions are kept and the later one wins.
                key = (filter_id, csv_file.resolution, window_start)
                fetched_at = imported_at + timedelta(microseconds=versions[key])
                versions[key] += 1
                batch.add(
                    windows.window_file(
                        filter_id=filter_id,
                        region=region,
                        resolution=csv_file.resolution,
                        window_start_ms=window_start,
                        payload=windows.build_window(window_points, created=imported_at),
                        url=url,
                        fetched_at=fetched_at,
                        source=SOURCE,
                    )
                )
                summary.windows_written += 1
                non_null = sum(1 for _, v in window_points if v is not None)
                summary.values += non_null
                summary.nulls += len(window_points) - non_null
            summary.files.append(csv_file.path)
            if csv_file.resolution not in summary.resolutions:
                summary.resolutions.append(csv_file.resolution)
            summary.skipped_columns.extend(f"{csv_file.path.name}: {name}" for name in csv_file.skipped_columns)
            summary.warnings.extend(csv_file.warnings)
            first, last = csv_file.first_start, csv_file.last_start
            summary.first_interval_start = min(filter(None, (summary.first_interval_start, first)))
            summary.last_interval_start = max(filter(None, (summary.last_interval_start, last)))
    summary.written = batch.written
    return summary
