"""The models report: per month, the households' kWh and the kg CO2(eq) each attribution model gives them.

:func:`monthly_report` reads gold.emissions_monthly, :func:`report_frame` sums all homes per month and model,
:func:`plot_models` draws it as a PNG (one bar per model and month, household load solid and EV charging hatched on
top), :func:`format_report` renders it as a text table.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

MODELS = ("average", "merit_order", "worst_emitter", "locality")
BASES = ("direct", "lifecycle")
ATTRIBUTION = "Data: Bundesnetzagentur | SMARD.de (CC BY 4.0)"
ENERGY_COLUMNS = ("energy_kwh", "ev_kwh", "household_kwh")
MODEL_COLORS = {"average": "#4C72B0", "merit_order": "#DD8452", "worst_emitter": "#C44E52", "locality": "#55A868"}


def model_columns(model: str) -> tuple[str, str, str]:
    """The frame's (total, EV, household) kg columns of a model."""
    return f"{model}_kg", f"{model}_ev_kg", f"{model}_household_kg"


def _month_key(day: date) -> int:
    return day.year * 100 + day.month


def monthly_report(spark, registry, start: date, end: date, basis: str) -> pd.DataFrame:
    """One row per month of ``start``..``end`` (whole months, both ends included) that has data, from
    ``registry``'s gold.emissions_monthly table. See :func:`report_frame` for the columns."""
    if basis not in BASES:
        raise ValueError(f"unknown basis {basis!r}; choose one of {', '.join(BASES)}")
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    source = registry.sql_name("gold.emissions_monthly")
    where = f"basis = '{basis}' AND year * 100 + month BETWEEN {_month_key(start)} AND {_month_key(end)}"
    rows = spark.sql(f"SELECT {', '.join(ROW_COLUMNS)} FROM {source} WHERE {where}").toPandas()
    return report_frame(rows, basis, start, end)


# The gold.emissions_monthly columns the report needs (one row per month, home, model and basis).
ROW_COLUMNS = ("year", "month", "home_id", "model", "basis", "energy_kwh", "ev_kwh", "household_kwh", "emissions_kg",
               "ev_emissions_kg", "household_emissions_kg")


def report_frame(rows: pd.DataFrame, basis: str, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """The report's frame from gold.emissions_monthly rows (:data:`ROW_COLUMNS`; other bases are ignored).

    Columns: ``year``, ``month``, ``period`` (YYYY-MM), ``energy_kwh``, ``ev_kwh``, ``household_kwh`` (all homes), and
    per model ``<model>_kg``, ``<model>_ev_kg``, ``<model>_household_kg`` (NaN where the model has no rows).
    A home's kWh is taken once per month (the largest over the models, which all attribute the same consumption).
    ``frame.attrs`` holds basis, start and end for the plot's title.
    """
    rows = rows[rows["basis"] == basis].copy()
    for column in ROW_COLUMNS[5:]:
        rows[column] = rows[column].astype(float)
    rows = rows.astype({"year": int, "month": int})
    energy_columns = list(ENERGY_COLUMNS)
    per_home = rows.groupby(["year", "month", "home_id"], as_index=False)[energy_columns].max()
    frame = per_home.groupby(["year", "month"], as_index=False)[energy_columns].sum()
    frame = frame.sort_values(["year", "month"]).reset_index(drop=True)
    emissions = rows.groupby(["year", "month", "model"], as_index=False)[
        ["emissions_kg", "ev_emissions_kg", "household_emissions_kg"]].sum()
    for model in MODELS:
        part = emissions[emissions["model"] == model].drop(columns="model")
        part = part.rename(columns=dict(zip(("emissions_kg", "ev_emissions_kg", "household_emissions_kg"),
                                            model_columns(model))))
        frame = frame.merge(part, on=["year", "month"], how="left")
    frame.insert(2, "period", [f"{y:04d}-{m:02d}" for y, m in zip(frame["year"], frame["month"])])
    for column in frame.columns[3:]:
        frame[column] = frame[column].astype(float)
    frame.attrs.update(basis=basis, start=start.isoformat() if start else None, end=end.isoformat() if end else None)
    return frame


def _title(frame: pd.DataFrame) -> str:
    basis = frame.attrs.get("basis", "?")
    if frame.attrs.get("start") and frame.attrs.get("end"):
        period = f"{frame.attrs['start']} to {frame.attrs['end']}"
    elif len(frame):
        period = f"{frame['period'].iloc[0]} to {frame['period'].iloc[-1]}"
    else:
        period = "no data"
    return f"Household CO2 per attribution model ({basis} emissions), {period}"


def plot_models(frame: pd.DataFrame, path: Path | str) -> Path:
    """A PNG of kg CO2(eq) per month: the models' bars side by side, household solid with EV hatched on top."""
    from matplotlib.backends.backend_agg import (
        FigureCanvasAgg,  # Agg, and no pyplot state: safe in threads
    )
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    months = list(frame["period"])
    width = 0.8 / len(MODELS)
    figure = Figure(figsize=(max(8.0, 1.1 * len(months) + 3), 5.5), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    top_kg = 0.0
    for index, model in enumerate(MODELS):
        _, ev, household = model_columns(model)
        positions = [m + (index - (len(MODELS) - 1) / 2) * width for m in range(len(months))]
        color = MODEL_COLORS[model]
        household_kg = list(frame[household].fillna(0.0)) if household in frame else [0.0] * len(months)
        ev_kg = list(frame[ev].fillna(0.0)) if ev in frame else [0.0] * len(months)
        # One collection per model and layer rather than Axes.bar's patch per bar: the same rectangles, drawn
        # in one call (a year's chart has ~100 bars; patches made the chart ~2x slower to build and draw).
        for bottoms, heights, style in ((None, household_kg, {}), (household_kg, ev_kg, {"alpha": 0.55, "hatch": "///"})):
            bottoms = bottoms or [0.0] * len(heights)
            boxes = [[(x - width / 2, b), (x - width / 2, b + h), (x + width / 2, b + h), (x + width / 2, b)]
                     for x, b, h in zip(positions, bottoms, heights)]
            axes.add_collection(PolyCollection(boxes, facecolors=color, edgecolors="white", linewidths=0.5, **style),
                                autolim=False)
            top_kg = max([top_kg, *(b + h for b, h in zip(bottoms, heights))])
    axes.set_xlim(-0.6, max(len(months), 1) - 0.4)
    axes.set_ylim(0.0, top_kg * 1.05 if top_kg > 0 else 1.0)
    axes.set_xticks(range(len(months)), months, rotation=45 if len(months) > 6 else 0, ha="right" if len(months) > 6 else "center")
    axes.set_xlabel("month")
    axes.set_ylabel("kg CO2(eq)")
    axes.set_title(_title(frame))
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    handles = [Patch(facecolor=MODEL_COLORS[m], label=m.replace("_", " ")) for m in MODELS]
    handles += [Patch(facecolor="#999999", label="household load"),
                Patch(facecolor="#cccccc", hatch="///", edgecolor="#555555", label="EV charging")]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if not months:
        axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", va="center")
    figure.text(0.01, 0.01, ATTRIBUTION, fontsize=8, color="#555555")
    # Fixed margins in inches (tick labels, rotated month labels, the legend right of the axes) rather than
    # tight_layout, which draws the whole figure once more to measure it (~0.15 s a chart, two charts per report).
    width, height = figure.get_size_inches()
    figure.subplots_adjust(left=0.9 / width, right=1 - 1.95 / width, top=1 - 0.45 / height,
                           bottom=(1.15 if len(months) > 6 else 0.8) / height)
    figure.savefig(path, format="png")
    return path


def format_report(frame: pd.DataFrame) -> str:
    """A text table: per month one row per model (kWh on the month's first row), kg total / EV / household."""
    from tabulate import tabulate

    present = [m for m in MODELS if model_columns(m)[0] in frame and frame[model_columns(m)[0]].notna().any()]
    absent = [m for m in MODELS if m not in present]
    rows = []
    for _, month in frame.iterrows():
        for index, model in enumerate(present):
            total, ev, household = model_columns(model)
            kg = month.get(total)
            rows.append([
                month["period"] if index == 0 else "",
                *(month[c] if index == 0 else None for c in ENERGY_COLUMNS),
                model,
                kg, month.get(ev), month.get(household),
                kg * 1000 / month["energy_kwh"] if pd.notna(kg) and month["energy_kwh"] else None,
            ])
    headers = ["month", "kWh", "EV kWh", "household kWh", "model", "kg CO2", "EV kg", "household kg", "g/kWh"]
    rows = [[None if isinstance(v, float) and pd.isna(v) else v for v in row] for row in rows]
    table = tabulate(rows, headers=headers, tablefmt="github", floatfmt=",.1f", missingval="")
    if absent:
        # locality needs production of a control area (50Hertz, Amprion, TenneT, TransnetBW) in silver.production
        table += f"\nno data for: {', '.join(absent)}" + (
            " (needs control-area production: materialise with --region <control area>)" if "locality" in absent else ""
        )
    return table
