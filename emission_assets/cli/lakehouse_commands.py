"""``query``, ``maintain`` and ``reset``: reading and looking after the lakehouse."""
from __future__ import annotations

import shutil
import sys

import click

from emission_assets.cli.environment import check_environment
from emission_assets.cli.errors import UserError
from emission_assets.settings import paths

LAYERS = ("reservoir", "bronze", "silver", "gold")


@click.command("query")
@click.argument("sql")
def query_command(sql) -> None:
    """Run one read-only query on the lakehouse (tables by registry name, e.g. silver.production) and print CSV.

    SELECT, WITH ... SELECT, SHOW, DESCRIBE and EXPLAIN only: data changes go through the assets and ``reset``."""
    from pyspark.errors import PySparkException

    from emission_assets.lakehouse.read_only_sql import check_read_only
    from emission_assets.lakehouse.session import open_lakehouse

    check_read_only(sql)  # before any session starts: a refused statement touches nothing
    check_environment()
    lakehouse = open_lakehouse()
    try:
        frame = lakehouse.spark.sql(sql).toPandas()
    except PySparkException as error:  # the engine's message names the problem (syntax, unknown table or column)
        from emission_assets.gold.consumers import missing_view_hint
        from emission_assets.gold.views import not_created_hint

        # a consumer view left out on purpose, or a gold view whose asset has not run yet, says why
        hint = missing_view_hint(sql, lakehouse.registry) or not_created_hint(sql, lakehouse.spark, lakehouse.registry)
        raise UserError(f"query failed: {hint or str(error).splitlines()[0]}") from None
    frame.to_csv(sys.stdout, index=False)


@click.command("maintain")
@click.option("--retain-hours", type=click.IntRange(min=1), default=168, show_default=True,
              help="keep files that a table version of the last this many hours still needs")
def maintain_command(retain_hours) -> None:
    """Compact small files and vacuum replaced ones in every lakehouse table (what the weekly schedule runs)."""
    from tabulate import tabulate

    from emission_assets.lakehouse.session import open_lakehouse
    from emission_assets.orchestration.maintenance import maintain_all

    check_environment()
    results = maintain_all(open_lakehouse().writer, retain_hours)
    click.echo(tabulate(results, headers="keys", tablefmt="github"))


@click.command("reset")
@click.option("--layer", type=click.Choice([*LAYERS, "all"]), default="all", show_default=True)
@click.option("--yes", is_flag=True, help="do not ask")
def reset_command(layer, yes) -> None:
    """Delete a layer's local data (``all`` also clears the Dagster run history) for a fresh start."""
    home = paths()
    targets = {
        "reservoir": [home.reservoir],
        **{name: [home.lakehouse / name] for name in ("bronze", "silver", "gold")},
    }
    chosen = [p for name in (LAYERS if layer == "all" else [layer]) for p in targets[name]]
    if layer == "all":
        chosen.append(home.dagster_home)
    if not yes:
        click.confirm(f"delete {', '.join(map(str, chosen))}?", abort=True)
    for target in chosen:
        if target.exists():  # a read-only home fails here in one line (CommandLine), not with a false "removed"
            try:
                shutil.rmtree(target)
            except OSError as error:  # rmtree names the entry relative to its folder: name the layer instead
                raise OSError(error.errno, error.strerror, str(target)) from None
        click.echo(f"removed {target}")

