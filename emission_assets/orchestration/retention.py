"""Reservoir retention: delete raw files older than the retention, but only those bronze has ingested.

Bronze keeps every file's content (and its ``file_name``, the reservoir-relative name): typed, every field the
product reads (SMARD's series and meta data; Tibber's nodes and samples), and a file that does not parse as its
text; so a raw file that bronze holds can go after a while (fields outside those shapes, e.g. a Tibber page's
``pageInfo``, go with it); a file bronze has not ingested yet is never deleted, however old. Age is the sidecar's
``fetched_at`` (download or import time), not the series it covers. The sidecar is removed before the payload, so a
reader (which lists sidecars) never finds a sidecar without its payload.

Note: the reservoir assets decide which days are present from the reservoir, so a day whose files were removed is
fetched again if a run for it is requested later (bronze then holds both versions; silver takes the latest).

Quarantined files (``_quarantine/``, files that did not match their sidecar, see
:mod:`emission_assets.lakehouse.reservoir_integrity`) are never deleted here, whatever their age: they are the evidence of
what went wrong, and for an imported file that cannot be fetched again, possibly the only copy. The job counts them
in its log line and metadata, so they are not forgotten; the user deletes them by hand.
"""

import json
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from dagster import Config, MetadataValue, OpExecutionContext, Output, job, op
from pydantic import Field

from emission_assets.lakehouse.reservoir import (
    META_SUFFIX,
    PAYLOAD_SUFFIX,
    QUARANTINE_DIR,
    Reservoir,
    ReservoirFile,
)
from emission_assets.orchestration.resources import ReservoirResource, SparkResource
from emission_assets.orchestration.source import Source, source_of_file
from emission_assets.timeutil import UTC

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30.0


def all_files(reservoir: Reservoir) -> list[ReservoirFile]:
    """Every complete file (payload with sidecar) of the sources' folders, by name; not the quarantine (nor other
    ``_``-folders such as Auto Loader checkpoints)."""
    root = reservoir.root
    if not root.is_dir():
        return []
    files = []
    for meta_path in sorted(root.rglob(f"*{META_SUFFIX}")):
        if meta_path.relative_to(root).parts[0].startswith("_"):
            continue
        stem = meta_path.name[: -len(META_SUFFIX)]
        payload = meta_path.with_name(stem + PAYLOAD_SUFFIX)
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as error:  # unreadable sidecar: leave the file alone, say so
            log.warning("reservoir retention: skipping %s (%s)", meta_path, error)
            continue
        files.append(ReservoirFile(payload, payload.relative_to(root).as_posix(), meta))
    return files


def bronze_tables(sources: Sequence[Source]) -> dict[str, str]:
    """Source name -> the bronze table that proves a file of its reservoir folders was ingested."""
    return {s.name: s.bronze_table for s in sources if s.reservoir_folders and s.bronze_table}


def source_of(name: str, sources: Sequence[Source]) -> str | None:
    """The name of the source whose reservoir folders hold the reservoir-relative file ``name``."""
    owner = source_of_file(sources, name)
    return owner.name if owner else None


def _fetched_at(file: ReservoirFile) -> datetime | None:
    try:
        moment = datetime.fromisoformat(file.meta["fetched_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def expired_files(
    reservoir: Reservoir, ingested_names: set[str], older_than: timedelta, now: datetime
) -> list[ReservoirFile]:
    """Files fetched before ``now - older_than`` whose name bronze holds; never an un-ingested file.

    Files without a readable ``fetched_at`` are kept (their age is unknown).
    """
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: times must be timezone-aware")
    if older_than < timedelta(0):
        raise ValueError(f"retention {older_than} is negative")
    cutoff = now - older_than
    expired = []
    for file in all_files(reservoir):
        if file.name not in ingested_names:
            continue
        fetched_at = _fetched_at(file)
        if fetched_at is not None and fetched_at < cutoff:
            expired.append(file)
    return expired


def quarantined_count(reservoir: Reservoir) -> int:
    """How many payloads (or sidecars without one) sit in the quarantine: kept by retention, listed in its log."""
    folder = reservoir.root / QUARANTINE_DIR
    if not folder.is_dir():
        return 0
    return sum(1 for _ in folder.rglob(f"*{META_SUFFIX}"))


def _remove(file: ReservoirFile) -> None:
    meta_path = file.path.with_name(file.path.name[: -len(PAYLOAD_SUFFIX)] + META_SUFFIX)
    meta_path.unlink(missing_ok=True)  # sidecar first: readers only list files that have one
    file.path.unlink(missing_ok=True)


def delete_expired(
    reservoir: Reservoir,
    ingested_names: set[str],
    older_than: timedelta,
    now: datetime,
    *,
    dry_run: bool = False,
) -> list[ReservoirFile]:
    """Delete :func:`expired_files` (sidecar, then payload); returns what was removed (or would be, ``dry_run``)."""
    expired = expired_files(reservoir, ingested_names, older_than, now)
    if not dry_run:
        for file in expired:
            _remove(file)
    return expired


def ingested_names(lakehouse, sources: Sequence[Source]) -> dict[str, set[str]]:
    """``file_name`` of every bronze row, per source (only that column is read)."""
    names = {}
    for source, table in bronze_tables(sources).items():
        rows = lakehouse.table(table).select("file_name").distinct().collect()
        names[source] = {row[0] for row in rows}
    return names


class RetentionConfig(Config):
    retention_days: float = Field(
        ge=0, default=DEFAULT_RETENTION_DAYS, description="delete ingested reservoir files fetched longer ago than this"
    )
    dry_run: bool = Field(default=False, description="only report what would be deleted")


def retention_job_for(sources: Sequence[Source]):
    """``retention_job`` over the reservoir folders and bronze tables of ``sources`` (their descriptors)."""
    tables = bronze_tables(sources)
    retained = [s for s in sources if s.name in tables]

    @op(
        description="Delete reservoir files (payload + sidecar) older than the retention that bronze has ingested.",
        tags={"kind": "retention"},
    )
    def reservoir_retention(
        context: OpExecutionContext, config: RetentionConfig, reservoir: ReservoirResource, spark: SparkResource
    ) -> Output[dict]:
        return _retain(context, config, reservoir, spark, retained)

    @job(description="Delete ingested reservoir files older than the retention (default 30 days).")
    def retention_job():
        reservoir_retention()

    return retention_job


def _retain(context, config: RetentionConfig, reservoir: ReservoirResource, spark: SparkResource,
            sources: Sequence[Source]) -> Output[dict]:
    store = reservoir.store()
    names_by_source = ingested_names(spark.open(), sources)
    ingested = set().union(*names_by_source.values())
    now = datetime.now(UTC)
    retention = timedelta(days=config.retention_days)
    removed = delete_expired(store, ingested, retention, now, dry_run=config.dry_run)
    counts = Counter(source_of(f.name, sources) for f in removed)
    per_source = {source: counts.get(source, 0) for source in names_by_source}
    verb = "would remove" if config.dry_run else "removed"
    quarantined = quarantined_count(store)
    context.log.info(
        f"reservoir retention ({config.retention_days:g} days, cutoff {(now - retention).isoformat()}): {verb} "
        + ", ".join(f"{n} {source}" for source, n in per_source.items())
        + f" file(s); bronze holds {len(ingested)} file name(s)"
    )
    if quarantined:
        context.log.warning(
            f"reservoir retention kept {quarantined} quarantined file(s) in {store.root / QUARANTINE_DIR} (never "
            "deleted automatically; see each <name>.reason.json, then delete them by hand)"
        )
    return Output(
        {"removed": [f.name for f in removed], "per_source": per_source},
        metadata={
            **{f"removed_{source}": n for source, n in per_source.items()},
            "removed_total": len(removed),
            "dry_run": config.dry_run,
            "retention_days": config.retention_days,
            "ingested_names": len(ingested),
            "quarantined_kept": quarantined,
            "sample": MetadataValue.md("\n".join(f"- {f.name}" for f in removed[:50]) or "none"),
        },
    )
