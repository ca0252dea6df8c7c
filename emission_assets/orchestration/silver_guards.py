"""Guards at the silver boundary: what a silver asset checks on the rows it is about to write, before it writes them.

- **Negative energy is refused.** Generation and household consumption are never negative (Tibber reports feed-in
  separately), so a negative value is a broken source file (a typo in a CSV export, a corrupted download). The
  asset raises :class:`NegativeEnergyError` naming the value, the interval and the reservoir file (and where that
  file came from) before it writes anything of the days at hand: silver keeps its previous rows, bronze and the
  reservoir keep the file. A newer, corrected version of the file wins on the next run (latest download wins).
- **No series is lost.** A series is what silver holds per local day: (region, production type) for production,
  the home for consumption. If a day's series are in the silver table but not in the rows about to replace the
  day (a reservoir file went missing, a bronze file stopped parsing), that day is *not* replaced: it keeps its
  previous rows, the other days are written, and the asset's ``no_series_lost`` check fails (ERROR, blocking)
  naming day and series. Days silver does not hold yet pass. To drop a series on purpose, ``reset --layer silver``
  and materialise the days again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from dagster import AssetCheckResult, MetadataValue
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from emission_assets.errors import UserInputError
from emission_assets.lakehouse.writer import day_predicate
from emission_assets.timeutil import BERLIN, days_between, from_epoch_ms

SERIES_CHECK = "no_series_lost"
SERIES_CHECK_DESCRIPTION = (
    "No series silver held for a day before this run is missing from the day's new rows (a day that would lose one "
    "is not replaced and keeps its previous rows); days silver did not hold yet pass."
)


class NegativeEnergyError(UserInputError):
    """A source file holds a negative energy value; nothing of the days it covers was written."""


@dataclass(frozen=True)
class SeriesKind:
    """What identifies a series of a silver table within a day, and its energy column."""

    table: str
    asset: str  # as the CLI names it, e.g. "silver/production"
    keys: tuple[str, ...]
    energy_column: str
    unit: str
    # Series (values of the last key column) whose values may be negative: a forecast residual load goes below zero
    # when wind and PV exceed the load. Their negatives are data, not a broken file.
    signed_series: tuple[str, ...] = ()

    def negative(self):
        """Column: the row's value is a negative the guard refuses."""
        below = F.col(self.energy_column) < 0
        if self.signed_series:
            below = below & ~F.col(self.keys[-1]).isin(list(self.signed_series))
        return below


@dataclass
class SeriesGuard:
    """The lost series and the days left unreplaced, accumulated over a run's writes (one per month)."""

    kind: SeriesKind
    lost: list[str] = field(default_factory=list)
    kept_days: list[date] = field(default_factory=list)

    def check_result(self) -> AssetCheckResult:
        return AssetCheckResult(
            check_name=SERIES_CHECK,
            passed=not self.lost,
            metadata={
                "series_lost": len(self.lost),
                "days_not_replaced": ", ".join(d.isoformat() for d in self.kept_days) or "none",
                "lost": _md_list(self.lost),
            },
        )


def _md_list(items: list[str]) -> MetadataValue:
    return MetadataValue.md("\n".join(f"- {i}" for i in items[:50]) or "none")


def series_summary(rows: DataFrame, kind: SeriesKind) -> dict[tuple, tuple[int, int]]:
    """(local day, *series keys) -> (rows, negative values) of a silver frame: one small aggregate."""
    counted = rows.groupBy("year", "month", "day", *kind.keys).agg(
        F.count("*").alias("rows"),
        F.sum(F.when(kind.negative(), 1).otherwise(0)).alias("negatives"),
    ).collect()
    return {(date(r["year"], r["month"], r["day"]), *(r[k] for k in kind.keys)): (r["rows"], r["negatives"])
            for r in counted}


def series_counts(quality: list[dict], kind: SeriesKind) -> dict[tuple, tuple[int, int]]:
    """:func:`series_summary` from the rows of a finer per-day summary (``intervals``, ``negatives`` per group), no
    action: the counts of a series' groups (e.g. its resolutions) summed."""
    counts: dict[tuple, tuple[int, int]] = {}
    for r in quality:
        key = (date(r["year"], r["month"], r["day"]), *(r[k] for k in kind.keys))
        rows, negatives = counts.get(key, (0, 0))
        counts[key] = (rows + r["intervals"], negatives + r["negatives"])
    return counts


def write_ranges(first_day: date, last_day: date, kept: set[date]) -> list[tuple[date, date]]:
    """The contiguous day ranges of ``first_day..last_day`` without the ``kept`` days."""
    ranges: list[tuple[date, date]] = []
    for day in days_between(first_day, last_day):
        if day in kept:
            continue
        if ranges and (day - ranges[-1][1]).days == 1:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def stored_series(lakehouse, kind: SeriesKind, first_day: date, last_day: date) -> dict[tuple, tuple[int, int]]:
    """:func:`series_summary` of the rows the table holds for ``first_day..last_day``: what the guard compares the new
    rows with. A run that writes its range month by month reads it once for the whole range (one action instead of
    one per month): the months it writes are disjoint, so each month's part is what it would read just before."""
    return series_summary(lakehouse.table(kind.table).where(day_predicate(first_day, last_day)), kind)


def guarded_replace(lakehouse, guard: SeriesGuard, rows: DataFrame, first_day: date, last_day: date,
                    bronze: DataFrame, describe_row, summarise,
                    stored: dict[tuple, tuple[int, int]] | None = None) -> list[dict]:
    """Replace the days ``first_day..last_day`` of the guard's table with ``rows``, unless a row is negative (raise,
    nothing written) or a day would lose a series (that day keeps its rows; noted in ``guard``).

    ``describe_row(row)`` says which series and interval a negative row is, for the error message. ``stored``:
    :func:`stored_series` of a range holding ``first_day..last_day``, read before this run wrote any of it (default:
    read here).

    ``summarise``: the table's per-day quality summary (rows grouped by ``year, month, day``, the series keys and
    maybe more, with ``intervals`` and ``negatives`` columns). It runs once on the staged rows and serves as the
    guard's count too (its groups sum to the guard's); its rows of the days written are returned: what the table
    now holds for them, since those days are replaced by exactly the staged rows. The caller then need not read the
    written days back (:func:`~emission_assets.orchestration.silver_support.run_summary`).

    The rows are computed once, into a scratch copy (``DeltaWriter.staged``) that the summary, the error message and
    the write read: each of them would otherwise run the whole transform again (JSON parsing and window functions;
    the engine has no working cache). The writer's range check takes the days from the summary (no action of its
    own). The copy is gone when this returns or raises.
    """
    kind = guard.kind
    with lakehouse.writer.staged(kind.table, rows) as staged:
        quality = [row.asDict() for row in summarise(staged).collect()]
        new = series_counts(quality, kind)
        negatives = sum(n for _, n in new.values())
        if negatives:
            raise negative_energy_error(kind, staged, bronze, negatives, first_day, last_day, describe_row)
        if stored is None:
            old = stored_series(lakehouse, kind, first_day, last_day)
        else:
            old = {key: value for key, value in stored.items() if first_day <= key[0] <= last_day}
        lost = sorted(key for key in old if key not in new)
        kept = sorted({key[0] for key in lost})
        guard.lost += [f"{key[0]} {' '.join(map(str, key[1:]))}: {old[key][0]} rows in {kind.table}, none in the new "
                       "rows" for key in lost]
        guard.kept_days += kept
        new_days = {key[0] for key in new}  # the days of the staged rows: the writer's range check needs no action
        for range_first, range_last in write_ranges(first_day, last_day, set(kept)):
            part = staged if not kept else staged.where(day_predicate(range_first, range_last))
            part_days = new_days if not kept else {d for d in new_days if range_first <= d <= range_last}
            lakehouse.writer.replace_days(kind.table, part, range_first, range_last, days_in_data=part_days)
    return [row for row in quality if date(row["year"], row["month"], row["day"]) not in kept]


def negative_energy_error(kind: SeriesKind, rows: DataFrame, bronze: DataFrame, count: int, first_day: date,
                          last_day: date, describe_row) -> NegativeEnergyError:
    """One line: the first negative value (by interval), its series, interval and file, and what was kept."""
    first = (
        rows.where(kind.negative())
        .withColumn("start_ms", F.unix_millis("interval_start"))
        .orderBy("interval_start", *kind.keys)
        .limit(1)
        .collect()[0]
    )
    origin = bronze.where(F.col("file_name") == first["source_file"]).select("source_url").limit(1).collect()
    came_from = f" (from {origin[0]['source_url']})" if origin and origin[0]["source_url"] else ""
    start = from_epoch_ms(first["start_ms"])
    local = start.astimezone(BERLIN)
    more = f" and {count - 1} more" if count > 1 else ""
    return NegativeEnergyError(
        f"{kind.asset}: negative energy {float(first[kind.energy_column]):g} {kind.unit} for {describe_row(first)} at "
        f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({start:%Y-%m-%dT%H:%MZ}){more}, in reservoir file "
        f"{first['source_file']}{came_from}; nothing of {first_day}..{last_day} was written ({kind.table} keeps its "
        "previous rows, bronze and the reservoir keep the file): correct the source (a newer version of the file "
        "wins) and run again"
    )
