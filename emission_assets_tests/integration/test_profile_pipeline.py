"""gold/intensity_profile in the real graph, on the autumn SMARD CSV's days (29-31 Oct 2022, the 25-hour Sunday in
the middle): every cell recomputed in Python from gold.grid_intensity, the check, the heat map in the metadata."""
from __future__ import annotations

import base64
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.settings import paths

BERLIN = ZoneInfo("Europe/Berlin")
PROFILE = AssetKey(["gold", "intensity_profile"])


def python_profile(intervals) -> dict[tuple, tuple]:
    """(day_type, hour, model, basis) -> (time-weighted g/kWh, min, max, count, rank), from interval rows."""
    cells: dict[tuple, list] = defaultdict(list)
    for r in intervals:
        local = r.interval_start.replace(tzinfo=ZoneInfo("UTC")).astimezone(BERLIN)
        day_type = "weekend" if local.weekday() >= 5 else "weekday"
        seconds = (r.interval_end - r.interval_start).total_seconds()
        cells[(day_type, local.hour, r.model, r.basis)].append((r.g_per_kwh, seconds))
    means = {key: (sum(g * s for g, s in values) / sum(s for _, s in values), min(g for g, _ in values),
                   max(g for g, _ in values), len(values)) for key, values in cells.items()}
    ranked = {}
    for key, (mean, *rest) in means.items():
        series = [m[0] for k, m in means.items() if (k[0], k[2], k[3]) == (key[0], key[2], key[3])]
        ranked[key] = (mean, *rest, 1 + sum(other < mean for other in series))
    return ranked


def test_the_profile_of_the_autumn_days_matches_a_python_recomputation(spark, autumn_smard_home, monkeypatch):
    assert autumn_smard_home.imported.exit_code == 0, autumn_smard_home.imported.output
    assert autumn_smard_home.materialized.exit_code == 0, autumn_smard_home.materialized.output
    autumn_smard_home.copy_to_test_home(monkeypatch)
    sql = open_lakehouse().spark.sql

    intervals = sql("SELECT interval_start, interval_end, model, basis, g_per_kwh FROM gold.grid_intensity "
                    "WHERE region = 'DE' AND g_per_kwh IS NOT NULL").collect()
    stored = {(r.day_type, r.hour_local, r.model, r.basis): (r.g_per_kwh, r.min_g_per_kwh, r.max_g_per_kwh,
                                                             r.interval_count, r.cleanest_rank)
              for r in sql("SELECT * FROM gold.intensity_profile WHERE region = 'DE' AND year = 2022 AND month = 10"
                           ).collect()}
    expected = python_profile(intervals)

    assert len(intervals) == (24 + 25 + 24) * 3 * 2  # the CSV's hours x average, merit order, worst emitter x bases
    assert set(stored) == set(expected) and len(stored) == 48 * 3 * 2
    for key, (mean, low, high, count, rank) in expected.items():
        assert stored[key][:4] == (pytest.approx(mean), low, high, count), key
        assert stored[key][4] == rank, key
    # Saturday's and both of Sunday's 02:00 hours in the weekend cell, Monday's in the weekday cell
    assert stored[("weekend", 2, "average", "direct")][3] == 3 and stored[("weekday", 2, "average", "direct")][3] == 1

    with DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(PROFILE)
        evaluations = [e.dagster_event.event_specific_data for e in
                       instance.all_logs(event.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)]
    (check,) = [e for e in evaluations if e.check_name == "every_hour_has_intervals"]
    assert check.passed and check.metadata["days"].value == 3 * 3 * 2
    assert check.metadata["days_covered"].value == "- 2022-10: days 29..31 of 31"
    metadata = event.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 48 * 3 * 2 and metadata["first_month"].value == "2022-10..2022-10"
    png = paths().home / "reports" / "intensity_heatmap_2022-10_2022-10_direct.png"  # copied with the home
    assert metadata["heatmap_png"].value.endswith("/home/reports/intensity_heatmap_2022-10_2022-10_direct.png")
    assert base64.b64decode(metadata["heatmap"].value.split("base64,", 1)[1].rstrip(")")) == png.read_bytes()
    assert "heatmap_lifecycle" in metadata and "| worst_emitter | DE | direct | every hour |" in \
        metadata["cleanest_and_dirtiest_hours"].value
