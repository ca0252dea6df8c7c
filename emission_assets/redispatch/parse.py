"""Pure parsing of netztransparenz.de redispatch CSV files (API responses and hand downloads alike).

Layout: ``;``-separated, one row per measure, header ``BEGINN_DATUM;BEGINN_UHRZEIT;ZEITZONE_VON;ENDE_DATUM;
ENDE_UHRZEIT;ZEITZONE_BIS;GRUND_DER_MASSNAHME;RICHTUNG;MITTLERE_LEISTUNG_MW;MAXIMALE_LEISTUNG_MW;
GESAMTE_ARBEIT_MWH;ANWEISENDER_UENB;ANFORDERNDER_UENB;BETROFFENE_ANLAGE;PRIMAERENERGIEART``.

Rules:
- Bytes: a UTF-8 BOM is dropped; the text is UTF-8 when it decodes as such, otherwise each line is decoded on its
  own (UTF-8, else cp1252, else latin-1), because real files mix encodings. The direction is matched loosely, so the
  platform's own defect ``erh¿hen`` (and ``erhöhen``, ``erhoehen``, ``erh?hen``, a mis-decoded ``erhÃ¶hen``) means
  ``ramp_up`` and ``reduzieren`` means ``curtail``.
- Times: ``dd.mm.yyyy`` + ``HH:MM`` in local clock time, with the zone column giving the offset (CET/MEZ = +01:00,
  CEST/MESZ = +02:00, UTC/GMT/Z = +00:00). With an explicit zone every wall-clock value names one instant, also
  around the DST switch: on 2024-03-31 the files jump from ``01:45 CET`` to ``03:00 CEST`` (02:xx does not exist
  locally), and a ``02:00 CET`` end is the instant 01:00 UTC. A zone label that does not fit the date (CEST in
  January) is rejected, except within an hour of a DST switch. An empty zone falls back to Europe/Berlin rules;
  then times in the spring gap and the repeated autumn hour are rejected as ambiguous.
- Numbers: German (``1.234,5``); empty power / energy cells become None (energy falls back to mean power x
  duration downstream).
- TSOs map to SMARD's control-area region names: ``TenneT DE``/``TenneT TSO`` -> ``TenneT``, ``50Hertz
  Transmission`` -> ``50Hertz``, ``Amprion``, ``TransnetBW``.
- Primary energy: Konventionell -> conventional, Erneuerbar -> renewable, Sonstiges -> other.

Every unusable row raises :class:`RedispatchFormatError` (a ``ValueError``) naming file, line and column.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from emission_assets.errors import UserInputError
from emission_assets.timeutil import BERLIN, UTC, to_epoch_ms

COLUMNS = (
    "BEGINN_DATUM", "BEGINN_UHRZEIT", "ZEITZONE_VON", "ENDE_DATUM", "ENDE_UHRZEIT", "ZEITZONE_BIS",
    "GRUND_DER_MASSNAHME", "RICHTUNG", "MITTLERE_LEISTUNG_MW", "MAXIMALE_LEISTUNG_MW", "GESAMTE_ARBEIT_MWH",
    "ANWEISENDER_UENB", "ANFORDERNDER_UENB", "BETROFFENE_ANLAGE", "PRIMAERENERGIEART",
)
ZONE_OFFSETS = {
    "CET": timedelta(hours=1), "MEZ": timedelta(hours=1),
    "CEST": timedelta(hours=2), "MESZ": timedelta(hours=2),
    "UTC": timedelta(0), "GMT": timedelta(0), "Z": timedelta(0),
}
TSO_REGIONS = (  # (lower-case prefix of the TSO name, SMARD region)
    ("tennet", "TenneT"),
    ("50hertz", "50Hertz"),
    ("amprion", "Amprion"),
    ("transnetbw", "TransnetBW"),
)
PRIMARY_ENERGY = {
    "konventionell": "conventional", "conventional": "conventional",
    "erneuerbar": "renewable", "renewable": "renewable",
    "sonstiges": "other", "sonstige": "other", "other": "other",
}
DIRECTIONS = ("curtail", "ramp_up")
_RAMP_UP = re.compile(r"erh(?:ö|oe|¿|\?|�|Ã¶|o|.{1,2}?)hen", re.IGNORECASE)
_CURTAIL = re.compile(r"reduzier", re.IGNORECASE)
_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_NUMBER = re.compile(r"-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?")
_BOM = "\ufeff"


class RedispatchFormatError(UserInputError):
    """A file or row that is not a usable redispatch CSV; the message names file, line and column."""

    def __init__(self, source: str, message: str, *, line: int | None = None, column: str | None = None):
        self.source, self.line, self.column = source, line, column
        where = source + (f", line {line}" if line is not None else "") + (f", column {column}" if column else "")
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Measure:
    """One redispatch measure; times are UTC, TSOs are SMARD region names."""

    measure_start: datetime
    measure_end: datetime
    direction: str  # curtail | ramp_up
    reason: str
    avg_power_mw: float | None
    max_power_mw: float | None
    energy_mwh: float | None
    instructing_tso: str
    requesting_tso: str
    affected_plant: str
    primary_energy: str  # conventional | renewable | other
    line: int

    @property
    def key(self) -> tuple:
        return (self.measure_start, self.measure_end, self.direction, self.instructing_tso, self.requesting_tso,
                self.affected_plant)


def _decode_line(raw: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")  # total: every byte is a character


def decode_text(data: bytes | str) -> str:
    """Text of a redispatch file: UTF-8 if the whole file is, else line by line (UTF-8, cp1252, latin-1)."""
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = "".join(_decode_line(raw) for raw in data.splitlines(keepends=True))
    return text[1:] if text.startswith(_BOM) else text


def direction_of(text: str) -> str | None:
    if _CURTAIL.search(text):
        return "curtail"
    if _RAMP_UP.search(text):
        return "ramp_up"
    return None


def region_of_tso(name: str) -> str | None:
    lowered = name.strip().lower().replace(" ", "")
    for prefix, region in TSO_REGIONS:
        if lowered.startswith(prefix):
            return region
    return None


def german_number(text: str) -> float | None:
    text = text.strip()
    if text in ("", "-"):
        return None
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"not a German number: {text!r}")
    return float(text.replace(".", "").replace(",", "."))


def _near_switch(moment: datetime, offset: timedelta) -> bool:
    """True when Berlin used ``offset`` within an hour of ``moment`` (a label on the other side of a DST switch)."""
    return any((moment + shift).astimezone(BERLIN).utcoffset() == offset
               for shift in (timedelta(hours=-1), timedelta(hours=1)))


def to_utc(day: str, clock: str, zone: str) -> datetime:
    """UTC instant of a local ``dd.mm.yyyy`` + ``HH:MM`` with a zone label (see the module docstring)."""
    date_match, time_match = _DATE.fullmatch(day.strip()), _TIME.fullmatch(clock.strip())
    if not date_match:
        raise ValueError(f"not a dd.mm.yyyy date: {day!r}")
    if not time_match:
        raise ValueError(f"not an HH:MM time: {clock!r}")
    d, m, y = (int(g) for g in date_match.groups())
    hour, minute, second = int(time_match.group(1)), int(time_match.group(2)), int(time_match.group(3) or 0)
    extra = timedelta(0)
    if hour == 24 and minute == 0 and second == 0:  # "24:00" = midnight at the end of the day
        hour, extra = 0, timedelta(days=1)
    naive = datetime(y, m, d, hour, minute, second) + extra
    label = zone.strip().upper()
    if label:
        if label not in ZONE_OFFSETS:
            raise ValueError(f"unknown time zone {zone!r}; known: {', '.join(ZONE_OFFSETS)}")
        offset = ZONE_OFFSETS[label]
        moment = naive.replace(tzinfo=timezone(offset)).astimezone(UTC)
        if offset and moment.astimezone(BERLIN).utcoffset() != offset and not _near_switch(moment, offset):
            raise ValueError(f"zone {label} does not fit {day} {clock} (Berlin is on "
                             f"UTC{moment.astimezone(BERLIN).strftime('%z')} then)")
        return moment
    local = naive.replace(tzinfo=BERLIN)
    moment = local.astimezone(UTC)
    if moment.astimezone(BERLIN).replace(tzinfo=None) != naive:
        raise ValueError(f"{day} {clock} does not exist in Europe/Berlin (DST spring gap) and no zone is given")
    if naive.replace(tzinfo=BERLIN, fold=1).utcoffset() != local.utcoffset():
        raise ValueError(f"{day} {clock} is ambiguous in Europe/Berlin (repeated autumn hour) and no zone is given")
    return moment


def parse_redispatch_csv(data: bytes | str, source: str = "<redispatch csv>") -> list[Measure]:
    """Every measure of one file, in file order; raises :class:`RedispatchFormatError` on the first bad row."""
    raw = data if isinstance(data, bytes) else b""
    if raw.startswith(b"PK\x03\x04"):
        raise RedispatchFormatError(source, "is an Excel/ZIP file, not CSV; download the data as CSV")
    if b"\x00" in raw[:65536]:  # text never holds NUL bytes
        raise RedispatchFormatError(
            source, "is a binary (or UTF-16) file, not a redispatch CSV (expected ;-separated UTF-8 text)"
        )
    lines = decode_text(data).splitlines()
    rows = list(csv.reader(lines, delimiter=";"))
    header_index = next((i for i, r in enumerate(rows) if any(cell.strip() for cell in r)), None)
    if header_index is None:
        raise RedispatchFormatError(source, "empty file: no header line")
    header = [cell.strip().strip(_BOM).upper() for cell in rows[header_index]]
    if len(header) == 1 and ("," in header[0] or "\t" in header[0]):
        delimiter = "," if "," in header[0] else "tab"
        raise RedispatchFormatError(source, f"fields are separated by {delimiter!r}; netztransparenz.de files use "
                                    "';' (download the file again, do not re-save it)", line=header_index + 1)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise RedispatchFormatError(source, f"not a redispatch CSV: header lacks {', '.join(missing)} "
                                    f"(found {';'.join(header)[:200]})", line=header_index + 1)
    position = {c: header.index(c) for c in COLUMNS}
    measures = []
    for index in range(header_index + 1, len(rows)):
        row, line = rows[index], index + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise RedispatchFormatError(source, f"{len(row)} fields, the header has {len(header)}", line=line)
        measures.append(_parse_row(row, line, position, source))
    return measures


def _parse_row(row: list[str], line: int, position: dict[str, int], source: str) -> Measure:
    def cell(column: str) -> str:
        return row[position[column]].strip()

    def parsed(column: str, convert):
        try:
            return convert()
        except ValueError as error:
            raise RedispatchFormatError(source, str(error), line=line, column=column) from None

    start = parsed("BEGINN_UHRZEIT", lambda: to_utc(cell("BEGINN_DATUM"), cell("BEGINN_UHRZEIT"),
                                                       cell("ZEITZONE_VON")))
    end = parsed("ENDE_UHRZEIT", lambda: to_utc(cell("ENDE_DATUM"), cell("ENDE_UHRZEIT"), cell("ZEITZONE_BIS")))
    if end <= start:
        raise RedispatchFormatError(source, f"measure ends ({end.isoformat()}) before it starts "
                                    f"({start.isoformat()})", line=line, column="ENDE_UHRZEIT")
    direction = direction_of(cell("RICHTUNG"))
    if direction is None:
        raise RedispatchFormatError(source, f"unknown direction {cell('RICHTUNG')!r} (expected '... reduzieren' "
                                    "or '... erhöhen')", line=line, column="RICHTUNG")
    tsos = {}
    for column in ("ANWEISENDER_UENB", "ANFORDERNDER_UENB"):
        tsos[column] = region_of_tso(cell(column))
        if tsos[column] is None:
            raise RedispatchFormatError(source, f"unknown TSO {cell(column)!r} (expected TenneT, 50Hertz, "
                                        "Amprion or TransnetBW)", line=line, column=column)
    primary = PRIMARY_ENERGY.get(cell("PRIMAERENERGIEART").lower())
    if primary is None:
        raise RedispatchFormatError(source, f"unknown primary energy {cell('PRIMAERENERGIEART')!r} (expected "
                                    "Konventionell, Erneuerbar or Sonstiges)", line=line,
                                    column="PRIMAERENERGIEART")
    numbers = {c: parsed(c, lambda c=c: german_number(cell(c)))
               for c in ("MITTLERE_LEISTUNG_MW", "MAXIMALE_LEISTUNG_MW", "GESAMTE_ARBEIT_MWH")}
    return Measure(
        measure_start=start,
        measure_end=end,
        direction=direction,
        reason=cell("GRUND_DER_MASSNAHME"),
        avg_power_mw=numbers["MITTLERE_LEISTUNG_MW"],
        max_power_mw=numbers["MAXIMALE_LEISTUNG_MW"],
        energy_mwh=numbers["GESAMTE_ARBEIT_MWH"],
        instructing_tso=tsos["ANWEISENDER_UENB"],
        requesting_tso=tsos["ANFORDERNDER_UENB"],
        affected_plant=cell("BETROFFENE_ANLAGE"),
        primary_energy=primary,
        line=line,
    )


def measure_span_ms(measures: list[Measure]) -> tuple[int, int] | None:
    """Epoch-ms start of the first measure and end of the last one (None without measures)."""
    if not measures:
        return None
    return (to_epoch_ms(min(m.measure_start for m in measures)), to_epoch_ms(max(m.measure_end for m in measures)))
