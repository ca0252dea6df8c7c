"""``gold.grid_intensity``: one row per interval x region x model x basis.

Columns ``interval_start, interval_end, region, model, basis, g_per_kwh, determined_by, production_mwh,
resolution``. ``production_mwh`` is the interval's total generation (every type, with or without a factor): the
weight to use when consumption intervals are coarser than production intervals. The rows are the ``UNION ALL`` of
one builder per model, each in its own module and testable on its own: :mod:`~emission_assets.models.average`,
:mod:`~emission_assets.models.worst_emitter`, :mod:`~emission_assets.models.merit_order` and
:mod:`~emission_assets.models.locality` (control-area mix corrected by redispatch).
"""
from __future__ import annotations

from datetime import datetime

from emission_assets.lakehouse.registry import Registry
from emission_assets.models.average import average_sql
from emission_assets.models.locality import locality_sql
from emission_assets.models.merit_order import merit_order_sql
from emission_assets.models.production import select_shape
from emission_assets.models.worst_emitter import worst_emitter_sql

MODELS = ("average", "worst_emitter", "merit_order", "locality")


def grid_intensity_sql(registry: Registry, known_at: datetime | None = None, *, locality: bool = True) -> str:
    """The UNION ALL of the models (average, worst_emitter, merit_order, locality).

    ``locality=False`` leaves the locality model out: for a caller that knows it has no rows to give (no control-area
    production, :func:`~emission_assets.models.locality.has_input_sql`), whose query then need not plan it."""
    parts = [average_sql(registry, known_at), worst_emitter_sql(registry, known_at), merit_order_sql(registry, known_at)]
    selects = [f"SELECT * FROM ({part}) m{i}" for i, part in enumerate(parts)]
    if locality:
        selects.append(f"{select_shape(None, 'l')} FROM ({locality_sql(registry, known_at)}) l")
    return "\nUNION ALL\n".join(selects)
