"""One validation run: temporary lakehouse on the embedded engine, the bundled export loaded, every section computed.

The merit-order model and the fuel-price dimension are other parts of issue 12; until their code is on this branch
the sections that need them are reported as pending (the document says so) and everything else still runs.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from merit_validation import loading
from merit_validation.regression import LOCAL_TIME_ZONE, average_intensity_per_year, hourly_frame, slopes_per_year
from merit_validation.report import ValidationResults, read_published

MODEL_FUNCTIONS = ("marginal_units_sql", "implied_dispatch_sql", "load_parameters")


@dataclass
class Timings:
    steps: list[tuple[str, float]] = field(default_factory=list)

    @contextmanager
    def step(self, name: str, echo=print):
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        self.steps.append((name, elapsed))
        echo(f"  {name}: {elapsed:.1f} s")


def measured_sql(registry) -> str:
    """SMARD's measured energy per local year, month and fossil type (DE) from silver.production."""
    production = registry.sql_name("silver.production")
    return f"""
SELECT year, month, production_type, CAST(sum(energy_mwh) AS DOUBLE) AS measured_energy_mwh
FROM {production}
WHERE region = 'DE' AND production_type IN ('lignite', 'hard_coal', 'natural_gas', 'other_conventional', 'nuclear')
GROUP BY year, month, production_type
"""


def hours_sql(registry) -> str:
    production = registry.sql_name("silver.production")
    return f"""
SELECT year, count(DISTINCT interval_start) AS hours, min(make_date(year, month, day)) AS first_day,
       max(make_date(year, month, day)) AS last_day
FROM {production} WHERE region = 'DE' GROUP BY year
"""


def model_interface() -> tuple[object | None, str | None]:
    """The merit-order module when it offers the validation's interface, else (None, what is missing)."""
    from emission_assets.models import merit_order

    missing = [name for name in MODEL_FUNCTIONS if not hasattr(merit_order, name)]
    if missing:
        return None, ("the price-driven merit-order model (helper `merit`, branch `merit`): "
                      f"`emission_assets.models.merit_order` has no {', '.join(missing)} yet")
    return merit_order, None


def prices_interface():
    """``(read_price_seed, merge_price_seed)`` of the fuel-price dimension, or (None, reason)."""
    try:
        from emission_assets.factors.prices import merge_price_seed, read_price_seed
    except ImportError:
        return None, ("the fuel-price dimension `silver.fuel_prices` (helper `prices`, branch `prices`): "
                      "`emission_assets.factors.prices` is not on this branch yet")
    return (read_price_seed, merge_price_seed), None


def local_year_sql(column: str = "interval_start") -> str:
    return f"year(from_utc_timestamp({column}, '{LOCAL_TIME_ZONE}'))"


def monthly_marginal_sql(merit_order, registry, parameters=None) -> str:
    """Per local year and month: mean marginal factor and the share of hours with a gas unit marginal."""
    units = merit_order.marginal_units_sql(registry, parameters=parameters)
    local = f"from_utc_timestamp(interval_start, '{LOCAL_TIME_ZONE}')"
    return f"""
SELECT year({local}) AS year, month({local}) AS month, avg(marginal_g_per_kwh_direct) AS mean_g_per_kwh,
       avg(CASE WHEN marginal_fuel LIKE 'natural_gas%' THEN 100.0 ELSE 0.0 END) AS gas_share_pct
FROM ({units}) u WHERE region = 'DE' GROUP BY 1, 2
"""


def marginal_summary_sql(merit_order, registry, parameters=None) -> tuple[str, str]:
    """(hours per local year and marginal fuel, mean marginal factor per local year) over marginal_units_sql."""
    units = merit_order.marginal_units_sql(registry, parameters=parameters)
    hours = f"""
SELECT {local_year_sql()} AS year, marginal_fuel, marginal_production_type, count(*) AS hours
FROM ({units}) u WHERE region = 'DE' GROUP BY 1, 2, 3
"""
    means = f"""
SELECT {local_year_sql()} AS year, avg(marginal_g_per_kwh_direct) AS mean_g_per_kwh,
       count(marginal_g_per_kwh_direct) AS hours_with_unit,
       sum(CASE WHEN marginal_g_per_kwh_direct IS NULL THEN 1 ELSE 0 END) AS hours_without_unit
FROM ({units}) u WHERE region = 'DE' GROUP BY 1
"""
    return hours, means


def run(*, with_sensitivity: bool = True, keep_lakehouse: Path | None = None, echo=print) -> ValidationResults:
    """Compute every section; ``echo`` gets the step timings."""
    from emission_assets.engine.session import EngineConfig, get_spark, stop_spark
    from emission_assets.lakehouse.registry import Registry
    from emission_assets.lakehouse.schema_upgrade import check_layout
    from emission_assets.lakehouse.writer import DeltaWriter
    from emission_assets.sources import declare_tables

    timings = Timings()
    scratch = Path(tempfile.mkdtemp(prefix="merit-validation-"))
    pending: dict[str, str] = {}
    try:
        declare_tables()
        with timings.step("engine start", echo):
            spark = get_spark(EngineConfig())
            registry = Registry(lakehouse_root=keep_lakehouse or scratch / "lakehouse")
            registry.register(spark, force=True, check_layout=check_layout)
            writer = DeltaWriter(spark, registry)
        with timings.step("parse the bundled exports (read_smard_csv)", echo):
            generation = loading.parse_export(loading.GENERATION_CSV, scratch)
            grid_load = loading.grid_load_frame(loading.parse_export(loading.CONSUMPTION_CSV, scratch))
        with timings.step("silver.production (production_from_bronze) + factor dimension", echo):
            rows = loading.load_production(spark, writer, generation)
            loading.load_factors(spark, writer)
            echo(f"    silver.production: {rows:,} rows")
        prices, reason = prices_interface()
        if prices is None:
            pending["prices"] = reason
        else:
            with timings.step("silver.fuel_prices", echo):
                read_price_seed, merge_price_seed = prices
                merge_price_seed(spark, writer, read_price_seed(), loading.IMPORTED_AT)

        with timings.step("measured energy, coverage", echo):
            measured = spark.sql(measured_sql(registry)).toPandas()
            coverage = spark.sql(hours_sql(registry)).toPandas().sort_values("year")
        with timings.step("regression cross-check (hourly frame + OLS)", echo):
            hourly = hourly_frame(spark, registry, grid_load)
            slopes = slopes_per_year(hourly)
            average = average_intensity_per_year(hourly)

        results = ValidationResults(
            hours_per_year={int(r.year): int(r.hours) for r in coverage.itertuples()},
            span=(str(coverage["first_day"].min()), str(coverage["last_day"].max())),
            measured=measured, average_intensity=average, slopes=slopes, published=read_published(),
            data_note=f"{rows:,} silver rows ({len(hourly):,} hours x types).",
        )
        merit_order, reason = model_interface()
        if merit_order is None or prices is None:
            reason = reason or pending["prices"]
            for section in ("shares", "dispatch", "sensitivity"):
                pending[section] = reason
        else:
            compute_model_sections(spark, registry, writer, merit_order, results, timings, echo, with_sensitivity,
                                   pending)
        results.pending = pending
        echo("  total: " + f"{sum(t for _, t in timings.steps):.1f} s")
        return results
    finally:
        try:
            stop_spark()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def compute_model_sections(spark, registry, writer, merit_order, results, timings, echo, with_sensitivity, pending):
    """Shares, mean marginal factor, implied dispatch and the sensitivity table from the model's own SQL."""
    parameters = merit_order.load_parameters()
    results.parameters = describe_parameters(parameters)
    with timings.step("merit order: marginal units per hour", echo):
        hours_sql_text, means_sql_text = marginal_summary_sql(merit_order, registry, parameters)
        results.marginal_hours = spark.sql(hours_sql_text).toPandas()
        results.mean_marginal = spark.sql(means_sql_text).toPandas()
        results.monthly_marginal = spark.sql(monthly_marginal_sql(merit_order, registry, parameters)).toPandas()
    with timings.step("merit order: implied dispatch", echo):
        dispatch = spark.sql(merit_order.implied_dispatch_sql(registry, parameters=parameters)).toPandas()
        results.dispatch = dispatch[dispatch["region"] == "DE"] if "region" in dispatch else dispatch
    if not with_sensitivity:
        pending["sensitivity"] = "skipped (--no-sensitivity)"
        return
    from merit_validation.sensitivity import sensitivity_table

    with timings.step("sensitivity", echo):
        results.sensitivity = sensitivity_table(spark, registry, writer, merit_order, parameters, echo)


def describe_parameters(parameters) -> dict:
    """name -> value of the calibration, for the document (whatever shape the parameters object has)."""
    if hasattr(parameters, "model_dump"):
        values = parameters.model_dump()
    elif hasattr(parameters, "__dataclass_fields__"):
        from dataclasses import asdict

        values = asdict(parameters)
    else:
        values = dict(vars(parameters))
    return {k: v for k, v in values.items() if not isinstance(v, (pd.DataFrame,))}
