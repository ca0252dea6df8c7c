"""The official reference line: the Umweltbundesamt's national CO2 factor of each year next to the household's
average-model (location-based) g/kWh, and why the two differ.

The UBA figures come from :data:`UBA_PATH` (one row per year, with the edition, UBA's own status of the figure and
how it was checked); :func:`reference_frame` puts them next to a report frame's yearly average-model figure.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from emission_assets import sourced_csv

UBA_PATH = Path(__file__).resolve().parent.parent / "data" / "uba_national_factors.csv"
COLUMNS = ("year", "co2_g_per_kwh", "uba_status", "edition", "checked", "source", "licence", "note")
UBA_STATUSES = ("final", "preliminary", "estimate")
# One line on why the household's average-model figure and UBA's national factor differ (see the .md of the table).
WHY_THEY_DIFFER = (
    "why they differ: SMARD's realised generation misses part of the conventional output (industrial and CHP plants "
    "below the transmission grid), so SMARD-based averages run below official figures; UBA divides the CO2 of all "
    "German generation (exports included) by domestic consumption, while the average model weights each hour's "
    "SMARD production mix by the household's load and counts no imports."
)


@dataclass(frozen=True)
class UbaFactor:
    year: int
    g_per_kwh: float
    uba_status: str
    edition: str
    checked: str
    source: str
    licence: str
    note: str = ""


def read_uba_factors(path: Path | str | None = None) -> dict[int, UbaFactor]:
    """The table per year, validated (a ``ValueError`` names the file, line and column)."""
    path = Path(path) if path is not None else UBA_PATH
    found: dict[int, UbaFactor] = {}
    seen: dict[tuple, int] = {}
    for line, cells in sourced_csv.rows(path, COLUMNS):
        year = sourced_csv.year(path, line, "year", cells["year"])
        factor = sourced_csv.g_per_kwh(path, line, "co2_g_per_kwh", cells["co2_g_per_kwh"])
        status = sourced_csv.choice(path, line, "uba_status", cells["uba_status"], UBA_STATUSES)
        edition = sourced_csv.required(path, line, "edition", cells["edition"], "name the UBA edition of the figure")
        checked = sourced_csv.choice(path, line, "checked", cells["checked"], sourced_csv.CHECKED)
        source = sourced_csv.required(path, line, "source", cells["source"], "every figure needs a source")
        licence = sourced_csv.required(path, line, "licence", cells["licence"], "every figure needs its licence")
        sourced_csv.unique(seen, (year,), path, line, "year", lambda: f"year {year}")
        found[year] = UbaFactor(year, factor, status, edition, checked, source, licence, cells["note"])
    return found


def reference_frame(frame: pd.DataFrame, uba: dict[int, UbaFactor] | None = None) -> pd.DataFrame:
    """Per year of a direct-basis report frame: kWh, the household's average-model g/kWh (kg / kWh over the year's
    months in the frame), UBA's factor, its status and edition, and the difference in percent of UBA's."""
    uba = read_uba_factors() if uba is None else uba
    columns = ["year", "months", "energy_kwh", "household_average_g_per_kwh", "uba_g_per_kwh", "uba_status",
               "uba_edition", "difference_pct"]
    if frame.empty or "average_kg" not in frame:
        return pd.DataFrame(columns=columns)
    known = frame[frame["average_kg"].notna()]
    yearly = known.groupby("year", as_index=False).agg(months=("month", "count"), energy_kwh=("energy_kwh", "sum"),
                                                        average_kg=("average_kg", "sum"))
    yearly["household_average_g_per_kwh"] = yearly["average_kg"] * 1000 / yearly["energy_kwh"].where(
        yearly["energy_kwh"] > 0)
    yearly["uba_g_per_kwh"] = [uba[y].g_per_kwh if y in uba else float("nan") for y in yearly["year"]]
    yearly["uba_status"] = [uba[y].uba_status if y in uba else "not in the table" for y in yearly["year"]]
    yearly["uba_edition"] = [uba[y].edition if y in uba else "" for y in yearly["year"]]
    yearly["difference_pct"] = (yearly["household_average_g_per_kwh"] / yearly["uba_g_per_kwh"] - 1) * 100
    return yearly[columns]


def format_reference(frame: pd.DataFrame, uba: dict[int, UbaFactor] | None = None) -> str:
    """The reference lines of a report frame: the table per year and the reason they differ."""
    from tabulate import tabulate

    if frame.attrs.get("basis", "direct") != "direct":
        return ("UBA reference: UBA's national factor is direct CO2; it is shown in the direct report "
                "(--basis direct).")
    table = reference_frame(frame, uba)
    if table.empty:
        return "UBA reference: no average-model figures in this report."
    rows = [[int(r.year), int(r.months), r.energy_kwh, r.household_average_g_per_kwh,
             None if pd.isna(r.uba_g_per_kwh) else r.uba_g_per_kwh, r.uba_status,
             None if pd.isna(r.difference_pct) else f"{r.difference_pct:+.0f} %", r.uba_edition]
            for r in table.itertuples()]
    headers = ["year", "months", "kWh", "household average g/kWh (SMARD)", "UBA national g/kWh", "UBA status",
               "difference", "UBA edition"]
    text = tabulate(rows, headers=headers, tablefmt="github", floatfmt=",.0f", missingval="")
    return f"UBA reference (Umweltbundesamt, CO2 per kWh of German electricity consumption):\n{text}\n{WHY_THEY_DIFFER}"
