"""Rebuild the bundled demo data (emission_assets/data/smard_replay) from SMARD download-center exports.

Source: Bundesnetzagentur | SMARD.de, CC BY 4.0. Usage (from the repository root, with ../shared present):
    .venv/bin/python scripts/build_demo_data.py
"""
from __future__ import annotations

import shutil
from datetime import date, datetime, timezone
from pathlib import Path

from emission_assets.smard.catalog import GENERATION_FILTERS, GRID_LOAD_FILTER
from emission_assets.smard.csv_import import read_smard_csv, windowed
from emission_assets.smard.replay import full_week, write_tree
from emission_assets.timeutil import day_bounds_utc, to_epoch_ms

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "smard"
TARGET = Path(__file__).resolve().parents[1] / "emission_assets" / "data" / "smard_replay"
CREATED = datetime(2025, 9, 8, 6, 0, tzinfo=timezone.utc)

# (export file, first and last local day to keep, filters to keep): the hourly year 2022 (the bundled Tibber
# household's year, with both DST switches) and the quarter-hourly 2025 sample (11 days), each as generation (12
# types) and grid load (410 only, from the consumption export: residual load and pumped storage are not fetched).
SOURCES = [
    ("smard_realisierte_erzeugung_DE_hour_2019-01-01_2023-02-27.csv", date(2022, 1, 1), date(2022, 12, 31),
     GENERATION_FILTERS),
    ("smard_realisierter_stromverbrauch_DE_hour_2017-01-01_2023-12-24.csv", date(2022, 1, 1), date(2022, 12, 31),
     (GRID_LOAD_FILTER,)),
    ("smard_realisierte_erzeugung_DE_quarterhour_2025-08-28_2025-09-07.csv", date(2025, 8, 28), date(2025, 9, 7),
     GENERATION_FILTERS),
    ("smard_realisierter_stromverbrauch_DE_quarterhour_2025-08-28_2025-09-07.csv", date(2025, 8, 28),
     date(2025, 9, 7), (GRID_LOAD_FILTER,)),
]


def main() -> None:
    shutil.rmtree(TARGET / "chart_data", ignore_errors=True)
    for file_name, first, last, filters in SOURCES:
        parsed = read_smard_csv(SHARED / file_name)
        keep_from, keep_to = to_epoch_ms(day_bounds_utc(first)[0]), to_epoch_ms(day_bounds_utc(last)[1])
        parsed.series = {f: [(t, v) for t, v in pts if keep_from <= t < keep_to]
                         for f, pts in parsed.series.items() if f in filters}
        parsed.first_start_ms, parsed.last_start_ms = keep_from, max(t for pts in parsed.series.values() for t, _ in pts)
        windows = [(f, start, full_week(start, parsed.resolution, pts)) for f, start, pts in windowed(parsed)]
        count = write_tree(TARGET, "DE", parsed.resolution, windows, CREATED)
        print(f"{file_name}: {count} windows, {first}..{last}, {parsed.resolution}")


if __name__ == "__main__":
    main()
