"""docs/validation.md's generator on a tiny hand-made result (no engine)."""
from __future__ import annotations

import pandas as pd

from merit_validation.regression import Slope
from merit_validation.report import ValidationResults, dispatch_tables, marginal_shares, render

PUBLISHED = [{"study": "Fleschutz et al. 2021 (elmada, method MEF_PP)", "years": "2019", "quantity": "mean MEF",
              "value_g_per_kwh": "890", "basis": "CO2eq", "note": "Upper bound.", "source": "paper",
              "licence": "CC BY-NC 4.0"},
             {"study": "Someone 2025", "years": "", "quantity": "MEF", "value_g_per_kwh": "", "basis": "CO2",
              "note": "No figure quoted.", "source": "abstract", "licence": "abstract only"}]


def tables(text: str) -> list[list[list[str]]]:
    """Every markdown table of ``text`` as rows of stripped cells (header first, separator line dropped)."""
    found, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            if not set(line) <= set("|-: "):
                current.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif current:
            found.append(current)
            current = []
    return found


def table_starting(text: str, *header: str) -> list[list[str]]:
    return next(t for t in tables(text) if tuple(t[0][:len(header)]) == header)


def base_results(**changes) -> ValidationResults:
    measured = pd.DataFrame({"year": [2019, 2019, 2019], "month": [1, 2, 1],
                             "production_type": ["lignite", "lignite", "natural_gas"],
                             "measured_energy_mwh": [2.0e6, 1.5e6, 0.5e6]})
    values = dict(hours_per_year={2019: 5}, span=("2019-01-01", "2019-02-27"), measured=measured,
                  average_intensity={2019: 354.4},
                  slopes=[Slope(2019, "fossil_mwh", 825.4, 0.981, 4),
                          Slope(2019, "residual_load_smard_mwh", 281.0, 0.65, 4)],
                  published=PUBLISHED)
    values.update(changes)
    return ValidationResults(**values)


def test_pending_sections_say_what_they_wait_for_and_the_rest_renders():
    results = base_results(pending={"shares": "the merit model (branch merit)", "dispatch": "the merit model",
                                    "sensitivity": "the merit model"})
    text = render(results)
    assert "- shares: the merit model (branch merit)" in text
    assert "*Pending: the merit model (branch merit).*" in text
    headline = table_starting(text, "year", "hours", "mean marginal g/kWh")
    assert headline[1] == ["2019", "5", "pending", "pending", "pending", "pending", "825", "281", "pending", "354",
                           "890"]
    measured = table_starting(text, "year", "hours", "lignite TWh")
    assert measured == [["year", "hours", "lignite TWh", "natural_gas TWh"], ["2019", "5", "3.5", "0.5"]]
    regression = table_starting(text, "year", "Δ fossil output (lignite + hard coal + gas + other conventional) g/kWh")
    assert regression[1] == ["2019", "825", "0.98", "281", "0.65", "4"]
    published = table_starting(text, "study", "year", "quantity", "g/kWh")
    assert published[2] == ["Someone 2025", "–", "MEF", "no figure", "CO2", "[2]"]
    assert "2. No figure quoted. Source: abstract. Licence: abstract only." in text
    assert "**2023 covers only 1 January – 27 February**" in text


def test_model_sections_shares_means_dispatch_gaps_and_sensitivity():
    marginal_hours = pd.DataFrame({"year": [2019, 2019, 2019], "marginal_fuel": ["lignite", "hard_coal", None],
                                   "marginal_production_type": ["lignite", "hard_coal", None], "hours": [3, 1, 1]})
    shares = marginal_shares(marginal_hours)
    assert shares.loc[2019, "lignite"] == 60.0 and shares.loc[2019, "none"] == 20.0

    dispatch = pd.DataFrame({"year": [2019, 2019, 2019], "month": [1, 2, 1],
                             "production_type": ["lignite", "lignite", "natural_gas"],
                             "implied_energy_mwh": [2.2e6, 1.5e6, 0.25e6],
                             "measured_energy_mwh": [2.0e6, 1.5e6, 0.5e6]})
    yearly, monthly = dispatch_tables(dispatch)
    gaps = {r.production_type: round(r.gap_pct, 6) for r in yearly.itertuples()}
    assert gaps == {"lignite": round((3.7 / 3.5 - 1) * 100, 6), "natural_gas": -50.0}
    assert sorted(monthly["gap_pct"].round(6)) == [-50.0, 0.0, 10.0]

    sensitivity = pd.DataFrame({"parameter": ["lignite_fuel_cost", "lignite_fuel_cost"],
                                "setting": ["3 EUR/MWh_th", "10 EUR/MWh_th"], "year": [2019, 2019],
                                "mean_g_per_kwh": [700.4, 650.6], "dispatch_gap_pct": [20.2, 11.6]})
    means = pd.DataFrame({"year": [2019], "mean_g_per_kwh": [712.3], "hours_with_unit": [4],
                          "hours_without_unit": [1]})
    monthly = pd.DataFrame({"year": [2019, 2019], "month": [1, 2], "mean_g_per_kwh": [800.4, 610.0],
                            "gas_share_pct": [12.5, 50.0]})
    text = render(base_results(marginal_hours=marginal_hours, mean_marginal=means, dispatch=dispatch,
                               sensitivity=sensitivity, parameters={"lignite_fuel_cost": 6.3},
                               monthly_marginal=monthly))
    month_tables = [t for t in tables(text) if t[0][:3] == ["year", "01", "02"]]
    assert [t[1] for t in month_tables] == [["2019", "800", "610", *["–"] * 10],
                                            ["2019", "12", "50", *["–"] * 10]]
    assert "Pending" not in text
    headline = table_starting(text, "year", "hours", "mean marginal g/kWh")
    assert headline[1][:6] == ["2019", "5", "712", "60.0", "20.0", "0.0"]  # no gas unit was marginal
    assert headline[1][8] == "+6 / – / -50"  # lignite 3.7 vs 3.5 TWh, no hard coal rows, gas 0.25 vs 0.5
    assert table_starting(text, "year", "lignite %") == [["year", "lignite %", "hard_coal %", "none %"],
                                                         ["2019", "60.0", "20.0", "20.0"]]
    assert table_starting(text, "year", "mean marginal g/kWh")[1] == ["2019", "712", "4", "1"]
    yearly_table = table_starting(text, "year", "type", "implied TWh")
    assert yearly_table[1:] == [["2019", "lignite", "3.7", "3.5", "5.7"], ["2019", "natural_gas", "0.2", "0.5", "-50.0"]]
    worst = table_starting(text, "month", "type", "implied TWh")
    assert worst[1] == ["2019-01", "natural_gas", "0.25", "0.50", "-50.0"]  # the largest gap first
    assert worst[2] == ["2019-01", "lignite", "2.20", "2.00", "10.0"]
    every_month = table_starting(text, "month", "lignite %")
    assert every_month[1:] == [["2019-01", "10.0", "-50.0"], ["2019-02", "0.0", "–"]]
    assert table_starting(text, "parameter", "setting")[1:] == [["lignite_fuel_cost", "3 EUR/MWh_th", "700", "20"],
                                                                ["lignite_fuel_cost", "10 EUR/MWh_th", "651", "12"]]
    assert "the annual mean moves by up to 50 g/kWh (2019: 651 .. 700)" in text
    assert "`lignite_fuel_cost` = 6.3" in text
    assert "- Nuclear, storage or a renewable type marginal: 0 hours (passes)." in text
    assert ("- 2019: mean marginal 712 g/kWh is above the Δ residual-load slope (281); -113 g/kWh against the Δ fossil "
            "slope (825); below the elmada upper bound (890).") in text
    assert ("- Yearly energy of lignite, hard coal and gas reproduced within ±20 %: 1 of 2 type-years: off are 2019 "
            "natural_gas -50 %.") in text
    assert "SMARD types of the marginal units: hard_coal, lignite; hours in which nuclear, storage or a renewable " \
           "type is marginal: **0**." in text


def test_checks_are_in_year_order_whatever_order_the_engine_returned():
    means = pd.DataFrame({"year": [2020, 2019], "mean_g_per_kwh": [600.0, 700.0], "hours_with_unit": [1, 1],
                          "hours_without_unit": [0, 0]})
    marginal_hours = pd.DataFrame({"year": [2020, 2019], "marginal_fuel": ["hard_coal", "lignite"],
                                   "marginal_production_type": ["hard_coal", "lignite"], "hours": [1, 1]})
    text = render(base_results(hours_per_year={2019: 1, 2020: 1}, marginal_hours=marginal_hours, mean_marginal=means))
    assert text.index("- 2019: mean marginal 700") < text.index("- 2020: mean marginal 600")


def test_the_document_counts_hours_with_a_never_marginal_type():
    marginal_hours = pd.DataFrame({"year": [2019, 2019], "marginal_fuel": ["lignite", "uranium"],
                                   "marginal_production_type": ["lignite", "nuclear"], "hours": [3, 2]})
    text = render(base_results(marginal_hours=marginal_hours))
    assert "*Pending: the model sections.*" in text  # no mean, no checks
    assert "SMARD types of the marginal units: lignite, nuclear; hours in which nuclear, storage or a renewable " \
           "type is marginal: **2**." in text
    assert table_starting(text, "year", "lignite %")[1] == ["2019", "60.0", "40.0"]
