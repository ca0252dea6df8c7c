"""The local view catalog: what a new process re-creates; concurrent writers lose no view."""
from __future__ import annotations

import multiprocessing

from emission_assets.lakehouse.registry import Registry
from emission_assets.lakehouse.view_catalog import catalog_path, forget_view, persisted_views, remember_view

WRITERS = 4
VIEWS_EACH = 25


def _record(root: str, writer: int) -> None:
    registry = Registry(lakehouse_root=root)
    for index in range(VIEWS_EACH):
        remember_view(registry, f"gold.view_{writer}_{index}", f"SELECT {writer} AS writer, {index} AS n")


def test_remember_and_forget_keep_order_and_sql(tmp_path):
    registry = Registry(lakehouse_root=tmp_path)
    remember_view(registry, "gold.a", "SELECT 1")
    remember_view(registry, "gold.b", "SELECT 2")
    remember_view(registry, "gold.a", "SELECT 3")
    assert list(persisted_views(registry).items()) == [("gold.a", "SELECT 3"), ("gold.b", "SELECT 2")]
    forget_view(registry, "gold.a")
    forget_view(registry, "gold.unknown")
    assert persisted_views(registry) == {"gold.b": "SELECT 2"}


def test_processes_recording_at_once_lose_no_view(tmp_path):
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_record, args=(str(tmp_path), writer)) for writer in range(WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
        assert process.exitcode == 0
    views = persisted_views(Registry(lakehouse_root=tmp_path))
    assert len(views) == WRITERS * VIEWS_EACH
    assert views["gold.view_3_24"] == "SELECT 3 AS writer, 24 AS n"
    # no temporary file left behind: only the catalog and its lock
    assert sorted(p.name for p in catalog_path(Registry(lakehouse_root=tmp_path)).parent.iterdir()) == \
        ["._views.json.lock", "_views.json"]
