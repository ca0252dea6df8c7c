"""Hand-made inputs for the merit-order tests: a small unit table, price rows, production rows, the parameters."""
from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

from emission_assets.lakehouse.registry import spec
from emission_assets.models.merit_order import load_parameters
from emission_assets.models.merit_parameters import UNIT_COLUMNS
from emission_assets_tests.support.silver_rows import RECORDED, prod_row

UNITS = {"eua": "EUR/t_CO2"}

# The hand-computed stack of the tests (availability 1, no O&M, lignite fuel cost 4, EUA 10, coal 10, oil 40):
#   L1 lignite 1000 MW eff 0.4: 4/0.4 + 0.407/0.4*10 = 20.175 EUR/MWh, direct 1017.5 g/kWh
#   C1 hard coal 500 MW eff 0.4: 10/0.4 + 0.335/0.4*10 = 33.375, direct 837.5
#   G1 gas CCGT 400 MW eff 0.6: gas 20: 20/0.6 + 0.202/0.6*10 = 36.70; gas 15: 28.37; direct 336.67
#   O1 oil 100 MW eff 0.4: 40/0.4 + 0.266/0.4*10 = 106.65, direct 665
STACK_UNITS = [
    {"unit_id": "L1", "fuel": "lignite", "capacity_net_mw": 1000, "efficiency": 0.4},
    {"unit_id": "C1", "fuel": "hard_coal", "capacity_net_mw": 500, "efficiency": 0.4},
    {"unit_id": "G1", "fuel": "natural_gas_ccgt", "capacity_net_mw": 400, "efficiency": 0.6},
    {"unit_id": "O1", "fuel": "oil", "capacity_net_mw": 100, "efficiency": 0.4},
]
DIRECT = {"L1": 1017.5, "C1": 837.5, "G1": 202.0 / 0.6, "O1": 665.0}
PRODUCTION_TYPE = {"lignite": "lignite", "hard_coal": "hard_coal", "natural_gas_ccgt": "natural_gas",
                   "natural_gas_other": "natural_gas", "oil": "other_conventional"}


def write_units(folder: Path, units=STACK_UNITS) -> Path:
    path = folder / "units.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=UNIT_COLUMNS)
        writer.writeheader()
        for unit in units:
            writer.writerow({
                "unit_id": unit["unit_id"], "name": unit["unit_id"], "fuel": unit["fuel"],
                "production_type": PRODUCTION_TYPE[unit["fuel"]], "capacity_net_mw": unit["capacity_net_mw"],
                "efficiency": unit["efficiency"], "efficiency_source": "efficiency_data",
                "commissioned_year": unit.get("commissioned_year", 2000), "shutdown_year": unit.get("shutdown_year", ""),
                "eic_code_block": unit.get("eic_code_block", ""), "network_operator": "",
            })
    return path


def stack_parameters(folder: Path, units=STACK_UNITS, **changes):
    """The committed parameters with the test stack: availability 1 (no derating from the data), no O&M, lignite at
    4 EUR/MWh_th, no must-run."""
    base = load_parameters().replace(
        plant_units_file=str(write_units(folder, units)), lignite_fuel_cost=4.0,
        availability={fuel: 1.0 for fuel in load_parameters().availability},
        variable_om={fuel: 0.0 for fuel in load_parameters().variable_om},
        must_run_quantile={"lignite": 0.0, "hard_coal": 0.0, "natural_gas": 0.0},
        availability_quantile={"lignite": None, "hard_coal": None, "natural_gas": None},
    )
    return base.replace(**changes)


def price_row(commodity, valid_from, value, valid_to=None, recorded_at=RECORDED, retired_at=None, price_id=None):
    unit = UNITS.get(commodity, "EUR/MWh_th")
    return (price_id or f"{commodity}-{valid_from}-{value}", commodity, float(value), unit, "test", "test", None,
            valid_from, valid_to, retired_at is None and valid_to is None, recorded_at, retired_at, "hash")


def base_prices(valid_from=date(2024, 1, 1), gas=20.0):
    return [price_row("eua", valid_from, 10.0), price_row("hard_coal", valid_from, 10.0),
            price_row("natural_gas", valid_from, gas), price_row("oil", valid_from, 40.0)]


def write_prices(spark, writer, rows):
    writer.append("silver.fuel_prices", spark.createDataFrame(rows, spec("silver.fuel_prices").ddl))


def hours(first: datetime, count: int) -> list[datetime]:
    return [first + timedelta(hours=h) for h in range(count)]


def fossil_rows(start, lignite=0.0, hard_coal=0.0, natural_gas=0.0, region="DE", **others):
    """One hour's rows: the three residual types (always, zeros included) and any other types given."""
    def hour(kind, mwh):
        return prod_row(start, kind, mwh, minutes=60, region=region)

    rows = [hour("lignite", lignite), hour("hard_coal", hard_coal), hour("natural_gas", natural_gas)]
    rows += [hour(kind, mwh) for kind, mwh in others.items()]
    return rows
