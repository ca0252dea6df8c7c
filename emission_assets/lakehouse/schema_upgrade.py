"""A registered table must hold the declared columns; a table of an earlier layout with a declared
:class:`~emission_assets.lakehouse.registry.SchemaUpgrade` is converted once, automatically, when a session first
registers it (e.g. bronze from the raw ``payload`` text to typed responses).

The conversion rewrites the whole table in one Delta commit (readers see the old or the new layout, never a mix);
the old version stays in the table's history until maintenance vacuums it. Locally it runs under a file lock in
the lakehouse, and the layout is checked again inside the lock, so of two processes starting at once one converts
and the other registers the result. No run writes the table before its registration succeeded.
"""
from __future__ import annotations

import logging
from pathlib import Path

from emission_assets.errors import UserInputError
from emission_assets.lakehouse.registry import UPGRADES, Registry, spec
from emission_assets.lakehouse.writer import DeltaWriter

log = logging.getLogger(__name__)
LOCK_FILE = "_upgrade.lock"  # in the local lakehouse


class TableLayoutError(UserInputError):
    """A table holds other columns than this version declares, and no conversion is known for them."""


def check_layout(spark, registry: Registry, name: str) -> None:
    """Return if ``name`` holds its declared columns; convert it if it holds a known earlier layout; else raise
    :class:`TableLayoutError` naming the table, where it is and what to do."""
    table = spec(name)
    held = spark.table(registry.sql_name(name)).columns
    if set(held) == set(table.column_names):
        return
    upgrade = UPGRADES.get(name)
    if upgrade is None or set(held) != upgrade.from_columns:
        where = registry.path(name) or registry.sql_name(name)
        extra = sorted(set(held) - set(table.column_names))
        missing = sorted(set(table.column_names) - set(held))
        raise TableLayoutError(
            f"table {name} at {where} has columns this version does not know (unexpected: {', '.join(extra) or '-'}; "
            f"missing: {', '.join(missing) or '-'}) and no conversion for them exists: move the folder away and "
            "re-run a materialize of its days (bronze is rebuilt from the reservoir, silver and gold from bronze)"
        )
    if registry.lakehouse_root is None:
        _convert(spark, registry, name)
        return
    from filelock import FileLock

    with FileLock(str(Path(registry.lakehouse_root) / LOCK_FILE)):
        path = registry.path(name)
        if set(spark.read.format("delta").load(path).columns) == set(table.column_names):
            log.info("%s was converted by another process meanwhile", name)
        else:
            _convert(spark, registry, name)
    spark.sql(f"DROP TABLE IF EXISTS {name}")
    spark.sql(f"CREATE TABLE {name} USING DELTA LOCATION '{registry.path(name)}'")


def _convert(spark, registry: Registry, name: str) -> None:
    upgrade = UPGRADES[name]
    path = registry.path(name)
    old = spark.read.format("delta").load(path) if path else spark.table(registry.sql_name(name))
    log.warning("converting %s at %s to this version's layout, once: %s", name, path or registry.sql_name(name),
                upgrade.what)
    DeltaWriter(spark, registry).rewrite(name, upgrade.convert(old))
