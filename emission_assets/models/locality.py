"""The locality model: the household's control-area mix, corrected per interval by redispatch measures, and
balanced against the area's grid load: what the area does not generate itself it imports.

Rows in the ``gold.grid_intensity`` shape (interval_start, interval_end, region, model = 'locality', basis,
g_per_kwh, determined_by, production_mwh, resolution), one per interval x control area x basis, for the control
areas present in ``silver.production`` (50Hertz, Amprion, TenneT, TransnetBW). Without control-area production the
view is empty: locality needs SMARD production *and grid load* fetched for the control-area regions, and the
production of region DE for the imports' mix (``materialize --region DE --region TenneT ...``: the SMARD fetch
includes filter 410, grid load, by default).

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
5. **Own mix**: ``own = Σ E'_type · EF_type / Σ E'_type`` over the types with an active factor, where E' is the
   corrected energy and EF the point-in-time factor from ``silver.emission_factors``: rows not retired
   (``retired_at IS NULL``, or as known at ``known_at``) valid on the interval's local (Europe/Berlin) date, per
   basis. ``production_mwh`` is the corrected total G' = Σ E' over every type (with or without a factor), as in the
   other grid_intensity models.
6. **Balance with the area's grid load** L (``silver.grid_load``, SMARD filter 410 of the area, same interval and
   resolution): ``own_share = min(1, G' / L)``, ``import_share = 1 - own_share`` (the net imports max(0, L - G') / L),
   and ``g_per_kwh = own_share · own + import_share · national``. A net-exporting area (G' >= L) keeps its own mix:
   its consumers use its own generation, the surplus leaves. An area without any generation (G' = 0) takes the
   national mix alone.
7. **The net imports take the national average mix**: the uncorrected SMARD production mix of region ``DE`` of the
   same interval and resolution, with the same point-in-time factors (the average model's DE figure). Flows between
   the German control areas are not published (only cross-border flows are), so where an area's imports come from
   is unknown; the national mix is the documented proxy the issue names. A better one would pool the surpluses of
   the net-exporting areas of the interval, but it needs all four areas' load and production and still ignores
   imports from abroad; not done.
8. **What is missing is said, never a silent zero**: an interval without grid load for the area (or with a load of 0)
   keeps the own mix, and one of a net-importing area without DE production keeps the own mix too; their
   ``determined_by`` says so (below). A net-importing interval whose own generation has no factor for the basis (but
   G' > 0) gives NULL, as the other models do.
9. ``determined_by``: ``'<area> mix'`` (net exporter or balanced), ``'<area> mix + net imports (DE mix)'`` (net
   importer), each with ``' + redispatch'`` when a measure overlaps the interval in that area, and the suffix
   ``' (no grid load: own mix only)'`` or ``' (net importer, no DE mix: own mix only)'`` where rule 8 applied, e.g.
   ``'TenneT mix + net imports (DE mix) + redispatch'``.

Limits:
- **What SMARD's load and generation cover.** SMARD defines its consumption ("Netzlast") as the feed-in of all
  generation plus imports, minus exports and minus what storage such as pumped hydro takes (SMARD wiki
  "Stromverbrauch", https://www.smard.de/home/wiki-article/446/2556); its realised generation is net feed-in into
  the public grid, without the rail grid and industrial or closed distribution grids ("Brutto- und Nettowerte",
  https://www.smard.de/page/home/wiki-article/446/208018). So G' - L of an area is its net export (abroad and to
  the other areas) plus its pumping, and generation consumed inside industrial grids is in neither. SMARD's
  handbook also says conventional generation is partly not covered in every area (domain.md §1): where an area's
  generation is under-reported it looks more import-dependent than it is. On the bundled national data: in 2022
  SMARD DE generation was 508.1 TWh against a grid load of 482.6 TWh, with generation below the load in 2,722 of
  8,760 hours (computed from the SMARD exports bundled in ``data/smard_replay``).
- **Pumped storage**: SMARD's generation includes pumped-storage output (filter 4070), while the grid load (410)
  excludes pumped-storage consumption (4387, not fetched): an area that pumps in an interval looks more exporting
  (more self-sufficient) than its consumers are, and its stored energy counts as own generation, at a factor of 0
  on the direct basis, when it is released.
- **No intra-German flow data**: see rule 7. Cross-border exchange is not modelled either: the national mix stands
  for whatever an area imports, also from abroad.
- **Interval matching**: load and the DE mix are joined on the same interval start and resolution as the area's
  production; a day whose load (or DE production) is at another resolution than the area's production counts as
  missing (rule 8). Fetch the regions with one ``--resolution``.
- The national mix is not redispatch-corrected: internal redispatch moves energy between the areas (curtailment in
  one, ramp-up in another) and nets out nationally, up to countertrade with neighbours.
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
# Whose average mix the net imports take (SMARD's national region).
NATIONAL_REGION = "DE"


def _seconds(column: str) -> str:
    return f"unix_seconds({column})"


def has_input_sql(registry: Registry) -> str:
    """One row if ``silver.production`` holds a control area's production, else none: without it
    :func:`locality_sql` has no rows (every row is a control area's interval)."""
    areas = ", ".join(f"'{a}'" for a in CONTROL_AREAS)
    return f"SELECT 1 AS present FROM {registry.sql_name('silver.production')} WHERE region IN ({areas}) LIMIT 1"


def locality_sql(registry: Registry, known_at: datetime | None = None) -> str:
    """SELECT for the locality rows (see the module docstring)."""
    production = registry.sql_name("silver.production")
    redispatch = registry.sql_name("silver.redispatch")
    factors = registry.sql_name("silver.emission_factors")
    grid_load = registry.sql_name("silver.grid_load")
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
own AS (
    -- the area's corrected own mix, per basis
    SELECT a.interval_start, a.interval_end, a.region, a.resolution, f.basis,
           CASE WHEN SUM(a.adjusted_mwh) > 0 THEN SUM(a.adjusted_mwh * f.g_per_kwh) / SUM(a.adjusted_mwh) END
             AS own_g_per_kwh
    FROM adjusted a
    JOIN factors f
      ON f.production_type = a.production_type AND f.valid_from <= a.local_date AND a.local_date < f.valid_to
    GROUP BY a.interval_start, a.interval_end, a.region, a.resolution, f.basis
),
national AS (
    -- what the net imports take: the national (SMARD region DE) average mix of the interval, per basis
    SELECT p.interval_start, p.resolution, f.basis,
           CASE WHEN SUM(p.energy_mwh) > 0 THEN SUM(p.energy_mwh * f.g_per_kwh) / SUM(p.energy_mwh) END
             AS national_g_per_kwh
    FROM (SELECT interval_start, resolution, production_type, energy_mwh,
                 to_date(from_utc_timestamp(interval_start, '{LOCAL_TIME_ZONE}')) AS local_date
          FROM {production} WHERE region = '{NATIONAL_REGION}') p
    JOIN factors f
      ON f.production_type = p.production_type AND f.valid_from <= p.local_date AND p.local_date < f.valid_to
    GROUP BY p.interval_start, p.resolution, f.basis
),
balance AS (
    SELECT o.*, t.production_mwh, n.national_g_per_kwh, x.region IS NOT NULL AS redispatched,
           -- own share of the area's consumption; NULL without a (positive) grid load for the interval
           CASE WHEN l.load_mwh > 0 THEN LEAST(1D, t.production_mwh / l.load_mwh) END AS own_share
    FROM own o
    JOIN totals t
      ON t.interval_start = o.interval_start AND t.region = o.region AND t.resolution = o.resolution
    LEFT JOIN (SELECT interval_start, region, resolution, load_mwh FROM {grid_load} WHERE region IN ({areas})) l
      ON l.interval_start = o.interval_start AND l.region = o.region AND l.resolution = o.resolution
    LEFT JOIN national n
      ON n.interval_start = o.interval_start AND n.resolution = o.resolution AND n.basis = o.basis
    LEFT JOIN touched x
      ON x.interval_start = o.interval_start AND x.region = o.region AND x.resolution = o.resolution
),
decided AS (
    -- imports: a net-importing area (own share < 1) with a national mix for the interval
    SELECT *, COALESCE(own_share < 1D AND national_g_per_kwh IS NOT NULL, false) AS imports FROM balance
)
SELECT interval_start, interval_end, region, 'locality' AS model, basis,
       CASE WHEN NOT imports THEN own_g_per_kwh
            WHEN own_share = 0D THEN national_g_per_kwh
            ELSE own_share * own_g_per_kwh + (1D - own_share) * national_g_per_kwh END AS g_per_kwh,
       concat(region, ' mix',
              CASE WHEN imports THEN ' + net imports ({NATIONAL_REGION} mix)' ELSE '' END,
              CASE WHEN redispatched THEN ' + redispatch' ELSE '' END,
              CASE WHEN own_share IS NULL THEN ' (no grid load: own mix only)'
                   WHEN own_share < 1D AND NOT imports
                     THEN ' (net importer, no {NATIONAL_REGION} mix: own mix only)'
                   ELSE '' END) AS determined_by,
       production_mwh,
       resolution
FROM decided
"""
