"""Dagster wiring for the seed-managed SCD2 dimensions: ``silver.emission_factors`` and ``silver.fuel_prices``,
each the reviewed seed CSV merged as an SCD2 dimension, with blocking checks on its active rows."""

import hashlib
from collections.abc import Callable
from datetime import datetime, timezone
from itertools import pairwise

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)

from emission_assets.factors.dimension import BASES, FACTORS, FAR_FUTURE, PRODUCTION_TYPES, Scd2Dimension, active_rows
from emission_assets.factors.prices import COMMODITIES, PRICES
from emission_assets.orchestration.metadata import OWNERS, table_metadata
from emission_assets.orchestration.resources import SparkResource

KEY = AssetKey(["silver", "emission_factors"])
PRICES_KEY = AssetKey(["silver", "fuel_prices"])
CHECKS = {
    "no_overlapping_validity": "Among active rows, no two versions of one production type and basis overlap in "
    "[valid_from, valid_to).",
    "one_current_row_each": "Exactly one current row per production type x basis (12 SMARD types x direct/lifecycle).",
    "complete_seed": "Every SMARD production type has a factor for both bases.",
}
PRICE_CHECKS = {
    "no_overlapping_validity": "Among active rows, no two versions of one commodity overlap in [valid_from, valid_to).",
    "one_current_row_each": "Exactly one current (open-ended) row per commodity (natural gas, hard coal, oil, EUA).",
    "complete_seed": "Every commodity has at least one price.",
}


def _sample(items: list[str]) -> MetadataValue:
    return MetadataValue.md("\n".join(f"- {i}" for i in items[:50]) or "none")


def evaluate_dimension_checks(active: list[dict], entity: tuple[str, ...],
                              expected: list[tuple]) -> list[AssetCheckResult]:
    """Check results from a dimension's active rows (``retired_at IS NULL``): validity versions of one entity
    (e.g. production type x basis) must not overlap, each expected entity has one current row and some row."""
    versions: dict[tuple, list[dict]] = {}
    for r in active:
        versions.setdefault(tuple(r[c] for c in entity), []).append(r)

    overlaps = []
    for key, rows in sorted(versions.items()):
        rows = sorted(rows, key=lambda r: r["valid_from"])
        for earlier, later in pairwise(rows):
            if (earlier["valid_to"] or FAR_FUTURE) > later["valid_from"]:
                overlaps.append(f"{'/'.join(key)}: {earlier['valid_from']}..{earlier['valid_to']} "
                                f"overlaps {later['valid_from']}..")

    current_counts = {k: sum(1 for r in versions.get(k, []) if r["is_current"]) for k in expected}
    not_one = [f"{'/'.join(k)}: {n} current rows" for k, n in current_counts.items() if n != 1]
    missing = ["/".join(k) for k in expected if not versions.get(k)]
    return [
        AssetCheckResult(check_name="no_overlapping_validity", passed=not overlaps,
                         metadata={"overlaps": len(overlaps), "details": _sample(overlaps)}),
        AssetCheckResult(check_name="one_current_row_each", passed=not not_one,
                         metadata={"violations": len(not_one), "details": _sample(not_one)}),
        AssetCheckResult(check_name="complete_seed", passed=not missing,
                         metadata={"missing": len(missing), "details": _sample(missing)}),
    ]


def evaluate_factor_checks(active_rows: list[dict]) -> list[AssetCheckResult]:
    """Check results from the active rows (``retired_at IS NULL``) of ``silver.emission_factors``."""
    return evaluate_dimension_checks(active_rows, FACTORS.entity, [(t, b) for t in PRODUCTION_TYPES for b in BASES])


def evaluate_price_checks(active_rows: list[dict]) -> list[AssetCheckResult]:
    """Check results from the active rows of ``silver.fuel_prices``."""
    return evaluate_dimension_checks(active_rows, PRICES.entity, [(c,) for c in COMMODITIES])


def dimension_version(active_rows: list[dict]) -> DataVersion:
    """A hash of the active rows: the same after a re-merge that changed nothing, new after a factor change (the
    gold assets' automation counts the dimension only when this changes)."""
    text = "\n".join(sorted(repr(sorted(row.items())) for row in active_rows))
    return DataVersion(hashlib.sha256(text.encode()).hexdigest()[:16])


def read_seed() -> list[dict]:
    """The bundled factor seed (a module-level seam: the factor asset looks it up at run time)."""
    return FACTORS.read_seed()


def read_price_seed() -> list[dict]:
    """The bundled price seed (looked up at run time like :func:`read_seed`)."""
    return PRICES.read_seed()


def dimension_asset(dimension: Scd2Dimension, key: AssetKey, checks: dict[str, str], evaluate, description: str,
                    label: str, read: Callable[[], list[dict]]) -> AssetsDefinition:
    """The Dagster asset that merges the seed ``read()`` returns into ``dimension`` at the run's wall-clock time
    (transaction time) and evaluates its blocking checks on the active rows."""

    @asset(
        key=key,
        tags={"source": "factors"},
        group_name="silver",
        kinds={"spark", "delta", "databricks"},
        owners=OWNERS,
        description=description,
        metadata=table_metadata(dimension.table),
        # ERROR checks, blocking: a failed one fails the step, so nothing downstream runs on what it flagged.
        check_specs=[AssetCheckSpec(name, asset=key, description=text, blocking=True) for name, text in checks.items()],
    )
    def _dimension(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
        lakehouse = spark.open()
        seed = read()
        counts = dimension.merge_seed(lakehouse.spark, lakehouse.writer, seed, datetime.now(timezone.utc))
        active = [r.asDict() for r in active_rows(lakehouse.table(dimension.table)).collect()]
        context.log.info(f"{label}: {counts}, {len(active)} active rows")
        return MaterializeResult(
            metadata={
                "dagster/row_count": len(active),
                "active_rows": len(active),
                "inserted": counts["inserted"],
                "retired": counts["retired"],
                "unchanged": counts["unchanged"],
                "committed": counts["committed"],
                "seed": str(dimension.seed_path.name),
                "seed_rows": len(seed),
            },
            check_results=evaluate(active),
            data_version=dimension_version(active),
        )

    return _dimension


emission_factors_asset = dimension_asset(
    FACTORS, KEY, CHECKS, evaluate_factor_checks,
    "Emission factors (g CO2eq/kWh) per SMARD production type and basis (direct / lifecycle) as an SCD2 dimension "
    "with an audit trail, merged from the reviewed seed emission_assets/data/emission_factors.csv.",
    "emission factors", lambda: read_seed(),
)
fuel_prices_asset = dimension_asset(
    PRICES, PRICES_KEY, PRICE_CHECKS, evaluate_price_checks,
    "Fuel prices (EUR/MWh_th, lower heating value: natural gas, hard coal, oil) and the EUA price (EUR/t_CO2) per "
    "month or year as an SCD2 dimension with source and licence per row, merged from the reviewed seed "
    "emission_assets/data/fuel_prices.csv; the merit order's short-run marginal costs read it.",
    "fuel prices", lambda: read_price_seed(),
)
