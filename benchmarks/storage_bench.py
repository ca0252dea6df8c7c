"""The backfill on each Dagster storage in one benchmark run, and what its events cost (``bench.py --storages``).

``sqlite`` is the zero-setup default (files under the Dagster home); ``postgres`` is dagster-postgres on a real
PostgreSQL server started from the ``pgserver`` wheel in the benchmark's work directory (a Unix socket, no root
needed), with the batched event writes ``EMISSION_DAGSTER_POSTGRES_URL`` turns on. Each storage gets its own home
(lakehouse, reservoir, Dagster home) and backfills the same window files.

Per storage it reports, from the runs' own event logs (public ``DagsterInstance`` methods):

- the events by type (the volume), and the materialisations by asset (one per partition: the part that grows with
  the days);
- the in-run write time of the materialisations: per step, from its first ``ASSET_MATERIALIZATION`` to the event
  after its last one (Dagster creates them in a tight loop and stores each before the next on SQLite, the whole
  batch in one INSERT on Postgres), divided by their number;
- a probe: ``report_runless_asset_event`` of :data:`PROBE_EVENTS` materialisations, one store each (unbatched),
  timed: the cost of a single event write on that storage.
"""
from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

STORAGES = ("sqlite", "postgres")
POSTGRES_URL_VARIABLE = "EMISSION_DAGSTER_POSTGRES_URL"
EVENT_BATCH_SIZE_VARIABLE = "DAGSTER_EVENT_BATCH_SIZE"
PROBE_EVENTS = 200
PROBE_ASSET = "benchmark_probe"
LOG_MESSAGE = "(log message)"  # an event without a Dagster event type: context.log and Dagster's own log lines


def parse_storages(value: str) -> list[str]:
    """``sqlite,postgres`` -> ["sqlite", "postgres"]; the first one runs the whole benchmark, the others the
    backfill. Raises ValueError naming a storage that does not exist or is listed twice."""
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in STORAGES]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(f"--storages {value!r}: expected a comma-separated list of {', '.join(STORAGES)}, each once")
    return names


class Servers:
    """The PostgreSQL server of the benchmark (started on first use, stopped and deleted at the end), one database
    per storage run."""

    def __init__(self, work: Path):
        self.work = work
        self._server = None
        self.unavailable: str | None = None

    def postgres_url(self, database: str) -> str | None:
        """A new database's URL, or None (with :attr:`unavailable` saying why) if pgserver cannot start."""
        from emission_assets_tests.support.postgres import PostgresUnavailable, new_database, start_server

        if self._server is None and self.unavailable is None:
            try:
                started = time.perf_counter()
                self._server = start_server(self.work / "postgres")
                print(f"PostgreSQL (pgserver) started in {time.perf_counter() - started:.1f} s")
            except PostgresUnavailable as error:
                self.unavailable = str(error)
        if self._server is None:
            return None
        return new_database(self._server, database, password=os.urandom(12).hex())

    def close(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def use_storage(name: str, home: Path, servers: Servers) -> bool:
    """Point the process (and the commands it starts) at ``home`` with storage ``name``; False if that storage is
    not available (the reason in ``servers.unavailable``)."""
    os.environ["EMISSION_HOME"] = str(home)
    os.environ.pop(POSTGRES_URL_VARIABLE, None)
    os.environ.pop(EVENT_BATCH_SIZE_VARIABLE, None)  # set again by the CLI for Postgres
    if name == "postgres":
        url = servers.postgres_url(f"dagster_{home.name}")
        if url is None:
            return False
        os.environ[POSTGRES_URL_VARIABLE] = url
    return True


def environment() -> dict[str, str | None]:
    """The variables :func:`use_storage` sets, to go back to them with :func:`restore`."""
    return {name: os.environ.get(name) for name in ("EMISSION_HOME", POSTGRES_URL_VARIABLE, EVENT_BATCH_SIZE_VARIABLE)}


def restore(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@dataclass
class StorageFigures:
    storage: str
    wall: float
    steps_seconds: float
    peak_rss_mb: float
    events: Counter = field(default_factory=Counter)
    materialisations_by_asset: Counter = field(default_factory=Counter)
    write_seconds_by_asset: Counter = field(default_factory=Counter)
    probe_ms_per_event: float = float("nan")
    same_numbers: bool = False

    @property
    def materialisations(self) -> int:
        return sum(self.materialisations_by_asset.values())

    @property
    def materialisation_write_seconds(self) -> float:
        return sum(self.write_seconds_by_asset.values())

    @property
    def ms_per_materialisation(self) -> float:
        return 1000 * self.materialisation_write_seconds / self.materialisations if self.materialisations else 0.0


def measure(storage: str, wall: float, run_ids: list[str], steps, peak_rss_mb: float, same_numbers: bool
            ) -> StorageFigures:
    """The event figures of a backfill's runs on the current instance, and the probe."""
    from dagster import DagsterEventType, DagsterInstance

    figures = StorageFigures(storage, wall, sum(s for _, _, _, s in steps), peak_rss_mb, same_numbers=same_numbers)
    with DagsterInstance.get() as instance:
        for run_id in run_ids:
            by_step = defaultdict(list)
            for entry in instance.all_logs(run_id):
                kind = entry.dagster_event_type
                figures.events[kind.value if kind else LOG_MESSAGE] += 1
                by_step[entry.step_key].append(entry)
            for entries in by_step.values():
                assets = Counter(e.dagster_event.asset_key.to_user_string() for e in entries
                                 if e.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION)
                figures.materialisations_by_asset.update(assets)
                span = _write_span(entries)
                for asset, count in assets.items():  # a multi-asset step's span, shared by event count
                    figures.write_seconds_by_asset[asset] += span * count / sum(assets.values())
        figures.probe_ms_per_event = _probe(instance)
    return figures


def _write_span(entries) -> float:
    """Seconds from a step's first materialisation event to the event after its last one (0 without any)."""
    from dagster import DagsterEventType

    entries = sorted(entries, key=lambda e: e.timestamp)
    indexes = [i for i, e in enumerate(entries) if e.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION]
    if not indexes:
        return 0.0
    after = entries[indexes[-1] + 1] if indexes[-1] + 1 < len(entries) else entries[indexes[-1]]
    return after.timestamp - entries[indexes[0]].timestamp


def _probe(instance) -> float:
    """Milliseconds per runless materialisation, stored one at a time (public API), with metadata of the size a
    partition's materialisation carries."""
    from dagster import AssetMaterialization

    metadata = {"rows": 96, "dagster/row_count": 96, "table": "silver.production", "partition_rows": 96}
    started = time.perf_counter()
    for index in range(PROBE_EVENTS):
        instance.report_runless_asset_event(
            AssetMaterialization(asset_key=PROBE_ASSET, partition=f"p{index}", metadata=metadata))
    return 1000 * (time.perf_counter() - started) / PROBE_EVENTS


def print_comparison(results: list[StorageFigures], skipped: dict[str, str], days: int) -> None:
    from tabulate import tabulate

    for name, reason in skipped.items():
        print(f"\nstorage {name}: not measured: {reason}")
    if not results:
        return
    names = [r.storage for r in results]
    print(f"\nbackfill ({days} days) per Dagster storage (first: the headline run; the others run after it, "
          "with the engine already started):")
    rows = [
        ("backfill wall", *[f"{r.wall:,.1f} s" for r in results]),
        ("sum of steps", *[f"{r.steps_seconds:,.1f} s" for r in results]),
        ("Dagster / session overhead (wall - steps)", *[f"{r.wall - r.steps_seconds:,.1f} s" for r in results]),
        ("peak RSS (process incl. embedded Sail)", *[f"{r.peak_rss_mb:,.0f} MB" for r in results]),
        ("events in the backfill runs", *[f"{sum(r.events.values()):,}" for r in results]),
        ("ASSET_MATERIALIZATION events", *[f"{r.materialisations:,}" for r in results]),
        ("their in-run time (first to after last, per step, summed; creating + storing them)",
         *[f"{r.materialisation_write_seconds:,.2f} s" for r in results]),
        ("in-run time per materialisation event", *[f"{r.ms_per_materialisation:,.2f} ms" for r in results]),
        ("steps without that time (the work itself: the same on both)",
         *[f"{r.steps_seconds - r.materialisation_write_seconds:,.1f} s" for r in results]),
        ("what the storage decides: that time + the overhead outside steps",
         *[f"{r.materialisation_write_seconds + r.wall - r.steps_seconds:,.1f} s" for r in results]),
        (f"probe: one runless materialisation stored alone ({PROBE_EVENTS} timed)",
         *[f"{r.probe_ms_per_event:,.2f} ms" for r in results]),
        ("same numbers as the DuckDB floor", *["yes" if r.same_numbers else "NO" for r in results]),
    ]
    print(tabulate(rows, headers=["figure", *names], tablefmt="github"))

    kinds = sorted({k for r in results for k in r.events}, key=lambda k: -results[0].events.get(k, 0))
    print(f"\nevents of the backfill runs by type ({days} days):")
    print(tabulate([(kind, *[f"{r.events.get(kind, 0):,}" for r in results]) for kind in kinds],
                   headers=["event type", *names], tablefmt="github"))

    assets = sorted({a for r in results for a in r.materialisations_by_asset})
    print("\nmaterialisation events per asset (one per partition) and their in-run time:")
    table = []
    for asset in assets:
        row = [asset, f"{results[0].materialisations_by_asset.get(asset, 0):,}"]
        row += [f"{r.write_seconds_by_asset.get(asset, 0.0):,.2f} s" for r in results]
        table.append(row)
    print(tabulate(table, headers=["asset", "events", *[f"{n} s" for n in names]], tablefmt="github"))
    walls = ", ".join(f"{r.storage} {r.wall:,.1f} s" for r in results)
    per_event = ", ".join(f"{r.storage} {r.ms_per_materialisation:,.2f} ms" for r in results)
    print(f"backfill wall by storage: {walls}; time per materialisation event: {per_event}")
