"""The views the gold view assets created, kept so that a new process sees them too.

Sail's catalog lives in memory: a view created by an asset run is gone when the process ends. Locally, each view
asset records the view's name and SQL in ``<lakehouse>/_views.json`` (written atomically: a temporary file, then
``os.replace``, under a file lock so that two processes recording views at once lose neither), and :func:`restore_views` re-creates them when a session opens the lakehouse. Each view is
re-created on its own: one that fails (its SQL reads something that is gone) is logged and skipped, never breaks the
session. On Unity Catalog the views live in the catalog itself: nothing is written, nothing restored.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from filelock import FileLock

from emission_assets.lakehouse.registry import Registry

log = logging.getLogger(__name__)
CATALOG_FILE = "_views.json"


def catalog_path(registry: Registry) -> Path | None:
    """Where the local view catalog lives; None on Unity Catalog (views persist in the catalog)."""
    return None if registry.lakehouse_root is None else registry.lakehouse_root / CATALOG_FILE


def persisted_views(registry: Registry) -> dict[str, str]:
    """View name -> SELECT as last created by a view asset, in creation order (empty if none or unreadable)."""
    path = catalog_path(registry)
    if path is None or not path.is_file():
        return {}
    try:
        views = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        log.warning("ignoring the view catalog %s (%s): materialise the gold view assets to rebuild it", path, error)
        return {}
    if not isinstance(views, dict):
        log.warning("ignoring the view catalog %s: not a JSON object", path)
        return {}
    return {str(name): str(sql) for name, sql in views.items()}


def _write(path: Path, views: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(views, out, indent=1)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _lock(path: Path) -> FileLock:
    """The lock of a read-modify-write of the catalog file (two view assets of two runs may record at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path.with_name(f".{path.name}.lock"))


def remember_view(registry: Registry, name: str, sql: str) -> None:
    """Record a created view (keeps its place in the order if it was there already)."""
    path = catalog_path(registry)
    if path is None:
        return
    with _lock(path):
        views = persisted_views(registry)
        views[name] = sql
        _write(path, views)


def forget_view(registry: Registry, name: str) -> None:
    """Drop a view from the record (a consumer view that may no longer be created here)."""
    path = catalog_path(registry)
    if path is None:
        return
    with _lock(path):
        views = persisted_views(registry)
        if name in views:
            del views[name]
            _write(path, views)


def restore_views(spark, registry: Registry) -> list[str]:
    """Re-create the recorded views in this session, each in its own try; returns the names that failed."""
    pending = persisted_views(registry)
    failed: dict[str, str] = {}
    # Two passes: a view recorded before one it reads (re-created in another order) succeeds the second time.
    for _ in range(2):
        failed = {}
        for name, sql in pending.items():
            try:
                spark.sql(f"CREATE OR REPLACE VIEW {registry.sql_name(name)} AS {sql}")
            except Exception as error:  # noqa: BLE001 - a broken view must never break the session
                failed[name] = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        if not failed or len(failed) == len(pending):
            break
        pending = {name: pending[name] for name in failed}
    for name, reason in failed.items():
        log.warning("view %s not re-created from %s (%s); materialise its gold asset again", name,
                    catalog_path(registry), reason)
    return sorted(failed)
