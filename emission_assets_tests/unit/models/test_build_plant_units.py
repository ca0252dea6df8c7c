"""scripts/build_plant_units.py on a hand-made OPSD extract: selection, fuel mapping, efficiency source, unique ids."""
from __future__ import annotations

import csv
import importlib.util

from emission_assets.models.merit_parameters import UNIT_COLUMNS, read_units
from emission_assets_tests.support.paths import REPO_ROOT

OPSD_COLUMNS = ["id", "name_bnetza", "block_bnetza", "name_uba", "energy_source", "technology", "status",
                "capacity_net_bnetza", "commissioned", "shutdown", "efficiency_data", "efficiency_estimate",
                "eic_code_block", "network_operator"]


def build_module():
    spec = importlib.util.spec_from_file_location("build_plant_units", REPO_ROOT / "scripts" / "build_plant_units.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def opsd(path, rows):
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=OPSD_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in OPSD_COLUMNS})
    return path


def test_the_unit_table_maps_fuels_selects_market_units_and_records_the_efficiency_source(tmp_path):
    source = opsd(tmp_path / "opsd.csv", [
        {"id": "A", "name_bnetza": "Lig", "block_bnetza": "B", "energy_source": "Lignite", "status": "operating",
         "capacity_net_bnetza": "500", "commissioned": "1980.0", "efficiency_estimate": "0.35",
         "eic_code_block": "11W-A"},
        {"id": "G", "name_bnetza": "CC", "energy_source": "Natural gas", "technology": "Combined cycle",
         "status": "operating", "capacity_net_bnetza": "400", "commissioned": "2010", "efficiency_data": "0.58",
         "efficiency_estimate": "0.45"},
        {"id": "H", "name_bnetza": "Old CC", "energy_source": "Natural gas", "technology": "Combined cycle",
         "status": "shutdown", "capacity_net_bnetza": "100", "commissioned": "1975", "shutdown": "2016.0",
         "efficiency_estimate": "0.42"},
        {"id": "O", "name_bnetza": "GT", "energy_source": "Oil", "status": "operating", "capacity_net_bnetza": "50",
         "commissioned": "1972", "efficiency_estimate": "0.3"},
        {"id": "O", "name_bnetza": "GT", "block_bnetza": "2", "energy_source": "Oil", "status": "shutdown",
         "capacity_net_bnetza": "20", "commissioned": "1970", "shutdown": "2014", "efficiency_estimate": "0.3"},
        {"id": "R", "name_bnetza": "Standby", "energy_source": "Lignite", "status": "reserve",
         "capacity_net_bnetza": "300", "commissioned": "1970", "efficiency_estimate": "0.33"},
        {"id": "N", "name_bnetza": "KKW", "energy_source": "Nuclear", "status": "operating",
         "capacity_net_bnetza": "1400", "commissioned": "1988", "efficiency_estimate": "0.33"},
        {"id": "W", "name_bnetza": "Waste", "energy_source": "Waste", "status": "operating",
         "capacity_net_bnetza": "30", "commissioned": "2000", "efficiency_estimate": "0.25"},
        {"id": "X", "name_bnetza": "No efficiency", "energy_source": "Natural gas", "status": "shutdown",
         "capacity_net_bnetza": "80", "shutdown": "2013"},
    ])
    module = build_module()
    table = module.build(source, 0.5)
    target = tmp_path / "plant_units.csv"
    table.to_csv(target, index=False, lineterminator="\n")
    with target.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = {r["unit_id"]: r for r in reader}
    assert tuple(reader.fieldnames) == UNIT_COLUMNS

    assert set(rows) == {"A", "G", "H", "O-1", "O-2"}  # reserve, nuclear, waste and no-efficiency blocks left out
    assert (rows["A"]["fuel"], rows["A"]["production_type"], rows["A"]["name"]) == ("lignite", "lignite", "Lig B")
    assert (rows["A"]["efficiency_source"], rows["A"]["eic_code_block"]) == ("efficiency_estimate", "11W-A")
    assert (rows["G"]["fuel"], rows["G"]["efficiency"], rows["G"]["efficiency_source"]) == (
        "natural_gas_ccgt", "0.58", "efficiency_data")
    assert rows["H"]["fuel"] == "natural_gas_other"  # labelled combined cycle, but below the 0.5 threshold
    assert (rows["H"]["commissioned_year"], rows["H"]["shutdown_year"]) == ("1975", "2016")
    assert (rows["O-1"]["production_type"], rows["O-2"]["shutdown_year"]) == ("other_conventional", "2014")
    assert [u["unit_id"] for u in read_units(target)] == ["A", "G", "H", "O-1", "O-2"]  # the model reads it
    assert module.build(source, 0.6).set_index("unit_id").loc["G", "fuel"] == "natural_gas_other"
