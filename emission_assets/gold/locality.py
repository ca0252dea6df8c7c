"""The locality model (control-area mix corrected by redispatch): placeholder until it lands."""
from __future__ import annotations

from emission_assets.lakehouse.registry import Registry


def locality_sql(registry: Registry) -> str:
    """Rows in the gold.grid_intensity shape with model 'locality' (none yet)."""
    return (
        "SELECT CAST(NULL AS TIMESTAMP) AS interval_start, CAST(NULL AS TIMESTAMP) AS interval_end, "
        "CAST(NULL AS STRING) AS region, 'locality' AS model, CAST(NULL AS STRING) AS basis, "
        "CAST(NULL AS DOUBLE) AS g_per_kwh, CAST(NULL AS STRING) AS determined_by, "
        "CAST(NULL AS DOUBLE) AS production_mwh, CAST(NULL AS STRING) AS resolution WHERE false"
    )
