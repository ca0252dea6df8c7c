"""Rebuild the bundled installed-capacity table (emission_assets/data/plant_capacity.csv) from the OPSD plant list.

Source: Open Power System Data, "Conventional power plants" (``conventional_power_plants_DE.csv``), read from
``../shared/data/plants/opsd_conventional_power_plants_DE.csv`` (or the path given as the first argument).
Only plants with ``status == 'operating'`` are counted (reserve, seasonal conservation, special cases and shutdowns
are left out). OPSD ``energy_source`` maps to SMARD production types:

    Lignite -> lignite            Hard coal -> hard_coal        Natural gas -> natural_gas
    Nuclear -> nuclear            Biomass and biogas -> biomass
    Hydro -> pumped_storage (technology 'Pumped storage') or hydro (everything else)
    Oil, Other fossil fuels, Other fuels, Waste, Mixed fossil fuels -> other_conventional

Per type: capacity_mw = sum of ``capacity_net_bnetza``; mean_efficiency = capacity-weighted mean of
``efficiency_data`` where present, else ``efficiency_estimate`` (plants without either are left out of the mean);
plants = number of rows (blocks). Deterministic: the same input gives the same bytes.

Usage (from the repository root):
    .venv/bin/python scripts/build_plant_capacity.py [path/to/opsd_conventional_power_plants_DE.csv]
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "plants" / "opsd_conventional_power_plants_DE.csv"
TARGET = ROOT / "emission_assets" / "data" / "plant_capacity.csv"

ENERGY_SOURCE_TO_TYPE = {
    "Lignite": "lignite",
    "Hard coal": "hard_coal",
    "Natural gas": "natural_gas",
    "Nuclear": "nuclear",
    "Biomass and biogas": "biomass",
    "Hydro": "hydro",
    "Oil": "other_conventional",
    "Other fossil fuels": "other_conventional",
    "Other fuels": "other_conventional",
    "Waste": "other_conventional",
    "Mixed fossil fuels": "other_conventional",
}


def production_type(row) -> str | None:
    kind = ENERGY_SOURCE_TO_TYPE.get(row["energy_source"])
    if kind == "hydro" and row["technology"] == "Pumped storage":
        return "pumped_storage"
    return kind


def build(source: Path) -> pd.DataFrame:
    plants = pd.read_csv(source)
    plants = plants[plants["status"] == "operating"].copy()
    plants["production_type"] = plants.apply(production_type, axis=1)
    unmapped = sorted(set(plants.loc[plants["production_type"].isna(), "energy_source"].astype(str)))
    if unmapped:
        print(f"warning: energy sources without a SMARD type (left out): {unmapped}", file=sys.stderr)
    plants = plants.dropna(subset=["production_type", "capacity_net_bnetza"])
    plants["efficiency"] = plants["efficiency_data"].fillna(plants["efficiency_estimate"])

    rows = []
    for kind, group in sorted(plants.groupby("production_type"), key=lambda item: item[0]):
        with_eff = group.dropna(subset=["efficiency"])
        weight = with_eff["capacity_net_bnetza"].sum()
        efficiency = (with_eff["efficiency"] * with_eff["capacity_net_bnetza"]).sum() / weight if weight > 0 else None
        rows.append({
            "production_type": kind,
            "capacity_mw": round(float(group["capacity_net_bnetza"].sum()), 1),
            "mean_efficiency": round(float(efficiency), 4) if efficiency is not None else None,
            "plants": len(group),
        })
    return pd.DataFrame(rows, columns=["production_type", "capacity_mw", "mean_efficiency", "plants"])


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    if not source.exists():
        print(f"OPSD plant list not found at {source}; the bundled {TARGET.name} stays as it is", file=sys.stderr)
        return 1
    table = build(source)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(TARGET, index=False, lineterminator="\n")
    print(table.to_string(index=False))
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
