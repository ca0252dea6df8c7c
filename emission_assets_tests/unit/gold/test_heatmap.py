"""The heat map of gold.intensity_profile: the frame it draws (day types merged by interval count, each model's
region, one basis), the PNG, and the files written per basis from the table."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from emission_assets.gold.heatmap import (
    COLUMNS,
    HeatmapPainter,
    draw_heatmaps,
    drawn_fingerprint,
    heatmap_frame,
    heatmap_summary,
    plot_heatmap,
    write_heatmaps,
)
from emission_assets.lakehouse.registry import spec

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REGIONS = {"average": "DE", "merit_order": "DE", "worst_emitter": "DE", "locality": "TenneT"}


def profile_frame(rows) -> pd.DataFrame:
    """rows: (year, month, day_type, hour, region, model, basis, g_per_kwh, interval_count)."""
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_the_frame_merges_day_types_by_interval_count_for_each_model_s_region_and_one_basis():
    rows = profile_frame([
        (2022, 1, "weekday", 13, "DE", "average", "direct", 300.0, 21),
        (2022, 1, "weekend", 13, "DE", "average", "direct", 200.0, 10),
        (2022, 1, "weekday", 13, "DE", "average", "lifecycle", 999.0, 21),  # other basis
        (2022, 1, "weekday", 13, "TenneT", "average", "direct", 1.0, 21),  # average shows the home region
        (2022, 1, "weekday", 13, "TenneT", "locality", "direct", 250.0, 21),
        (2022, 1, "weekday", 13, "DE", "locality", "direct", 2.0, 21),  # locality shows the control area
    ])

    both = heatmap_frame(rows, REGIONS, "direct")
    weekends = heatmap_frame(rows, REGIONS, "direct", ("weekend",))

    by_model = {r.model: (r.g_per_kwh, r.interval_count) for r in both.itertuples()}
    assert by_model["average"] == (pytest.approx((300.0 * 21 + 200.0 * 10) / 31), 31)
    assert by_model == {"average": by_model["average"], "locality": (250.0, 21)}
    assert [(r.model, r.g_per_kwh, r.interval_count) for r in weekends.itertuples()] == [("average", 200.0, 10)]


def test_the_png_has_a_panel_per_model_and_survives_a_constant_model_and_gaps(tmp_path):
    """Four panels (locality of the control area among them), one model constant, one cell missing."""
    rows = [(2022, m, "weekday", h, "DE", model, "direct", g + 10 * abs(h - 13) + m, 20)
            for m in (1, 2, 3) for h in range(24) for model, g in (("average", 300.0), ("merit_order", 800.0))]
    rows += [(2022, m, "weekday", h, "DE", "worst_emitter", "direct", 1040.0, 20) for m in (1, 2, 3) for h in range(24)]
    rows += [(2022, m, "weekend", h, "TenneT", "locality", "direct", 200.0 + h, 8) for m in (1, 2, 3) for h in range(24)]
    rows = [r for r in rows if not (r[1] == 2 and r[3] == 5)]  # a missing cell: drawn blank, not as zero
    frame = heatmap_frame(profile_frame(rows), REGIONS, "direct")

    path = plot_heatmap(frame, tmp_path / "deep" / "heat.png", basis="direct", regions=REGIONS)

    assert set(frame["model"]) == {"average", "merit_order", "worst_emitter", "locality"}
    assert path == tmp_path / "deep" / "heat.png" and path.read_bytes()[:8] == PNG_SIGNATURE
    from matplotlib.image import imread

    height, width = imread(path).shape[:2]
    assert width == 1520 and height > 400  # two panels side by side at 100 dpi; two rows of panels


def _labels(ticks) -> list[str]:
    return [t.get_text() for t in ticks]


@pytest.mark.parametrize("models", [("average", "merit_order", "worst_emitter", "locality"),
                                    ("average", "merit_order", "worst_emitter")])
def test_the_hours_are_labelled_under_each_column_and_the_months_left_of_each_row(models):
    """The panels share their axes: hours under the lowest panel of a column (also above the note of a missing
    model), months left of each row's first panel; the panels above and to the right carry no ticks."""
    rows = [(2022, m, "weekday", h, REGIONS[model], model, "direct", 100.0 + h + m, 4)
            for m in (1, 2) for h in range(24) for model in models]
    figure = HeatmapPainter().figure(heatmap_frame(profile_frame(rows), REGIONS, "direct"), basis="direct",
                                    regions=REGIONS)

    panels = {a.get_title().split(" (")[0]: a for a in figure.axes if a.get_title()}
    hours, months = [str(h) for h in range(24)], ["Jan 2022", "Feb 2022"]
    assert _labels(panels["average"].get_xticklabels()) == [] and panels["average"].get_xlabel() == ""
    assert _labels(panels["average"].get_yticklabels()) == months
    assert _labels(panels["worst emitter"].get_xticklabels()) == hours
    assert _labels(panels["worst emitter"].get_yticklabels()) == months
    assert _labels(panels["merit order"].get_yticklabels()) == []
    # merit order is above locality when locality is drawn, else it is the lowest panel of its column
    assert _labels(panels["merit order"].get_xticklabels()) == ([] if "locality" in models else hours)
    if "locality" in models:
        assert _labels(panels["locality"].get_xticklabels()) == hours
        assert _labels(panels["locality"].get_yticklabels()) == []


def _basis_rows(basis: str, months=(1, 2, 3), shift: float = 0.0, worst: float = 1040.0):
    """A profile with four models (worst emitter constant) whose values depend on the basis."""
    lift = 60.0 if basis == "lifecycle" else 0.0
    rows = [(2022, m, day_type, h, "DE", model, basis, g + lift + shift + 7 * abs(h - 13 - m) + m, n)
            for m in months for h in range(24) for day_type, n in (("weekday", 20), ("weekend", 8))
            for model, g in (("average", 300.0), ("merit_order", 800.0))]
    rows += [(2022, m, "weekday", h, "DE", "worst_emitter", basis, worst + lift, 20) for m in months for h in range(24)]
    rows += [(2022, m, "weekend", h, "TenneT", "locality", basis, 200.0 + lift + 3 * h, 8) for m in months
             for h in range(24)]
    return heatmap_frame(profile_frame(rows), REGIONS, basis)


def test_a_reused_figure_draws_the_same_png_as_a_new_one(tmp_path):
    """The painter keeps its figure for the next frame of the same layout (the second basis) and builds a new one
    when the layout changes (other months, a model that becomes constant): every PNG is byte for byte the one a
    new figure gives."""
    frames = [("direct", _basis_rows("direct")), ("lifecycle", _basis_rows("lifecycle")),
              ("direct", _basis_rows("direct", shift=5.0)),  # same layout again, other values
              ("direct", _basis_rows("direct", months=(1, 2))),  # fewer months: a new figure
              ("lifecycle", _basis_rows("lifecycle", months=(1, 2)).query("model != 'merit_order'"))]
    painter = HeatmapPainter()
    for index, (basis, frame) in enumerate(frames):
        reused = plot_heatmap(frame, tmp_path / f"reused_{index}.png", basis=basis, regions=REGIONS, reuse=painter)
        new = plot_heatmap(frame, tmp_path / f"new_{index}.png", basis=basis, regions=REGIONS)
        assert reused.read_bytes() == new.read_bytes(), f"frame {index} ({basis})"
    assert len({(tmp_path / f"new_{index}.png").read_bytes() for index in range(len(frames))}) == len(frames)


def test_a_heat_map_showing_the_same_is_not_drawn_again_and_a_changed_value_redraws_only_its_basis(tmp_path):
    import numpy as np
    from PIL import Image

    rows = profile_frame([(2022, m, "weekday", h, "DE", "average", basis, 300.0 + h + m + (60 if basis == "lifecycle" else 0),
                           20) for m in (1, 2) for h in range(24) for basis in ("direct", "lifecycle")])
    first = draw_heatmaps(rows, tmp_path)
    files = {p.name: (p.stat().st_ino, p.read_bytes()) for p in first}

    assert draw_heatmaps(rows, tmp_path) == first
    assert {p.name: (p.stat().st_ino, p.read_bytes()) for p in first} == files  # not written again

    changed = rows.copy()
    changed.loc[(changed["basis"] == "lifecycle") & (changed["hour_local"] == 3), "g_per_kwh"] += 1.0
    again = draw_heatmaps(changed, tmp_path)

    direct, lifecycle = again
    assert direct.stat().st_ino == files[direct.name][0]  # its basis did not change
    assert lifecycle.stat().st_ino != files[lifecycle.name][0] and lifecycle.read_bytes() != files[lifecycle.name][1]
    assert drawn_fingerprint(lifecycle) and drawn_fingerprint(lifecycle) != drawn_fingerprint(direct)
    # the fingerprint is a text chunk: the picture is the one plot_heatmap draws without it
    plain = plot_heatmap(heatmap_frame(changed, REGIONS, "lifecycle"), tmp_path / "plain" / "p.png", basis="lifecycle",
                         regions=REGIONS)
    assert np.array_equal(np.asarray(Image.open(plain)), np.asarray(Image.open(lifecycle)))
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == sorted(files)  # no partial file left


def test_write_heatmaps_writes_one_png_per_basis_of_the_table_and_nothing_without_rows(spark, registry, writer,
                                                                                        tmp_path):
    assert write_heatmaps(spark, registry, tmp_path) == []
    rows = [("weekday", h, "DE", "average", basis, 300.0 + h, 300.0, 300.0, 20, h + 1, 2022, month)
            for h in range(24) for basis in ("direct", "lifecycle") for month in (3, 4)]
    writer.replace_months("gold.intensity_profile", spark.createDataFrame(rows, spec("gold.intensity_profile").ddl),
                          [(2022, 3), (2022, 4)])

    written = write_heatmaps(spark, registry, tmp_path)
    only_march = write_heatmaps(spark, registry, tmp_path / "march", [(2022, 3)])

    assert [p.name for p in written] == ["intensity_heatmap_2022-03_2022-04_direct.png",
                                         "intensity_heatmap_2022-03_2022-04_lifecycle.png"]
    assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in written)
    assert [p.name for p in only_march] == ["intensity_heatmap_2022-03_2022-03_direct.png",
                                            "intensity_heatmap_2022-03_2022-03_lifecycle.png"]


def test_the_demo_summary_names_the_hours_the_missing_models_and_the_files(spark, tmp_path):
    from emission_assets.lakehouse.session import open_lakehouse

    lakehouse = open_lakehouse()
    empty = heatmap_summary(date(2022, 1, 1), date(2022, 12, 31), tmp_path)
    assert "no heat map: gold.intensity_profile has no rows for 2022-01-01..2022-12-31" in empty
    rows = [("weekday", h, "DE", "average", "direct", 300.0 + abs(h - 12), 300.0, 300.0, 20, 1, 2022, 6)
            for h in range(24)]
    lakehouse.writer.replace_months("gold.intensity_profile",
                                    spark.createDataFrame(rows, spec("gold.intensity_profile").ddl), [(2022, 6)])

    text = heatmap_summary(date(2022, 1, 1), date(2022, 12, 31), tmp_path)

    assert "| average | DE       | 12h             |     300 | 00h             |     312 |" in text
    assert "no data for: merit_order (DE), worst_emitter (DE), locality (TenneT)" in text
    assert text.endswith(f"{tmp_path / 'intensity_heatmap_2022-06_2022-06_direct.png'}")
