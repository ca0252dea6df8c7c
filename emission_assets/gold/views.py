"""Every gold view's SQL, in registration order (views may read earlier views)."""
from __future__ import annotations

from typing import Callable

from emission_assets.lakehouse.registry import VIEWS, Registry

Builder = Callable[[Registry], str]  # registry -> SELECT statement (names through registry.sql_name)


def _builders() -> dict[str, Builder]:
    from emission_assets.gold import aggregates, consumers, intensity

    builders: dict[str, Builder] = {}
    for module in (intensity, aggregates, consumers):
        builders.update(module.BUILDERS)
    return builders


def view_definitions(registry: Registry) -> dict[str, str]:
    """SQL per view name, in the registry's order, then the consumer views."""
    builders = _builders()
    unknown = {name for name in builders if name not in VIEWS and not name.startswith("gold.consumer_")}
    if unknown:
        raise KeyError(f"gold views without a registry entry: {sorted(unknown)}")
    ordered = [name for name in VIEWS if name in builders] + [n for n in builders if n not in VIEWS]
    return {name: builders[name](registry) for name in ordered}
