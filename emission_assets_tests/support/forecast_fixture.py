"""The recorded SMARD day-ahead forecast fixture: real forecast values (2022-01-01..03, DE, quarter-hourly) as the
chart-data tree SMARD serves (``chart_data/<filter>/DE/index_quarterhour.json`` and weekly window files).

``fixtures/smard_forecast/`` holds the CSV excerpts the values come from (README there: source, licence, what is
and is not real) and the tree built from them by :func:`build_tree`; a test checks the two agree.
"""
from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from emission_assets.smard.replay import full_week, write_tree
from emission_assets.smard_forecast.catalog import SERIES
from emission_assets.timeutil import BERLIN, local_midnight, to_epoch_ms, week_start

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "smard_forecast"
TREE = FIXTURE_DIR / "chart_data"
EXPORTS = (
    FIXTURE_DIR / "Prognostizierte_Erzeugung_Wind_PV_2022-01-01_2022-01-03.csv",
    FIXTURE_DIR / "Prognostizierter_Stromverbrauch_2022-01-01_2022-01-03.csv",
)
FIRST_DAY, LAST_DAY = date(2022, 1, 1), date(2022, 1, 3)
# The series the exports hold: wind offshore, wind onshore, photovoltaics (forecast generation), grid load.
FILTERS = (3791, 123, 125, 411)
# meta_data.created of the built windows: when the fixture was built, not SMARD's stamp (the export has none).
CREATED = datetime(2026, 12, 1, tzinfo=timezone.utc)
BY_GERMAN = {s.german: s.filter_id for s in SERIES if s.filter_id in FILTERS}


def _number(text: str) -> float | None:
    """German number format (``1.493,25``); ``-`` is no value."""
    text = text.strip()
    return None if text in ("", "-") else float(text.replace(".", "").replace(",", "."))


def export_points() -> dict[int, list[tuple[int, float | None]]]:
    """filter id -> [(interval start epoch ms, MWh)] of the CSV excerpts (local times, Europe/Berlin)."""
    points: dict[int, list[tuple[int, float | None]]] = defaultdict(list)
    for path in EXPORTS:
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter=";"))
        columns = [BY_GERMAN[name.split(" [MWh]")[0]] for name in rows[0][2:]]
        for row in rows[1:]:
            start = datetime.strptime(row[0], "%d.%m.%Y %H:%M").replace(tzinfo=BERLIN)
            for filter_id, cell in zip(columns, row[2:]):
                points[filter_id].append((to_epoch_ms(start), _number(cell)))
    return dict(points)


def build_tree(root: Path) -> int:
    """Write the chart-data tree of the excerpts under ``root/chart_data``: for each filter the SMARD week windows
    (Monday 00:00 local) that hold the days, padded with nulls to the whole week; returns the window count."""
    windows = []
    for filter_id, points in export_points().items():
        by_week: dict[int, list] = defaultdict(list)
        for moment, value in points:
            day = datetime.fromtimestamp(moment / 1000, BERLIN).date()
            by_week[to_epoch_ms(local_midnight(week_start(day)))].append((moment, value))
        for start, week_points in sorted(by_week.items()):
            windows.append((filter_id, start, full_week(start, "quarterhour", week_points)))
    return write_tree(root, "DE", "quarterhour", windows, CREATED)


def copy_tree(root: Path) -> Path:
    """The recorded tree under ``root/chart_data`` (what a fake SMARD server serves); returns ``root``."""
    shutil.copytree(TREE, root / "chart_data", dirs_exist_ok=True)
    return root


def window_starts() -> list[int]:
    """Start (epoch ms) of the two week windows the days fall in: 2021-12-27 and 2022-01-03."""
    return sorted({to_epoch_ms(local_midnight(week_start(FIRST_DAY + timedelta(days=i)))) for i in range(3)})


def bronze_rows(spark):
    """The recorded windows as bronze.smard_forecast_responses rows (what the bronze step would ingest, typed)."""
    from emission_assets.smard_forecast.bronze import FILE_ROW_SCHEMA, typed_responses
    from emission_assets.timeutil import from_epoch_ms, local_date_of_ms

    rows = []
    for path in sorted(TREE.rglob("*_DE_quarterhour_*.json")):
        filter_id, _, _, start = path.stem.split("_")
        rows.append((f"smard_forecast/recorded/{path.name}", "recorded", "api", f"recorded://{path.name}", CREATED,
                     CREATED, "recorded", int(filter_id), "DE", "quarterhour", from_epoch_ms(int(start)),
                     path.read_text(), local_date_of_ms(int(start))))
    return typed_responses(spark.createDataFrame(rows, FILE_ROW_SCHEMA))


def write_recorded_silver(lakehouse) -> int:
    """Put the recorded forecasts into ``silver.grid_forecast`` of ``lakehouse`` (emission_assets.lakehouse.session
    .open_lakehouse()) through the product's transform, without Dagster or HTTP; returns the rows written (1,152:
    4 series x 288 quarter-hours). For tests of what reads the table (the forecast model, ``advise``)."""
    from emission_assets.smard_forecast.silver import forecast_from_bronze
    from emission_assets.smard_forecast.tables import SILVER_GRID_FORECAST

    rows = forecast_from_bronze(bronze_rows(lakehouse.spark), FIRST_DAY, LAST_DAY)
    lakehouse.writer.replace_days(SILVER_GRID_FORECAST.name, rows, FIRST_DAY, LAST_DAY)
    return lakehouse.table(SILVER_GRID_FORECAST.name).count()
