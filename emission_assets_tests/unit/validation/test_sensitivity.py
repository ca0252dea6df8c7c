"""The sensitivity table's settings: one input at a time (no engine)."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from emission_assets.models.merit_parameters import load_parameters
from merit_validation.sensitivity import mean_abs_yearly_gap, scaled_eua, variants


def test_every_variant_changes_exactly_one_parameter_of_the_committed_calibration():
    committed = load_parameters()
    rows = variants(committed)
    assert rows[0] == ("(committed calibration)", "as committed", None, None)
    for parameter, setting, changes, eua_scale in rows[1:]:
        if eua_scale is not None:
            assert (parameter, changes) == ("EUA price", None)
            continue
        varied = committed.replace(**changes).model_dump()
        differing = [name for name, value in committed.model_dump().items() if varied[name] != value]
        assert differing == [parameter], setting
    assert {r[0] for r in rows[1:]} == {"lignite_fuel_cost", "must_run_quantile", "availability",
                                        "availability_quantile", "EUA price"}
    full_ceiling = next(r for r in rows if r[1] == "ceiling 1.0 for every fuel")
    assert set(committed.replace(**full_ceiling[2]).availability.values()) == {1.0}
    no_derating = next(r for r in rows if r[1].startswith("none: no monthly derating from the data"))
    assert set(committed.replace(**no_derating[2]).availability_quantile.values()) == {None}


def test_scaled_eua_scales_only_the_eua_rows():
    rows = [{"commodity": "eua", "valid_from": date(2021, 1, 1), "price": 52.5},
            {"commodity": "natural_gas", "valid_from": date(2021, 1, 1), "price": 20.0}]
    assert [r["price"] for r in scaled_eua(rows, 1.5)] == [78.75, 20.0]
    assert rows[0]["price"] == 52.5  # the committed rows stay as they are


def test_the_fit_is_the_mean_absolute_yearly_gap_of_lignite_hard_coal_and_gas():
    dispatch = pd.DataFrame({
        "year": [2019, 2019, 2019, 2019, 2020],
        "month": [1, 2, 1, 1, 1],
        "production_type": ["lignite", "lignite", "natural_gas", "other_conventional", "hard_coal"],
        "implied_energy_mwh": [60.0, 50.0, 80.0, 999.0, 100.0],
        "measured_energy_mwh": [50.0, 50.0, 100.0, 1.0, 100.0],
    })
    # lignite 2019: 110 vs 100 (+10 %), gas 2019: -20 %, hard coal 2020: 0 %; other conventional is not fitted
    assert mean_abs_yearly_gap(dispatch) == pytest.approx(10.0)
