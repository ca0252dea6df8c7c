"""Every gold view's SQL, in registration order (views may read earlier views)."""
from __future__ import annotations

import logging
import re
from typing import Callable

from emission_assets.lakehouse.registry import VIEWS, Registry

log = logging.getLogger(__name__)
Builder = Callable[[Registry], str]  # registry -> SELECT statement (names through registry.sql_name)
_GOLD_NAME = re.compile(r"\bgold\.\w+")


def _builders(registry: Registry | None = None) -> dict[str, Builder]:
    """Every gold view's builder; the consumer views only with a registry, and only those that can be created
    safely on it (a pseudonymised view needs the key, an owners-filtered one Unity Catalog)."""
    from emission_assets.gold import aggregates, consumers
    from emission_assets.models import intensity

    builders: dict[str, Builder] = {}
    for module in (intensity, aggregates):
        builders.update(module.BUILDERS)
    if registry is not None:
        builders.update(consumers.builders(registry))
    return builders


def builder(name: str) -> Builder:
    """The SQL builder of one gold view (not the consumer views: see :mod:`emission_assets.gold.consumers`)."""
    try:
        return _builders()[name]
    except KeyError:
        raise KeyError(f"no SQL builder for gold view {name!r}") from None


def view_definitions(registry: Registry) -> dict[str, str]:
    """SQL per view name: the registry's views in its order, then the consumer views.

    A view that reads a gold view which is not defined is left out (logged), so a partial gold layer still
    registers instead of failing every session start.
    """
    builders = _builders(registry)
    unknown = {name for name in builders if name not in VIEWS and not name.startswith("gold.consumer_")}
    if unknown:
        raise KeyError(f"gold views without a registry entry: {sorted(unknown)}")
    ordered = [name for name in VIEWS if name in builders] + [n for n in builders if n not in VIEWS]
    definitions: dict[str, str] = {}
    for name in ordered:
        sql = builders[name](registry)
        missing = {ref for ref in _GOLD_NAME.findall(sql) if ref != name and ref not in definitions}
        if missing:
            log.warning("gold view %s not registered: it reads %s, which is not defined", name, sorted(missing))
            continue
        definitions[name] = sql
    return definitions


def register_views(registry: Registry, spark) -> None:
    """(Re)create every gold view in the session's catalog (e.g. after writing tables a view reads)."""
    registry.create_views(spark, view_definitions(registry))
