"""Sanity check: annual production-weighted average intensity (g CO2(eq)/kWh) of the SMARD generation mix, 2019-2022.

Reads the hourly SMARD generation export from ``../shared/data/smard`` (or the path given as the first argument)
with :func:`emission_assets.smard.csv_import.read_smard_csv` and the seed factors from
``emission_assets/data/emission_factors.csv`` when that file exists (columns production_type, basis, g_per_kwh and
optionally valid_from / valid_to: the version valid on 1 July of the year is used); otherwise the midpoints of
docs/domain.md section 4 below. Pure Python/pandas, no Spark. It is the same formula as the ``average`` model of
``gold.grid_intensity``: sum(E * EF) / sum(E) over the types with a factor, here per local (Europe/Berlin) year.

Usage (from the repository root):
    .venv/bin/python scripts/sanity_average_intensity.py [path/to/smard_realisierte_erzeugung_DE_hour_*.csv]

Compare with the Umweltbundesamt (UBA) figures for the German electricity mix (~411 g/kWh 2019, ~366 2020,
~420 2021, ~434 2022). They differ from SMARD-based figures on purpose: UBA relates emissions to domestic
*consumption* (net exports removed), counts all generation including industrial/own-use plants that SMARD's
"realised generation" only partly covers, uses plant-level emission reporting (ETS) instead of type factors, and
allocates CHP emissions between heat and power; SMARD is a production mix without imports and exports.
"""
from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emission_assets.smard.catalog import BY_ID
from emission_assets.smard.csv_import import read_smard_csv

SMARD_DIR = ROOT.parent / "shared" / "data" / "smard"
FACTORS_CSV = ROOT / "emission_assets" / "data" / "emission_factors.csv"
YEARS = (2019, 2020, 2021, 2022)

# Midpoints of docs/domain.md section 4 (g/kWh). Pumped storage: 0 direct at generation; no life-cycle factor.
MIDPOINT_FACTORS: dict[str, dict[str, float]] = {
    "direct": {
        "lignite": 1100.0, "hard_coal": 850.0, "natural_gas": 385.0, "other_conventional": 775.0, "nuclear": 0.0,
        "wind_onshore": 0.0, "wind_offshore": 0.0, "photovoltaics": 0.0, "hydro": 0.0, "biomass": 0.0,
        "other_renewable": 0.0, "pumped_storage": 0.0,
    },
    "lifecycle": {
        "lignite": 820.0, "hard_coal": 820.0, "natural_gas": 490.0, "other_conventional": 700.0, "nuclear": 12.0,
        "wind_onshore": 11.0, "wind_offshore": 12.0, "photovoltaics": 44.5, "hydro": 24.0, "biomass": 230.0,
        "other_renewable": 38.0,
    },
}


def _parse_date(text: str | None) -> date | None:
    return date.fromisoformat(text.strip()[:10]) if text and text.strip() else None


def factors_for(year: int) -> tuple[dict[str, dict[str, float]], str]:
    """Factors per basis and type valid on 1 July of ``year``, and where they came from."""
    if not FACTORS_CSV.exists():
        return MIDPOINT_FACTORS, "domain.md section 4 midpoints (no emission_factors.csv yet)"
    day = date(year, 7, 1)
    result: dict[str, dict[str, float]] = {}
    with FACTORS_CSV.open(newline="") as handle:
        for row in csv.DictReader(line for line in handle if not line.startswith("#")):
            valid_from, valid_to = _parse_date(row.get("valid_from")), _parse_date(row.get("valid_to"))
            if (valid_from and day < valid_from) or (valid_to and day >= valid_to):
                continue
            result.setdefault(row["basis"], {})[row["production_type"]] = float(row["g_per_kwh"])
    return result, str(FACTORS_CSV.relative_to(ROOT))


def generation(path: Path) -> pd.DataFrame:
    """Hourly MWh per production type, indexed by the UTC interval start."""
    parsed = read_smard_csv(path)
    columns = {}
    for filter_id, points in parsed.series.items():
        series = BY_ID[filter_id]
        if series.kind != "generation":
            continue
        columns[series.name] = pd.Series(
            {ms: value for ms, value in points if value is not None}, dtype="float64"
        )
    frame = pd.DataFrame(columns)
    frame.index = pd.to_datetime(frame.index, unit="ms", utc=True)
    return frame


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        path = Path(argv[1])
    else:
        candidates = sorted(SMARD_DIR.glob("smard_realisierte_erzeugung_DE_hour_*.csv"))
        if not candidates:
            print(f"no hourly SMARD generation export in {SMARD_DIR}", file=sys.stderr)
            return 1
        path = candidates[0]
    frame = generation(path)
    local_year = frame.index.tz_convert("Europe/Berlin").year
    print(f"SMARD generation: {path.name} ({len(frame)} hours)")
    print(f"{'year':>4} {'TWh':>7} {'direct g/kWh':>13} {'lifecycle g/kWh':>16}  factors")
    for year in YEARS:
        rows = frame[local_year == year]
        if rows.empty:
            print(f"{year:>4} (no data)")
            continue
        factors, origin = factors_for(year)
        values = []
        for basis in ("direct", "lifecycle"):
            basis_factors = factors.get(basis, {})
            kinds = [kind for kind in rows.columns if kind in basis_factors]
            energy = rows[kinds].sum()
            weight = energy.sum()
            values.append(sum(energy[k] * basis_factors[k] for k in kinds) / weight if weight else float("nan"))
        total_twh = rows.sum().sum() / 1e6
        print(f"{year:>4} {total_twh:7.1f} {values[0]:13.0f} {values[1]:16.0f}  {origin}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
