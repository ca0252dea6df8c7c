"""What the silver assets of every source share: check specs, the read-back of written days, and unparsed files."""
from datetime import date

from dagster import AssetCheckSpec, AssetKey, MetadataValue

from emission_assets.lakehouse.writer import day_predicate

REFETCHED = "the days of this run they covered are fetched again unless another intact file covers them"



def check_specs(checks: dict[str, str], key: AssetKey, warn: frozenset[str] | set[str] = frozenset()) -> list[AssetCheckSpec]:
    """Specs of an asset's checks, blocking unless the check is a warning (Dagster blocks on ERROR results only)."""
    return [AssetCheckSpec(name, asset=key, description=text, blocking=name not in warn)
            for name, text in checks.items()]


def written_days(lakehouse, table: str, first_day: date, last_day: date, summarise):
    """The days a run just wrote (read back: checks judge what is stored) and their per-day summary rows."""
    written = lakehouse.table(table).where(day_predicate(first_day, last_day))
    return written, [row.asDict() for row in summarise(written).collect()]


def run_summary(lakehouse, table: str, first_day: date, last_day: date, summarise, staged_summary: list[dict],
                kept_days: list[date]):
    """:func:`written_days` from what the run's writes returned (``guarded_replace(..., summarise=...)``: the summary
    of the staged rows that replaced each day), without reading the days back: one action less (~1 s for a year of
    silver.production). Read back as before when the guard kept days: their stored rows are not in the staged
    summary."""
    if kept_days:
        return written_days(lakehouse, table, first_day, last_day, summarise)
    return lakehouse.table(table).where(day_predicate(first_day, last_day)), staged_summary


def written_metadata(summary: list[dict], first_day: date, last_day: date) -> dict:
    """Row count and time range of the written days, from the summary (no further Spark action)."""
    starts = [r["first_start"] for r in summary]
    ends = [r["last_end"] for r in summary]
    return {
        "dagster/row_count": sum(r["intervals"] for r in summary),
        "days": (last_day - first_day).days + 1,
        "first_interval_start": str(min(starts)) if starts else "none",
        "last_interval_end": str(max(ends)) if ends else "none",
    }


def report_unparsed(context, asset: str, findings: set[str]) -> dict:
    """Warn about bronze files that gave no rows because of their shape ("name: why"; bronze and the reservoir keep
    them, so nothing is lost) and return the asset metadata that lists them."""
    unparsed = sorted(findings)
    if unparsed:
        context.log.warning(
            f"{asset} skipped {len(unparsed)} bronze file(s) of an unknown shape (kept in bronze and the reservoir): "
            f"{'; '.join(unparsed[:20])}"
        )
    return {"unparsed_bronze_files": len(unparsed), "unparsed": sample_list(unparsed)}


def sample_list(items: list[str]) -> MetadataValue:
    """The first 50 findings as a markdown list, for the check's page in the UI."""
    return MetadataValue.md("\n".join(f"- {i}" for i in items[:50]) or "none")


