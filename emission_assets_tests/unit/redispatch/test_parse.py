"""Parsing the redispatch CSV: the synthetic fixture (mixed encoding, DST switch), zones, numbers, bad rows."""
from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from emission_assets.redispatch.parse import (
    COLUMNS,
    RedispatchFormatError,
    decode_text,
    direction_of,
    german_number,
    measure_span_ms,
    parse_redispatch_csv,
    region_of_tso,
    to_utc,
)
from emission_assets.timeutil import UTC, to_epoch_ms
from emission_assets_tests.support.redispatch_fixture import REDISPATCH_CSV as FIXTURE

HEADER = ";".join(COLUMNS)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def csv_bytes(*rows: str, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode(encoding)


def test_synthetic_fixture_parses_completely():
    measures = parse_redispatch_csv(FIXTURE.read_bytes(), FIXTURE.name)
    assert len(measures) == 239
    assert Counter(m.direction for m in measures) == {"curtail": 130, "ramp_up": 109}
    assert {m.instructing_tso for m in measures} | {m.requesting_tso for m in measures} == {
        "50Hertz", "Amprion", "TenneT", "TransnetBW"}
    assert Counter(m.primary_energy for m in measures) == {"renewable": 130, "conventional": 95, "other": 14}
    first = measures[0]  # 25.03.2024 00:00 CET .. 04:45 CET, "erh¿hen", TenneT DE, Börse, Sonstiges
    assert (first.measure_start, first.measure_end) == (utc(2024, 3, 24, 23, 0), utc(2024, 3, 25, 3, 45))
    assert (first.direction, first.instructing_tso, first.affected_plant, first.primary_energy) == (
        "ramp_up", "TenneT", "Börse", "other")
    assert (first.avg_power_mw, first.max_power_mw, first.energy_mwh, first.line) == (40.0, 40.0, 190.0, 2)
    assert measure_span_ms(measures) == (to_epoch_ms(utc(2024, 3, 24, 23)), to_epoch_ms(utc(2024, 4, 3, 1, 30)))


def test_mixed_encoding_defect_is_ramp_up():
    raw = FIXTURE.read_bytes()
    defect_lines = [i + 1 for i, line in enumerate(raw.split(b"\r\n")) if "erh¿hen".encode() in line]
    assert len(defect_lines) == 12
    by_line = {m.line: m for m in parse_redispatch_csv(raw, FIXTURE.name)}
    assert {by_line[line].direction for line in defect_lines} == {"ramp_up"}


def test_lines_in_different_encodings_are_decoded_per_line():
    row = "25.03.2024;10:00;CET;25.03.2024;11:00;CET;Strombedingter Redispatch;Wirkleistungseinspeisung {};1;1;1;" \
          "TenneT DE;TenneT DE;Kraftwerk Köln;Konventionell"
    data = (
        "\ufeff".encode() + csv_bytes(row.format("erhöhen")).rstrip(b"\r\n") + b"\r\n"
        + row.format("erhöhen").encode("cp1252") + b"\r\n"
        + row.format("erhoehen").encode() + b"\r\n"
        + row.format("reduzieren").encode("latin-1") + b"\r\n"
    )
    measures = parse_redispatch_csv(data, "mixed.csv")
    assert [m.direction for m in measures] == ["ramp_up", "ramp_up", "ramp_up", "curtail"]
    assert {m.affected_plant for m in measures} == {"Kraftwerk Köln"}
    assert decode_text("erh¿hen".encode() + b"\n" + "Köln".encode("cp1252")) == "erh¿hen\nKöln"


def test_dst_switch_as_the_file_writes_it():
    measures = {m.line: m for m in parse_redispatch_csv(FIXTURE.read_bytes(), FIXTURE.name)}
    # 30.03.2024 20:00 CET .. 31.03.2024 01:45 CET: before the switch (01:00 UTC)
    assert (measures[163].measure_start, measures[163].measure_end) == (utc(2024, 3, 30, 19), utc(2024, 3, 31, 0, 45))
    # 31.03.2024 03:15 CEST: the first row after the switch; local 02:xx never appears
    assert measures[170].measure_start == utc(2024, 3, 31, 1, 15)
    on_switch_day = [m for m in measures.values() if m.measure_start.date() == datetime(2024, 3, 31).date()]
    assert all(m.measure_start >= utc(2024, 3, 31, 1) for m in on_switch_day)


def test_a_measure_spanning_the_switch_lasts_its_real_duration():
    spanning = csv_bytes(
        "31.03.2024;01:30;CET;31.03.2024;03:30;CEST;Strombedingter Redispatch;Wirkleistungseinspeisung reduzieren;"
        "100;100;100;TenneT DE;TenneT DE;EE Niedersachsen;Erneuerbar",
        # the end written as the instant of the switch in the old zone
        "31.03.2024;00:00;MEZ;31.03.2024;02:00;MEZ;Strombedingter Redispatch;Wirkleistungseinspeisung reduzieren;"
        "100;100;200;TenneT DE;TenneT DE;EE Niedersachsen;Erneuerbar",
        "27.10.2024;02:30;MESZ;27.10.2024;02:30;MEZ;Strombedingter Redispatch;Wirkleistungseinspeisung reduzieren;"
        "100;100;100;50Hertz Transmission;50Hertz;EE Brandenburg;Erneuerbar",
    )
    a, b, c = parse_redispatch_csv(spanning, "dst.csv")
    assert (a.measure_start, a.measure_end) == (utc(2024, 3, 31, 0, 30), utc(2024, 3, 31, 1, 30))  # one hour
    assert (b.measure_start, b.measure_end) == (utc(2024, 3, 30, 23), utc(2024, 3, 31, 1))
    assert (c.measure_start, c.measure_end) == (utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1, 30))  # repeated hour


def test_times_without_zone_follow_berlin_rules():
    assert to_utc("25.03.2024", "10:00", "") == utc(2024, 3, 25, 9)
    assert to_utc("01.07.2024", "24:00", "") == utc(2024, 7, 1, 22)
    with pytest.raises(ValueError, match="does not exist"):
        to_utc("31.03.2024", "02:30", "")
    with pytest.raises(ValueError, match="ambiguous"):
        to_utc("27.10.2024", "02:30", "")
    with pytest.raises(ValueError, match="does not fit"):
        to_utc("15.01.2024", "12:00", "CEST")


def test_numbers_tsos_directions():
    assert german_number("1.234,5") == 1234.5
    assert german_number("-0,25") == -0.25
    assert german_number("") is None
    with pytest.raises(ValueError, match=r"not a German number: '12a'"):
        german_number("12a")
    assert [region_of_tso(n) for n in ("TenneT DE", "TenneT TSO", "50Hertz", "Amprion", "TransnetBW", "Elia")] == [
        "TenneT", "TenneT", "50Hertz", "Amprion", "TransnetBW", None]
    assert direction_of("Wirkleistungseinspeisung erh¿hen") == "ramp_up"
    assert direction_of("Wirkleistungseinspeisung reduzieren") == "curtail"
    assert direction_of("Wirkleistungseinspeisung halten") is None


@pytest.mark.parametrize(
    ("row", "column", "text"),
    [
        (("32.03.2024;10:00;CET;25.03.2024;11:00;CET;R;Wirkleistungseinspeisung reduzieren;1;1;1;TenneT DE;TenneT DE;A;"
          "Erneuerbar"), "BEGINN_UHRZEIT", "day is out of range"),
        (("25.03.2024;10:00;XYZ;25.03.2024;11:00;CET;R;Wirkleistungseinspeisung reduzieren;1;1;1;TenneT DE;TenneT DE;A;"
          "Erneuerbar"), "BEGINN_UHRZEIT", "unknown time zone"),
        (("25.03.2024;10:00;CET;25.03.2024;09:00;CET;R;Wirkleistungseinspeisung reduzieren;1;1;1;TenneT DE;TenneT DE;A;"
          "Erneuerbar"), "ENDE_UHRZEIT", "before it starts"),
        ("25.03.2024;10:00;CET;25.03.2024;11:00;CET;R;Wirkleistung halten;1;1;1;TenneT DE;TenneT DE;A;Erneuerbar",
         "RICHTUNG", "unknown direction"),
        (("25.03.2024;10:00;CET;25.03.2024;11:00;CET;R;Wirkleistungseinspeisung reduzieren;1;1;1;Elia;TenneT DE;A;"
          "Erneuerbar"), "ANWEISENDER_UENB", "unknown TSO"),
        (("25.03.2024;10:00;CET;25.03.2024;11:00;CET;R;Wirkleistungseinspeisung reduzieren;1;1;1;TenneT DE;TenneT DE;A;"
          "Atom"), "PRIMAERENERGIEART", "unknown primary energy"),
        (("25.03.2024;10:00;CET;25.03.2024;11:00;CET;R;Wirkleistungseinspeisung reduzieren;1;x;1;TenneT DE;TenneT DE;A;"
          "Erneuerbar"), "MAXIMALE_LEISTUNG_MW", "not a German number"),
    ],
)
def test_bad_rows_name_file_line_and_column(row, column, text):
    good = "25.03.2024;10:00;CET;25.03.2024;11:00;CET;R;Wirkleistungseinspeisung reduzieren;1;1;1;TenneT DE;" \
           "TenneT DE;A;Erneuerbar"
    with pytest.raises(ValueError, match=text) as caught:
        parse_redispatch_csv(csv_bytes(good, row), "bad.csv")
    assert isinstance(caught.value, RedispatchFormatError)
    assert str(caught.value).startswith(f"bad.csv, line 3, column {column}: ")


def test_not_a_redispatch_file():
    with pytest.raises(ValueError, match="header lacks"):
        parse_redispatch_csv(b"Datum;Anfang;Ende\n01.01.2024;00:00;01:00\n", "smard.csv")
    with pytest.raises(ValueError, match="empty file"):
        parse_redispatch_csv(b"", "empty.csv")
    with pytest.raises(ValueError, match="line 2: 3 fields"):
        parse_redispatch_csv(csv_bytes("a;b;c"), "short.csv")
