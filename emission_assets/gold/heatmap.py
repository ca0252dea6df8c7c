"""The heat map of gold.intensity_profile: local month (rows) x hour of day (columns), one panel per model, one PNG
per basis; the home region's models and the locality model in the control area.

The panels' colours are the cell's mean g/kWh over the day types shown (weighted by interval count, which is the
time weight where a month has one resolution), each panel with its own colour bar (the models lie hundreds of g/kWh
apart: a shared scale would flatten the daily pattern that is the point); a box marks each month's cleanest hour.
A model without rows is named in the footer, not drawn as an empty (zero-looking) panel.
"""
from __future__ import annotations

import os
import uuid
from datetime import date
from pathlib import Path

import pandas as pd

from emission_assets.gold.profile import DAY_TYPES, PROFILE
from emission_assets.lakehouse.registry import Registry
from emission_assets.lakehouse.writer import month_predicate

MODELS = ("average", "merit_order", "worst_emitter", "locality")
BASES = ("direct", "lifecycle")
ATTRIBUTION = "Data: Bundesnetzagentur | SMARD.de (CC BY 4.0)"
COLUMNS = ("year", "month", "day_type", "hour_local", "region", "model", "basis", "g_per_kwh", "interval_count")
FINGERPRINT_KEY = "emission-assets-heatmap-fingerprint"  # the PNG text chunk naming what the picture shows
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def heatmap_regions() -> dict[str, str]:
    """model -> the region its panel shows: the home region, the control area for locality (the settings)."""
    from emission_assets.gold.aggregates import control_area, home_region

    home, area = home_region(), control_area()
    return {model: area if model == "locality" else home for model in MODELS}


def heatmap_frame(rows: pd.DataFrame, regions: dict[str, str], basis: str,
                  day_types: tuple[str, ...] = DAY_TYPES) -> pd.DataFrame:
    """Profile rows (:data:`COLUMNS`) -> one row per year, month, model and hour_local: ``g_per_kwh`` the mean over
    ``day_types`` weighted by interval count, ``interval_count`` their sum; only each model's region and ``basis``."""
    wanted = rows[(rows["basis"] == basis) & rows["day_type"].isin(day_types)
                  & (rows["region"] == rows["model"].map(regions))].copy()
    wanted["g_x_n"] = wanted["g_per_kwh"].astype(float) * wanted["interval_count"].astype(float)
    frame = wanted.groupby(["year", "month", "model", "hour_local"], as_index=False)[["g_x_n", "interval_count"]].sum()
    frame["g_per_kwh"] = frame["g_x_n"] / frame["interval_count"]
    return frame.drop(columns="g_x_n").astype({"year": int, "month": int, "hour_local": int, "interval_count": int})


def _day_types_text(day_types: tuple[str, ...]) -> str:
    return " and ".join(f"{t}s" for t in day_types) + (" (public holidays count as weekdays)"
                                                        if "weekday" in day_types else "")


def plot_heatmap(frame: pd.DataFrame, path: Path | str, *, basis: str, regions: dict[str, str],
                 day_types: tuple[str, ...] = DAY_TYPES, reuse: HeatmapPainter | None = None,
                 fingerprint: str | None = None) -> Path:
    """A PNG of :func:`heatmap_frame`'s frame: one panel per model with rows (month x hour of day), its colour bar
    in g CO2(eq)/kWh and a box on each month's cleanest hour; the hours are labelled under each column, the months
    left of each row. ``reuse``: a painter whose figure the PNG may be drawn on (see :class:`HeatmapPainter`);
    ``fingerprint``: what it was drawn from (:func:`drawing_fingerprint`), kept in the PNG's text chunk. The file is
    replaced atomically: a PNG cut short by a crash is never left under its name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = (reuse or HeatmapPainter()).figure(frame, basis=basis, regions=regions, day_types=day_types)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        figure.savefig(partial, format="png", metadata={FINGERPRINT_KEY: fingerprint} if fingerprint else None)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def drawing_fingerprint(frame: pd.DataFrame, *, basis: str, regions: dict[str, str],
                        day_types: tuple[str, ...] = DAY_TYPES) -> str:
    """A hash of everything a heat map shows (the frame's values, basis, regions, day types) and of what draws it
    (this module's code, matplotlib's version): the same fingerprint, the same picture."""
    import hashlib

    import matplotlib

    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(repr((basis, sorted(regions.items()), tuple(day_types), matplotlib.__version__,
                        list(frame.columns), [str(t) for t in frame.dtypes])).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
    return digest.hexdigest()


def drawn_fingerprint(path: Path) -> str | None:
    """The fingerprint a heat-map PNG was drawn with (None: no such file, or one without it)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.info.get(FINGERPRINT_KEY)
    except (OSError, UnidentifiedImageError):
        return None


class HeatmapPainter:
    """Draws heat-map figures, reusing its last figure when the next one has the same layout (months, models drawn,
    regions, day types, and which panels are constant): the second basis then only gets its new colours, boxes,
    titles and colour bar scales. Building a figure's axes and ticks was ~40 % of a PNG's cost, and both bases share
    them; the PNG is the same, pixel for pixel, as one drawn on a new figure (the unit tests compare them)."""

    def __init__(self):
        self._layout = None
        self._figure = None
        self._panels: list[dict] = []

    def figure(self, frame: pd.DataFrame, *, basis: str, regions: dict[str, str],
               day_types: tuple[str, ...] = DAY_TYPES):
        import numpy as np

        months = sorted({(int(y), int(m)) for y, m in zip(frame["year"], frame["month"])})
        drawn = [m for m in MODELS if m in set(frame["model"])]
        values = {model: np.full((len(months), 24), np.nan) for model in drawn}
        for row in frame.itertuples():
            values[row.model][months.index((row.year, row.month)), row.hour_local] = row.g_per_kwh
        scales = {model: (np.nanmin(grid), np.nanmax(grid)) for model, grid in values.items()}
        constant = tuple(bool(np.isclose(low, high)) for low, high in scales.values())
        layout = (tuple(months), tuple(drawn), tuple(sorted(regions.items())), tuple(day_types), constant)
        if layout != self._layout:
            self._build(months, drawn, regions, day_types)
            self._layout = layout
        self._fill(months, drawn, values, scales, basis, regions, day_types)
        return self._figure

    def _build(self, months, drawn, regions, day_types) -> None:
        """The parts that do not depend on the values: panels, ticks, labels, footer."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg, no pyplot state: safe in threads
        from matplotlib.figure import Figure

        absent = [m for m in MODELS if m not in drawn]
        columns = 2 if len(drawn) > 1 else 1
        panel_rows = max(1, -(-len(drawn) // columns))
        panel_height = 1.3 + 0.27 * max(len(months), 1)
        figure = Figure(figsize=(7.6 * columns, panel_height * panel_rows + 1.6), dpi=100)
        FigureCanvasAgg(figure)
        grid = figure.add_gridspec(panel_rows, columns, left=0.065, right=0.95, top=1 - 1.0 / figure.get_figheight(),
                                   bottom=0.75 / figure.get_figheight(), hspace=0.45, wspace=0.22)
        labels = [f"{_MONTH_NAMES[m - 1]} {y}" for y, m in months]
        self._figure, self._panels = figure, []
        for index, model in enumerate(drawn):
            axes = figure.add_subplot(grid[index // columns, index % columns])
            # Hours under the lowest panel of each column, months left of the first panel of each row (every panel
            # has the same hours and months): every tick is an artist of its own (lines, label, marks), and 24 hours
            # + 12 months on each of four panels were half the cost of a year's heat map.
            if index + columns < len(drawn):
                axes.set_xticks([])
            else:
                axes.set_xticks(range(24), [f"{h}" for h in range(24)], fontsize=8)
                axes.set_xlabel("local hour of day (Europe/Berlin)", fontsize=9)
            if index % columns == 0:
                axes.set_yticks(range(len(months)), labels, fontsize=8)
            else:
                axes.set_yticks([])
            self._panels.append({"axes": axes, "image": None, "bar": None, "boxes": []})
        free = panel_rows * columns - len(drawn)
        if not drawn or (free and absent):  # the free slot says what is missing rather than staying blank
            axes = figure.add_subplot(grid[len(drawn) // columns, len(drawn) % columns])
            axes.set_axis_off()
            text = "\n".join(f"{m.replace('_', ' ')} ({regions[m]}): no data" for m in absent) or "no data"
            if "locality" in absent:
                text += (f"\n(locality needs {regions['locality']} production:\nmaterialise with --region "
                         f"{regions['locality']})")
            axes.text(0.5, 0.5, text, transform=axes.transAxes, ha="center", va="center", fontsize=11,
                      color="#555555")
        footer = f"{ATTRIBUTION}. Box: the month's cleanest hour (lowest mean g/kWh). Colour scale per model."
        if absent:
            footer += " No data for: " + ", ".join(f"{m} ({regions[m]})" for m in absent) + "."
        figure.text(0.01, 0.012, footer, fontsize=8.5, color="#444444")
        self._suptitle = None

    def _fill(self, months, drawn, values, scales, basis, regions, day_types) -> None:
        """The parts that depend on the values: each panel's colours, boxes, title and colour bar; the title."""
        import numpy as np
        from matplotlib.patches import Rectangle

        figure = self._figure
        for panel, model in zip(self._panels, drawn):
            axes, grid = panel["axes"], values[model]
            low, high = scales[model]
            constant = np.isclose(low, high)
            # A model that gives every hour the same figure (worst emitter: the dirtiest running unit) gets one
            # neutral colour and one tick: a coloured scale over rounding noise would suggest a pattern that is not
            # there.
            cmap = "Greys" if constant else "RdYlGn_r"
            vmin, vmax = (low - 1, high + 4) if constant else (low, high)
            if panel["image"] is None:
                panel["image"] = axes.imshow(np.ma.masked_invalid(grid), aspect="auto", interpolation="nearest",
                                             cmap=cmap, vmin=vmin, vmax=vmax)
            else:
                panel["image"].set_data(np.ma.masked_invalid(grid))
                panel["image"].set_clim(vmin, vmax)
            for box in panel["boxes"]:
                box.remove()
            panel["boxes"] = []
            for row_index, month_values in enumerate(grid):
                if constant or np.isnan(month_values).all():
                    continue
                hour = int(np.nanargmin(month_values))
                panel["boxes"].append(axes.add_patch(Rectangle((hour - 0.5, row_index - 0.5), 1, 1, fill=False,
                                                               edgecolor="black", linewidth=1.4)))
            note = f": the same {low:,.0f} g/kWh in every hour" if constant else ""
            axes.set_title(f"{model.replace('_', ' ')} ({regions[model]}){note}", fontsize=11)
            if panel["bar"] is None:
                bar = figure.colorbar(panel["image"], ax=axes, fraction=0.04, pad=0.015)
                bar.set_label("g CO2(eq)/kWh", fontsize=9)
                panel["bar"] = bar
            else:
                bar = panel["bar"]
                bar.update_normal(panel["image"])
            if constant:
                bar.set_ticks([low], labels=[f"{low:,.0f}"])
            bar.ax.tick_params(labelsize=8)
        labels = [f"{_MONTH_NAMES[m - 1]} {y}" for y, m in months]
        period = f"{labels[0]} to {labels[-1]}" if months else "no months"
        shown = ", ".join(sorted({regions[m] for m in drawn})) or "-"
        figure.suptitle(f"Grid carbon intensity by local hour: {shown}, {basis} emissions, {period}\n"
                        f"mean over {_day_types_text(day_types)}", fontsize=13)


def profile_rows(spark, registry: Registry, months: list[tuple[int, int]] | None = None) -> pd.DataFrame:
    """The profile's rows (:data:`COLUMNS`) of ``months`` (default: every month of the latest year it holds)."""
    table = registry.sql_name(PROFILE)
    if months is None:
        latest = spark.sql(f"SELECT max(year) AS y FROM {table}").collect()[0].y
        if latest is None:
            return pd.DataFrame(columns=list(COLUMNS))
        where = f"year = {int(latest)}"
    else:
        where = month_predicate(months)
    return spark.sql(f"SELECT {', '.join(COLUMNS)} FROM {table} WHERE {where}").toPandas()


def write_heatmaps(spark, registry: Registry, out_dir: Path | str, months: list[tuple[int, int]] | None = None,
                   day_types: tuple[str, ...] = DAY_TYPES) -> list[Path]:
    """One heat-map PNG per basis that has rows, under ``out_dir``, over ``months`` (default: the latest year the
    profile holds); returns their paths (none when the profile has no rows for the home region's models)."""
    return draw_heatmaps(profile_rows(spark, registry, months), out_dir, day_types)


def draw_heatmaps(rows: pd.DataFrame, out_dir: Path | str, day_types: tuple[str, ...] = DAY_TYPES) -> list[Path]:
    """:func:`write_heatmaps` from profile rows already read (:data:`COLUMNS`; more columns are ignored)."""
    regions = heatmap_regions()
    written = []
    painter = HeatmapPainter()  # both bases on one figure where their layout is the same
    for basis in BASES:
        frame = heatmap_frame(rows, regions, basis, day_types)
        if frame.empty:
            continue
        first = frame.sort_values(["year", "month"]).iloc[0]
        last = frame.sort_values(["year", "month"]).iloc[-1]
        name = f"intensity_heatmap_{first.year:04d}-{first.month:02d}_{last.year:04d}-{last.month:02d}_{basis}.png"
        path = Path(out_dir) / name
        fingerprint = drawing_fingerprint(frame, basis=basis, regions=regions, day_types=day_types)
        # Not drawn again when the file shows the same (~0.5 s a PNG): e.g. the demo's summary after the asset,
        # or a run whose months did not change the year's profile.
        if drawn_fingerprint(path) != fingerprint:
            plot_heatmap(frame, path, basis=basis, regions=regions, day_types=day_types, reuse=painter,
                         fingerprint=fingerprint)
        written.append(path)
    return written


def heatmap_summary(first: date, last: date, out_dir: Path | str | None = None) -> str:
    """For the demo: write the heat maps of the months ``first``..``last`` (default folder
    ``$EMISSION_HOME/reports``) and say where they are, with each model's cleanest and dirtiest local hour there
    (direct basis); says so when the profile has no rows."""
    from tabulate import tabulate

    from emission_assets.gold.months import months_between
    from emission_assets.gold.profile import extreme_hours
    from emission_assets.lakehouse.session import open_lakehouse
    from emission_assets.settings import emission_home

    lakehouse = open_lakehouse()
    months = months_between(first, last)
    pngs = write_heatmaps(lakehouse.spark, lakehouse.registry, out_dir or emission_home() / "reports", months)
    if not pngs:
        return f"\nno heat map: gold.intensity_profile has no rows for {first}..{last} (materialise gold/intensity_profile)"
    regions = heatmap_regions()
    extremes = extreme_hours(lakehouse.spark, lakehouse.registry, months, regions, "direct")
    rows = [[e["model"], e["region"], "every hour" if e["all_hours_equal"] else f"{e['cleanest_hour']:02d}h",
             e["cleanest_g_per_kwh"], "every hour" if e["all_hours_equal"] else f"{e['dirtiest_hour']:02d}h",
             e["dirtiest_g_per_kwh"]] for e in extremes]
    table = tabulate(rows, headers=["model", "region", "cleanest hour", "g/kWh", "dirtiest hour", "g/kWh"],
                     tablefmt="github", floatfmt=",.0f")
    absent = [f"{model} ({region})" for model, region in regions.items() if model not in {e["model"] for e in extremes}]
    lines = [f"\nCleanest and dirtiest local hour per model, {first}..{last} (direct, gold.intensity_profile):", table]
    if absent:
        lines.append(f"no data for: {', '.join(absent)}")
    return "\n".join([*lines, "heat map (month x local hour per model): " + ", ".join(str(p) for p in pngs)])
