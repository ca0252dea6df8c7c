"""The locality model: the household's control-area mix, corrected per interval by redispatch measures.

Rows in the ``gold.grid_intensity`` shape (interval_start, interval_end, region, model = 'locality', basis,
g_per_kwh, determined_by, production_mwh, resolution), one per interval x control area x basis, for the control
areas present in ``silver.production`` (50Hertz, Amprion, TenneT, TransnetBW). Without control-area production the
view is empty: locality needs SMARD production fetched for the control-area regions, not only DE.

Method and its choices:
1. **Which area a measure belongs to: the instructing TSO** (``ANWEISENDER_UENB``). The instructing TSO is the one
   the affected plant is connected to, so the plant's output is part of that area's SMARD production; the
   requesting TSO (``ANFORDERNDER_UENB``) only names whose congestion caused the measure. With this choice, curtailed
   energy leaves the mix of the (typically northern, upstream) area the plant sits in and ramped-up energy enters
   the mix of the (typically southern, downstream) area of the ramped plant, as domain.md §5 describes.
2. **Spreading**: a measure's energy (``energy_mwh``; mean power x duration if it is missing) is spread evenly over
   ``[measure_start, measure_end)`` and assigned to each production interval of the area by time overlap.
3. **Which types a measure changes** (per primary energy):
   - conventional -> the area's fossil types lignite, hard_coal, natural_gas, other_conventional, in proportion to
     their production in the interval; a ramp-up in an interval without fossil production is added as natural_gas
     (the usual redispatch reserve). Nuclear and pumped storage are never changed.
   - renewable -> the renewable types wind_onshore, wind_offshore, photovoltaics, hydro, biomass, other_renewable in
     proportion (curtailment hits wind most, and it is also most of the production then; proportional keeps every
     type non-negative); a ramp-up without renewable production goes to wind_onshore.
   - other (``Sonstiges``, e.g. market-based countertrade "Börse") -> other_conventional.
4. **Curtail before ramp-up**: removal and addition are both computed from the uncorrected mix; removal from a type
   is capped at its production (curtailment beyond the reported production empties the types, never negative).
5. **Intensity**: ``g_per_kwh = Σ E'_type · EF_type / Σ E'_type`` over the types with an active factor, where E' is
   the corrected energy and EF the point-in-time factor from ``silver.emission_factors``: rows not retired
   (``retired_at IS NULL``) valid on the interval's local (Europe/Berlin) date, per basis. ``production_mwh`` is
   the corrected total Σ E' over every type (with or without a factor), as in the other grid_intensity models. ``determined_by`` is ``'<area> mix + redispatch'`` when a measure overlaps the interval in
   that area, else ``'<area> mix'``.
"""
from __future__ import annotations

from datetime import datetime

from emission_assets.lakehouse.registry import Registry
from emission_assets.models.factors import factor_condition

CONTROL_AREAS = ("50Hertz", "Amprion", "TenneT", "TransnetBW")
# (target, production_type, is_fallback): which types a measure of a primary energy changes (see the docstring).
TARGETS = (
    ("conventional", "lignite", False),
    ("conventional", "hard_coal", False),
    ("conventional", "natural_gas", True),
    ("conventional", "other_conventional", False),
    ("renewable", "wind_onshore", True),
    ("renewable", "wind_offshore", False),
    ("renewable", "photovoltaics", False),
    ("renewable", "hydro", False),
    ("renewable", "biomass", False),
    ("renewable", "other_renewable", False),
    ("other", "other_conventional", True),
)
LOCAL_TIME_ZONE = "Europe/Berlin"


def _seconds(column: str) -> str:
    return f"unix_seconds({column})"


def locality_sql(registry: Registry, known_at: datetime | None = None) -> str:
    """SELECT for the locality rows (see the module docstring)."""
    production = registry.sql_name("silver.production")
    redispatch = registry.sql_name("silver.redispatch")
    factors = registry.sql_name("silver.emission_factors")
    areas = ", ".join(f"'{a}'" for a in CONTROL_AREAS)
    targets = ", ".join(f"('{t}', '{p}', {str(f).lower()})" for t, p, f in TARGETS)
    return f"""
WITH production AS (
    SELECT interval_start, interval_end, region, resolution, production_type, energy_mwh
    FROM {production}
    WHERE region IN ({areas})
),
intervals AS (
    SELECT DISTINCT interval_start, interval_end, region, resolution FROM production
),
targets AS (
    SELECT * FROM VALUES {targets} AS targets(target, production_type, is_fallback)
),
all_types AS (
    SELECT DISTINCT production_type FROM production
    UNION
    SELECT production_type FROM targets WHERE is_fallback
),
typed AS (
    -- every interval x type, so a ramp-up has a row to land on where the fallback type reported nothing. The types
    -- as one array exploded per interval: a CROSS JOIN with the types' table made a batch of a few rows per
    -- interval, and every join above it slow (~5 s of CPU a year)
    SELECT i.interval_start, i.interval_end, i.region, i.resolution, i.production_type,
           COALESCE(p.energy_mwh, 0D) AS energy_mwh
    FROM (SELECT i.*, explode(a.types) AS production_type
          FROM intervals i CROSS JOIN (SELECT collect_list(production_type) AS types FROM all_types) a) i
    LEFT JOIN production p
      ON p.interval_start = i.interval_start AND p.region = i.region AND p.resolution = i.resolution
     AND p.production_type = i.production_type
),
measures AS (
    SELECT instructing_tso AS region, direction, measure_start, measure_end,
           CASE primary_energy WHEN 'conventional' THEN 'conventional' WHEN 'renewable' THEN 'renewable'
                ELSE 'other' END AS target,
           COALESCE(energy_mwh,
                    avg_power_mw * ({_seconds('measure_end')} - {_seconds('measure_start')}) / 3600D) AS energy_mwh
    FROM {redispatch}
    WHERE measure_end > measure_start AND instructing_tso IN ({areas})
),
shares AS (
    -- a measure's energy spread evenly over its duration, assigned to each interval by overlap
    SELECT i.interval_start, i.region, i.resolution, m.target, m.direction,
           m.energy_mwh
             * (LEAST({_seconds('m.measure_end')}, {_seconds('i.interval_end')})
                - GREATEST({_seconds('m.measure_start')}, {_seconds('i.interval_start')}))
             / ({_seconds('m.measure_end')} - {_seconds('m.measure_start')}) AS mwh
    FROM intervals i
    JOIN measures m
      ON m.region = i.region AND m.measure_start < i.interval_end AND m.measure_end > i.interval_start
),
redispatch AS (
    SELECT interval_start, region, resolution, target,
           SUM(CASE WHEN direction = 'curtail' THEN mwh ELSE 0D END) AS curtailed_mwh,
           SUM(CASE WHEN direction = 'ramp_up' THEN mwh ELSE 0D END) AS ramped_mwh
    FROM shares
    GROUP BY interval_start, region, resolution, target
),
touched AS (
    SELECT DISTINCT interval_start, region, resolution FROM shares
),
target_totals AS (
    SELECT t.interval_start, t.region, t.resolution, g.target, SUM(t.energy_mwh) AS target_mwh
    FROM typed t
    JOIN targets g ON g.production_type = t.production_type
    GROUP BY t.interval_start, t.region, t.resolution, g.target
),
corrections AS (
    SELECT t.interval_start, t.region, t.resolution, t.production_type,
           SUM(CASE WHEN tt.target_mwh > 0 THEN r.curtailed_mwh * t.energy_mwh / tt.target_mwh ELSE 0D END)
             AS removed_mwh,
           SUM(CASE WHEN tt.target_mwh > 0 THEN r.ramped_mwh * t.energy_mwh / tt.target_mwh
                    WHEN g.is_fallback THEN r.ramped_mwh ELSE 0D END) AS added_mwh
    FROM typed t
    JOIN targets g ON g.production_type = t.production_type
    JOIN redispatch r
      ON r.interval_start = t.interval_start AND r.region = t.region AND r.resolution = t.resolution
     AND r.target = g.target
    JOIN target_totals tt
      ON tt.interval_start = t.interval_start AND tt.region = t.region AND tt.resolution = t.resolution
     AND tt.target = g.target
    GROUP BY t.interval_start, t.region, t.resolution, t.production_type
),
adjusted AS (
    SELECT t.interval_start, t.interval_end, t.region, t.resolution, t.production_type,
           t.energy_mwh - LEAST(t.energy_mwh, COALESCE(c.removed_mwh, 0D)) + COALESCE(c.added_mwh, 0D)
             AS adjusted_mwh,
           to_date(from_utc_timestamp(t.interval_start, '{LOCAL_TIME_ZONE}')) AS local_date
    FROM typed t
    LEFT JOIN corrections c
      ON c.interval_start = t.interval_start AND c.region = t.region AND c.resolution = t.resolution
     AND c.production_type = t.production_type
),
factors AS (
    SELECT production_type, basis, g_per_kwh, valid_from, COALESCE(valid_to, DATE'9999-12-31') AS valid_to
    FROM {factors}
    WHERE {factor_condition(known_at)}
),
totals AS (
    SELECT interval_start, region, resolution, SUM(adjusted_mwh) AS production_mwh
    FROM adjusted
    GROUP BY interval_start, region, resolution
),
weighted AS (
    SELECT a.interval_start, a.interval_end, a.region, a.resolution, f.basis, a.adjusted_mwh, f.g_per_kwh
    FROM adjusted a
    JOIN factors f
      ON f.production_type = a.production_type AND f.valid_from <= a.local_date AND a.local_date < f.valid_to
)
SELECT w.interval_start, w.interval_end, w.region, 'locality' AS model, w.basis,
       CASE WHEN SUM(w.adjusted_mwh) > 0 THEN SUM(w.adjusted_mwh * w.g_per_kwh) / SUM(w.adjusted_mwh) END
         AS g_per_kwh,
       CASE WHEN MAX(x.region) IS NOT NULL THEN concat(w.region, ' mix + redispatch')
            ELSE concat(w.region, ' mix') END AS determined_by,
       MAX(t.production_mwh) AS production_mwh,
       w.resolution
FROM weighted w
JOIN totals t
  ON t.interval_start = w.interval_start AND t.region = w.region AND t.resolution = w.resolution
LEFT JOIN touched x
  ON x.interval_start = w.interval_start AND x.region = w.region AND x.resolution = w.resolution
GROUP BY w.interval_start, w.interval_end, w.region, w.basis, w.resolution
"""
