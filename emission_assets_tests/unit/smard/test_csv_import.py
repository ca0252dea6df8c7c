"""SMARD CSV import against real export excerpts: layouts, DST days, reservoir windows and user-mistake errors."""
from __future__ import annotations

import gzip
import json
from datetime import date, datetime
from pathlib import Path

import pytest

from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.smard import windows
from emission_assets.smard.catalog import GENERATION_FILTERS
from emission_assets.smard.csv_import import SmardCsvError, import_smard_csv, read_smard_csv
from emission_assets.timeutil import BERLIN, UTC, day_bounds_utc, local_midnight, to_epoch_ms
from emission_assets_tests.support.paths import FIXTURES, PACKAGE

FIXTURES = FIXTURES / "smard"
AUTUMN = FIXTURES / "smard_realisierte_erzeugung_DE_hour_2022-10-29_2022-10-31.csv"
SPRING = FIXTURES / "smard_realisierte_erzeugung_DE_hour_2022-03-26_2022-03-28.csv"
QUARTER = FIXTURES / "smard_realisierte_erzeugung_DE_quarterhour_2025-08-28_2025-08-29.csv"
CONSUMPTION = FIXTURES / "smard_realisierter_stromverbrauch_DE_hour_2023-12-23_2023-12-24.csv"
CONSUMPTION_QUARTER = FIXTURES / "smard_realisierter_stromverbrauch_DE_quarterhour_2025-08-28_2025-08-28.csv"
YEAR_2022 = FIXTURES / "smard_realisierte_erzeugung_DE_hour_2022-01-01_2022-12-31.csv.gz"
REPLAY = PACKAGE / "data" / "smard_replay" / "chart_data"
IMPORTED_AT = datetime(2025, 9, 10, 12, 0, tzinfo=UTC)
CLASSIC_HEADER = "Datum;Anfang;Ende;Braunkohle [MWh] Berechnete Auflösungen;Erdgas [MWh] Berechnete Auflösungen"

LIGNITE, GAS, BIOMASS, WIND_ONSHORE, PV, NUCLEAR = 1223, 4071, 4066, 4067, 4068, 1224


def utc_ms(*args: int) -> int:
    return to_epoch_ms(datetime(*args, tzinfo=UTC))


def local_day_points(points: list[tuple[int, float | None]], day: date) -> list[tuple[int, float | None]]:
    start, end = (to_epoch_ms(t) for t in day_bounds_utc(day))
    return [p for p in points if start <= p[0] < end]


def write_csv(tmp_path: Path, *lines: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- parsing -----------------------------------------------------------------------------------------------------


def test_parse_classic_hourly_layout():
    parsed = read_smard_csv(AUTUMN)
    assert (parsed.layout, parsed.resolution) == ("classic", "hour")
    assert sorted(parsed.series) == sorted(GENERATION_FILTERS)
    assert parsed.skipped_columns == [] and parsed.warnings == []
    # First data row: 29.10.2022;00:00;01:00;4.452,25;... (CEST, so 22:00Z the day before).
    assert parsed.first_start == datetime(2022, 10, 28, 22, tzinfo=UTC)
    assert parsed.series[BIOMASS][0] == (utc_ms(2022, 10, 28, 22), 4452.25)
    assert parsed.series[LIGNITE][0] == (utc_ms(2022, 10, 28, 22), 11579.25)
    # Last row 31.10.2022;23:00;00:00 (CET); Ende 00:00 is the next day.
    assert parsed.last_start == datetime(2022, 10, 31, 22, tzinfo=UTC)
    assert all(len(points) == 24 + 25 + 24 for points in parsed.series.values())


def test_parse_2025_quarterhour_layout():
    parsed = read_smard_csv(QUARTER)
    assert (parsed.layout, parsed.resolution) == ("2025", "quarterhour")
    assert sorted(parsed.series) == sorted(GENERATION_FILTERS)
    first = utc_ms(2025, 8, 27, 22)
    assert parsed.series[WIND_ONSHORE][0] == (first, 1469.0)  # "1.469,00"
    assert parsed.series[WIND_ONSHORE][1] == (first + 15 * 60_000, 1439.75)  # "1.439,75"
    assert parsed.series[PV][38] == (utc_ms(2025, 8, 28, 7, 30), 2911.25)  # 28.08.2025 09:30 -> "2.911,25"
    assert all(v is None for _, v in parsed.series[NUCLEAR])  # nuclear column is "-" throughout
    assert all(len(points) == 2 * 96 for points in parsed.series.values())


def test_german_numbers_and_dash(tmp_path):
    path = write_csv(
        tmp_path,
        CLASSIC_HEADER,
        "02.01.2023;00:00;01:00;1.469,25;-",
        "02.01.2023;01:00;02:00;-226,75;",
        "02.01.2023;02:00;03:00;12.345.678;0",
    )
    parsed = read_smard_csv(path)
    assert [v for _, v in parsed.series[LIGNITE]] == [1469.25, -226.75, 12345678.0]
    assert [v for _, v in parsed.series[GAS]] == [None, None, 0.0]


def test_autumn_dst_day_has_25_hours_and_repeated_hour_by_occurrence():
    parsed = read_smard_csv(AUTUMN)
    day = local_day_points(parsed.series[BIOMASS], date(2022, 10, 30))
    starts = [t for t, _ in day]
    assert len(set(starts)) == 25 and starts == sorted(starts)
    assert starts == [to_epoch_ms(day_bounds_utc(date(2022, 10, 30))[0]) + h * 3_600_000 for h in range(25)]
    # The fixture's two "30.10.2022;02:00;03:00" rows: first is CEST (00:00Z), second CET (01:00Z).
    text = AUTUMN.read_text(encoding="utf-8-sig")
    assert "30.10.2022;02:00;03:00;4.441,25;" in text and "30.10.2022;02:00;03:00;4.428,75;" in text
    values = dict(day)
    assert values[utc_ms(2022, 10, 30, 0)] == 4441.25
    assert values[utc_ms(2022, 10, 30, 1)] == 4428.75


def test_spring_dst_day_has_23_hours():
    parsed = read_smard_csv(SPRING)
    day = local_day_points(parsed.series[LIGNITE], date(2022, 3, 27))
    assert len({t for t, _ in day}) == 23
    values = dict(day)
    assert values[utc_ms(2022, 3, 27, 0)] == 14338.0  # 01:00 CET
    assert values[utc_ms(2022, 3, 27, 1)] == 14337.0  # 03:00 CEST follows directly


def test_nonexistent_spring_time_is_rejected(tmp_path):
    path = write_csv(tmp_path, CLASSIC_HEADER, "27.03.2022;01:00;02:00;1;2", "27.03.2022;02:00;03:00;1;2")
    with pytest.raises(SmardCsvError, match=r"line 3: local time 27\.03\.2022 02:00 does not exist"):
        read_smard_csv(path)


def test_duplicate_row_is_rejected(tmp_path):
    path = write_csv(tmp_path, CLASSIC_HEADER, "02.01.2023;00:00;01:00;1;2", "02.01.2023;00:00;01:00;1;2")
    with pytest.raises(SmardCsvError, match=r"line 3: duplicate row .*first on line 2"):
        read_smard_csv(path)


# --- import into the reservoir ----------------------------------------------------------------------------------


def test_import_writes_api_shaped_weekly_windows(tmp_path):
    reservoir = Reservoir(tmp_path / "reservoir")
    summary = import_smard_csv([AUTUMN], "DE", reservoir, imported_at=IMPORTED_AT)

    # Sat 29.10 - Mon 31.10.2022 touches the weeks starting Mon 24.10 and Mon 31.10.
    mondays = [date(2022, 10, 24), date(2022, 10, 31)]
    assert summary.windows_written == 2 * 12 == len(summary.written)
    assert summary.values == 73 * 12 and summary.nulls == 0
    assert summary.resolutions == ["hour"] and summary.files == [AUTUMN]
    assert summary.first_interval_start == datetime(2022, 10, 28, 22, tzinfo=UTC)
    assert summary.last_interval_start == datetime(2022, 10, 31, 22, tzinfo=UTC)

    stored = {}
    for monday in mondays:
        window_start = to_epoch_ms(local_midnight(monday))
        for file in reservoir.list(windows.window_dir(window_start)):
            meta = file.meta
            assert meta["source"] == "csv-import"
            assert meta["url"] == "file:" + str(AUTUMN.resolve())
            assert meta["fetched_at"] == IMPORTED_AT.isoformat()
            assert meta["region"] == "DE" and meta["resolution"] == "hour"
            assert meta["window_start_ms"] == window_start
            start = datetime.fromtimestamp(meta["window_start_ms"] / 1000, BERLIN)
            assert (start.weekday(), start.hour, start.minute) == (0, 0, 0)
            stored[(meta["filter_id"], monday)] = windows.parse_window(file.read_bytes(), file.name)
    assert len(stored) == 24

    # Partial first window: only the file's slots (Sat 00:00 .. Sun 23:00 local = 24 + 25 hours), no invented nulls.
    first = stored[(BIOMASS, mondays[0])]
    assert len(first) == 49 and first[0] == (utc_ms(2022, 10, 28, 22), 4452.25)
    assert [b - a for (a, _), (b, _) in zip(first, first[1:])] == [3_600_000] * 48
    second = stored[(BIOMASS, mondays[1])]
    assert len(second) == 24 and second[0][0] == to_epoch_ms(local_midnight(mondays[1]))
    # Spot checks against fixture cells: the repeated 02:00 hour and the last row (Sonstige Konventionelle 1.071,25).
    assert dict(first)[utc_ms(2022, 10, 30, 1)] == 4428.75
    assert dict(stored[(1227, mondays[1])])[utc_ms(2022, 10, 31, 22)] == 1071.25
    assert dict(stored[(LIGNITE, mondays[0])])[utc_ms(2022, 10, 30, 0)] == 11279.25


def test_import_quarterhour_counts_nulls(tmp_path):
    reservoir = Reservoir(tmp_path)
    summary = import_smard_csv(QUARTER, "50Hertz", reservoir, imported_at=IMPORTED_AT)
    assert summary.windows_written == 12 and summary.resolutions == ["quarterhour"]
    assert summary.nulls == 192  # nuclear "-" in every row
    assert summary.values == 11 * 192
    nuclear = next(f for f in summary.written if f.meta["filter_id"] == NUCLEAR)
    assert nuclear.meta["window_start_ms"] == to_epoch_ms(local_midnight(date(2025, 8, 25)))
    assert nuclear.meta["points"] == 192 and nuclear.meta["non_null_points"] == 0
    assert nuclear.meta["region"] == "50Hertz"


def test_consumption_file_imports_load_series_and_skips_pumped_storage(tmp_path):
    reservoir = Reservoir(tmp_path)
    summary = import_smard_csv([CONSUMPTION, CONSUMPTION_QUARTER], "DE", reservoir, export="consumption",
                               imported_at=IMPORTED_AT)
    assert {f.meta["filter_id"] for f in summary.written} == {410, 4359}
    assert summary.resolutions == ["hour", "quarterhour"]
    assert summary.skipped_columns == [
        f"{CONSUMPTION.name}: Pumpspeicher [MWh] Berechnete Auflösungen",
        f"{CONSUMPTION_QUARTER.name}: Netzlast inkl. Pumpspeicher [MWh] Originalauflösungen",
        f"{CONSUMPTION_QUARTER.name}: Pumpspeicher [MWh] Originalauflösungen",
    ]
    assert len(summary.warnings) == 3 and "4387" in summary.warnings[0]

    hourly = {f.meta["filter_id"]: f for f in summary.written if f.meta["resolution"] == "hour"}
    load = dict(windows.parse_window(hourly[410].read_bytes(), "load"))
    residual = dict(windows.parse_window(hourly[4359].read_bytes(), "residual"))
    assert len(load) == 48
    # 23.12.2023;00:00;01:00;45.769,75;-604,5;... and 23.12.2023;21:00;22:00;48.560;-;...
    assert load[utc_ms(2023, 12, 22, 23)] == 45769.75 and residual[utc_ms(2023, 12, 22, 23)] == -604.5
    assert load[utc_ms(2023, 12, 23, 20)] == 48560.0 and residual[utc_ms(2023, 12, 23, 20)] is None
    assert load[utc_ms(2023, 12, 24, 22)] is None  # trailing "-" rows are kept as nulls inside the file's span


def test_pumpspeicher_in_generation_file_is_generation():
    assert 4070 in read_smard_csv(AUTUMN).series


def test_same_window_twice_in_one_import_keeps_both_versions(tmp_path):
    reservoir = Reservoir(tmp_path)
    summary = import_smard_csv([SPRING, SPRING], "DE", reservoir, imported_at=IMPORTED_AT)
    assert summary.windows_written == 2 * 2 * 12
    lignite = [f for f in summary.written if f.meta["filter_id"] == LIGNITE]
    assert len({f.name for f in lignite}) == 4
    assert max(f.meta["fetched_at"] for f in lignite) > IMPORTED_AT.isoformat()


# --- user mistakes ----------------------------------------------------------------------------------------------


def test_not_a_smard_export(tmp_path):
    path = write_csv(tmp_path, "time;value", "2023-01-02T00:00;1,5", name="other.csv")
    with pytest.raises(SmardCsvError, match=r"other\.csv, line 1: not a SMARD export") as error:
        read_smard_csv(path)
    assert error.value.line == 1 and error.value.path == path


def test_unknown_type_column_lists_known_names(tmp_path):
    path = write_csv(tmp_path, "Datum;Anfang;Ende;Kohlestaub [MWh] Berechnete Auflösungen", "02.01.2023;00:00;01:00;1")
    with pytest.raises(SmardCsvError, match=r"column 'Kohlestaub \[MWh\] Berechnete Auflösungen'.*Braunkohle.*Wind Onshore"):
        read_smard_csv(path)


def test_bad_number_names_file_line_and_column(tmp_path):
    path = write_csv(tmp_path, CLASSIC_HEADER, "02.01.2023;00:00;01:00;1.469,25;2", "02.01.2023;01:00;02:00;1,469.25;2")
    with pytest.raises(SmardCsvError, match="'1,469.25'") as error:
        read_smard_csv(path)
    assert (error.value.line, error.value.column) == (3, "Braunkohle [MWh] Berechnete Auflösungen")
    assert str(path) in str(error.value) and "'1,469.25'" in str(error.value)


def test_bad_date(tmp_path):
    path = write_csv(tmp_path, CLASSIC_HEADER, "2023-01-02;00:00;01:00;1;2")
    with pytest.raises(SmardCsvError, match=r"line 2, column 'Anfang': cannot parse date/time '2023-01-02 00:00'"):
        read_smard_csv(path)


def test_wrong_delimiter(tmp_path):
    path = write_csv(tmp_path, CLASSIC_HEADER.replace(";", ","), "02.01.2023,00:00,01:00,1,2")
    with pytest.raises(SmardCsvError, match=r"separated by ','"):
        read_smard_csv(path)


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(SmardCsvError, match=r"empty\.csv: file is empty"):
        read_smard_csv(empty)
    with pytest.raises(SmardCsvError, match=r"no data rows"):
        read_smard_csv(write_csv(tmp_path, CLASSIC_HEADER))


def test_unsupported_interval_length(tmp_path):
    path = write_csv(tmp_path, CLASSIC_HEADER, "02.01.2023;00:00;00:30;1;2")
    with pytest.raises(SmardCsvError, match=r"0:30:00 long"):
        read_smard_csv(path)


def test_unknown_region_and_bad_file_write_nothing(tmp_path):
    reservoir = Reservoir(tmp_path / "reservoir")
    with pytest.raises(ValueError, match=r"unknown SMARD region 'Bayern'"):
        import_smard_csv([AUTUMN], "Bayern", reservoir, imported_at=IMPORTED_AT)
    bad = write_csv(tmp_path, CLASSIC_HEADER, "02.01.2023;00:00;01:00;x;2")
    with pytest.raises(SmardCsvError, match=r"export\.csv, line 2, column 'Braunkohle .*': cannot parse number 'x'"):
        import_smard_csv([AUTUMN, bad], "DE", reservoir, imported_at=IMPORTED_AT)
    assert not (tmp_path / "reservoir").exists()  # all files are parsed before anything is written


# --- a whole real year -------------------------------------------------------------------------------------------


def test_a_whole_real_year_has_every_hour_once_and_matches_the_bundled_replay(tmp_path):
    """The real 2022 excerpt (gzipped to keep the repository small; parse time is measured in benchmarks/)."""
    path = tmp_path / YEAR_2022.name.removesuffix(".gz")
    path.write_bytes(gzip.decompress(YEAR_2022.read_bytes()))
    parsed = read_smard_csv(path)
    assert parsed.layout == "classic" and parsed.resolution == "hour" and parsed.warnings == []
    assert sorted(parsed.series) == sorted(GENERATION_FILTERS)
    start, end = to_epoch_ms(local_midnight(date(2022, 1, 1))), to_epoch_ms(local_midnight(date(2023, 1, 1)))
    assert (parsed.first_start_ms, parsed.last_start_ms) == (start, end - 3_600_000)
    for points in parsed.series.values():
        assert [t for t, _ in points] == list(range(start, end, 3_600_000))  # 8,760 hours, each once, in order
    # the DST days: 23 and 25 local hours
    assert len(local_day_points(parsed.series[LIGNITE], date(2022, 3, 27))) == 23
    assert len(local_day_points(parsed.series[LIGNITE], date(2022, 10, 30))) == 25
    # the bundled demo replay was converted from the same export: every value agrees
    for filter_id, points in parsed.series.items():
        replay = {}
        for window in sorted((REPLAY / str(filter_id) / "DE").glob(f"{filter_id}_DE_hour_*.json")):
            replay.update((t, v) for t, v in json.loads(window.read_bytes())["series"] if start <= t < end)
        assert replay == dict(points), f"filter {filter_id}: the CSV and the replay differ"
    lignite = dict(parsed.series[LIGNITE])  # values read off the file by eye: "3.562", and the doubled 02:00 row
    assert lignite[utc_ms(2021, 12, 31, 23)] == 3562.0
    assert (lignite[utc_ms(2022, 10, 30, 0)], lignite[utc_ms(2022, 10, 30, 1)]) == (11279.25, 11087.5)
