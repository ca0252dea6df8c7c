"""Dagster wiring for ``silver.emission_factors``: the reviewed seed CSV merged as an SCD2 dimension."""

import hashlib
from datetime import datetime, timezone
from itertools import pairwise

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)

from emission_assets.factors.dimension import (
    BASES,
    FAR_FUTURE,
    PRODUCTION_TYPES,
    SEED_PATH,
    TABLE,
    current_factors,
    merge_seed,
    read_seed,
)
from emission_assets.orchestration.metadata import OWNERS, table_metadata
from emission_assets.orchestration.resources import SparkResource

KEY = AssetKey(["silver", "emission_factors"])
CHECKS = {
    "no_overlapping_validity": "Among active rows, no two versions of one production type and basis overlap in "
    "[valid_from, valid_to).",
    "one_current_row_each": "Exactly one current row per production type x basis (12 SMARD types x direct/lifecycle).",
    "complete_seed": "Every SMARD production type has a factor for both bases.",
}


def _sample(items: list[str]) -> MetadataValue:
    return MetadataValue.md("\n".join(f"- {i}" for i in items[:50]) or "none")


def evaluate_factor_checks(active_rows: list[dict]) -> list[AssetCheckResult]:
    """Check results from the active rows (``retired_at IS NULL``) of ``silver.emission_factors``."""
    versions: dict[tuple[str, str], list[dict]] = {}
    for r in active_rows:
        versions.setdefault((r["production_type"], r["basis"]), []).append(r)

    overlaps = []
    for (production_type, basis), rows in sorted(versions.items()):
        rows = sorted(rows, key=lambda r: r["valid_from"])
        for earlier, later in pairwise(rows):
            if (earlier["valid_to"] or FAR_FUTURE) > later["valid_from"]:
                overlaps.append(f"{production_type}/{basis}: {earlier['valid_from']}..{earlier['valid_to']} "
                                f"overlaps {later['valid_from']}..")

    expected = [(t, b) for t in PRODUCTION_TYPES for b in BASES]
    current_counts = {k: sum(1 for r in versions.get(k, []) if r["is_current"]) for k in expected}
    not_one = [f"{t}/{b}: {n} current rows" for (t, b), n in current_counts.items() if n != 1]
    missing = [f"{t}/{b}" for t, b in expected if not versions.get((t, b))]
    return [
        AssetCheckResult(check_name="no_overlapping_validity", passed=not overlaps,
                         metadata={"overlaps": len(overlaps), "details": _sample(overlaps)}),
        AssetCheckResult(check_name="one_current_row_each", passed=not not_one,
                         metadata={"violations": len(not_one), "details": _sample(not_one)}),
        AssetCheckResult(check_name="complete_seed", passed=not missing,
                         metadata={"missing": len(missing), "details": _sample(missing)}),
    ]


def dimension_version(active_rows: list[dict]) -> DataVersion:
    """A hash of the active rows: the same after a re-merge that changed nothing, new after a factor change (the
    gold assets' automation counts the dimension only when this changes)."""
    text = "\n".join(sorted(repr(sorted(row.items())) for row in active_rows))
    return DataVersion(hashlib.sha256(text.encode()).hexdigest()[:16])


@asset(
    key=KEY,
    tags={"source": "factors"},
    group_name="silver",
    kinds={"spark", "delta", "databricks"},
    owners=OWNERS,
    description="Emission factors (g CO2eq/kWh) per SMARD production type and basis (direct / lifecycle) as an "
    "SCD2 dimension with an audit trail, merged from the reviewed seed emission_assets/data/emission_factors.csv.",
    metadata=table_metadata(TABLE),
    # ERROR checks, blocking: a failed one fails the step, so nothing downstream runs on what it flagged.
    check_specs=[AssetCheckSpec(name, asset=KEY, description=text, blocking=True) for name, text in CHECKS.items()],
)
def emission_factors_asset(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
    lakehouse = spark.open()
    seed = read_seed()
    counts = merge_seed(lakehouse.spark, lakehouse.writer, seed, datetime.now(timezone.utc))
    active = [r.asDict() for r in current_factors(lakehouse.table(TABLE)).collect()]
    context.log.info(f"emission factors: {counts}, {len(active)} active rows")
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(active),
            "active_rows": len(active),
            "inserted": counts["inserted"],
            "retired": counts["retired"],
            "unchanged": counts["unchanged"],
            "committed": counts["committed"],
            "seed": str(SEED_PATH.name),
            "seed_rows": len(seed),
        },
        check_results=evaluate_factor_checks(active),
        data_version=dimension_version(active),
    )
