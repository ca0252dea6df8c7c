"""Every gold view's SQL builder, in creation order (views may read earlier views and the gold tables).

The views are created by their assets (:mod:`emission_assets.gold.assets`), not at session start; this module only
knows their SQL. :func:`view_definitions` gives all of them at once, for tests and tools.
"""
from __future__ import annotations

import logging
import re
from typing import Callable

from emission_assets.lakehouse.registry import TABLES, VIEWS, Registry

log = logging.getLogger(__name__)
Builder = Callable[[Registry], str]  # registry -> SELECT statement (names through registry.sql_name)
_GOLD_NAME = re.compile(r"\bgold\.\w+")


def view_builders() -> dict[str, Builder]:
    """Builder per gold view of the registry's VIEWS (not the consumer views: see
    :mod:`emission_assets.gold.consumers`), in the registry's order."""
    from emission_assets.gold import aggregates, ev_savings, market_based
    from emission_assets.models.production import production_emissions_sql

    builders: dict[str, Builder] = {"gold.production_emissions": production_emissions_sql, **aggregates.VIEW_BUILDERS,
                                    market_based.VIEW: market_based.market_based_sql, **ev_savings.VIEW_BUILDERS}
    unknown = set(builders) - set(VIEWS)
    if unknown:
        raise KeyError(f"gold views without a registry entry: {sorted(unknown)}")
    return {name: builders[name] for name in VIEWS if name in builders}


def builder(name: str) -> Builder:
    """The SQL builder of one gold view (not the consumer views)."""
    try:
        return view_builders()[name]
    except KeyError:
        raise KeyError(f"no SQL builder for gold view {name!r}") from None


def gold_reads(sql: str, itself: str | None = None) -> set[str]:
    """The gold tables and views a SELECT names (other than ``itself``)."""
    return {ref for ref in _GOLD_NAME.findall(sql) if ref != itself}


def view_definitions(registry: Registry) -> dict[str, str]:
    """SQL per view name: the registry's views in its order, then the consumer views that can be created here.

    A view that reads a gold view which is not defined is left out (logged)."""
    from emission_assets.gold import consumers

    builders: dict[str, Builder] = dict(view_builders())
    try:
        builders.update(consumers.builders(registry))
    except ValueError as error:  # a broken consumer config fails its asset, not every view
        log.warning("consumer views left out: %s", error)
    definitions: dict[str, str] = {}
    for name, build in builders.items():
        sql = build(registry)
        missing = {ref for ref in gold_reads(sql, name) if ref not in definitions and ref not in TABLES}
        if missing:
            log.warning("gold view %s not defined: it reads %s, which is not defined", name, sorted(missing))
            continue
        definitions[name] = sql
    return definitions


def register_views(registry: Registry, spark) -> None:
    """(Re)create every gold view in the session's catalog at once (tests and tools; the assets create them one by
    one)."""
    registry.create_views(spark, view_definitions(registry))


def not_created_hint(sql: str, spark, registry: Registry) -> str | None:
    """Why a gold view that ``sql`` names does not exist yet (for the ``query`` command's error), or None."""
    named = [name for name in VIEWS if re.search(rf"\b{re.escape(name)}\b", sql)]
    if not named:
        return None
    schema = f"{registry.catalog}.gold" if registry.catalog else "gold"
    existing = {f"gold.{r.viewName if hasattr(r, 'viewName') else r.tableName}"
                for r in spark.sql(f"SHOW VIEWS IN {schema}").collect()}
    missing = [name for name in named if name not in existing]
    if not missing:
        return None
    return (f"{missing[0]} does not exist yet: the gold view assets create the views; materialise them, e.g. "
            f"emission-tracker materialize --start <day> --end <day> --select key:{missing[0].replace('.', '/')}")
