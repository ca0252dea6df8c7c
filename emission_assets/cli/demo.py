"""``demo``: the bundled SMARD and Tibber data, offline, end to end."""
from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import click

from emission_assets.cli.ev_summary import print_ev_summary
from emission_assets.cli.report_commands import print_report
from emission_assets.cli.runs import finish_runs, run_materialize
from emission_assets.settings import emission_home, paths, settings

DEMO_REPLAY = Path(__file__).resolve().parents[1] / "data" / "smard_replay"


# (first day, last day, SMARD resolution, assets) of the bundled data: the sample household's year 2022 with
# hourly production, the emission factors and the report; then eleven quarter-hourly production days of 2025.
# Redispatch is left out: the bundle has none for these days (real redispatch data may not be shipped).
DEMO_RANGES = [
    (date(2022, 1, 1), date(2022, 12, 31), "hour",
     ["tag:source=smard", "tag:source=tibber", "tag:source=factors", "tag:source=gold"]),
    (date(2025, 8, 28), date(2025, 9, 7), "quarterhour", ["tag:source=smard"]),
]


DEMO_REPORT = (date(2022, 1, 1), date(2022, 12, 31))


@click.command("demo")
def demo_command() -> None:
    """Materialise the bundled SMARD weeks offline (replayed API) and print what the lakehouse holds."""
    from tabulate import tabulate

    from emission_assets.gold.heatmap import heatmap_summary  # here: pandas only when the demo runs
    from emission_assets.orchestration.run_control import SignalGuard
    from emission_assets.smard.catalog import INGEST_FILTERS  # the bundled DE grid load too (silver.grid_load)
    from emission_assets.tibber.sample import SAMPLE_API_URL

    os.environ.setdefault("SMARD_BASE_URL", DEMO_REPLAY.as_uri())
    os.environ.setdefault("TIBBER_API_URL", SAMPLE_API_URL)
    click.echo(f"home: {emission_home()}\nSMARD: {settings().smard.base_url}\nTibber: {settings().tibber.api_url}")
    for first, last, resolution, selection in DEMO_RANGES:
        started, results = time.monotonic(), []
        with SignalGuard():
            result = run_materialize(first, last, selection, {"resolution": resolution, "filters": list(INGEST_FILTERS)}, results)
        click.echo(f"{first}..{last} ({resolution}): {'ok' if result.success else 'FAILED'} "
                   f"in {time.monotonic() - started:.1f} s")
        finish_runs(results)
    click.echo(tabulate(demo_summary(), headers="keys", tablefmt="github"))
    click.echo(f"\nCO2 of the sample household by attribution model, {DEMO_REPORT[0]}..{DEMO_REPORT[1]} (direct):")
    print_report(*DEMO_REPORT, "direct", heatmaps=False)  # heatmap_summary below writes them
    click.echo("market_based uses the German residual mix unless you set your supplier's disclosed figure: "
               "EMISSION_SUPPLIER_G_PER_KWH=<g/kWh> EMISSION_SUPPLIER_SOURCE='<supplier, Stromkennzeichnung year>'")
    click.echo(heatmap_summary(*DEMO_REPORT))  # the cleanest hours and the heat map (gold.intensity_profile)
    print_ev_summary(*DEMO_REPORT, "direct")


def demo_summary() -> list[dict]:
    """Rows per table, the time range they cover, and what they add up to."""
    from emission_assets.lakehouse.session import open_lakehouse

    sql = open_lakehouse().spark.sql
    rows = [{"table": "reservoir (files)", "rows": sum(1 for _ in paths().reservoir.rglob("*.meta.json"))}]
    for table, column in (("bronze.smard_responses", "window_start"), ("bronze.tibber_responses", "series_start")):
        r = sql(f"SELECT count(*) AS n, min({column}) AS a, max({column}) AS b FROM {table}").collect()[0]
        rows.append({"table": table, "rows": r.n, "from (UTC)": r.a, "to (UTC)": r.b})
    for r in sql(
        "SELECT resolution, count(*) AS n, count(DISTINCT production_type) AS types, min(interval_start) AS a, "
        "max(interval_end) AS b, sum(energy_mwh) AS mwh FROM silver.production GROUP BY resolution ORDER BY a"
    ).collect():
        rows.append({"table": f"silver.production ({r.resolution})", "rows": r.n, "from (UTC)": r.a, "to (UTC)": r.b,
                     "totals": f"{r.types} types, {r.mwh:,.0f} MWh"})
    for r in sql(
        "SELECT source, count(*) AS n, min(interval_start) AS a, max(interval_end) AS b, sum(energy_kwh) AS total, "
        "sum(ev_kwh) AS ev, sum(household_kwh) AS household FROM silver.consumption GROUP BY source"
    ).collect():
        rows.append({"table": f"silver.consumption ({r.source})", "rows": r.n, "from (UTC)": r.a, "to (UTC)": r.b,
                     "totals": f"{r.total:,.1f} kWh = {r.household:,.1f} household + {r.ev:,.1f} EV"})
    return rows

