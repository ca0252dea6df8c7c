"""SMARD's day-ahead forecast series: filter ids, English names (``silver.grid_forecast.series``) and kinds.

Where the ids come from (checked 2026-12 with the search tool; SMARD itself was not reachable from here):

- 123, 3791, 125, 715, 5097, 122 ("Prognostizierte Erzeugung: Onshore / Offshore / Photovoltaik / Sonstige / Wind
  und Photovoltaik / Gesamt"): the bundesAPI OpenAPI spec of SMARD's chart-data API, github.com/bundesAPI/smard-api
  ``openapi.yaml`` (commit 53e1bcc, 2022-11-23, "IDs for projected energy generation"). Its ``filter`` enum lists
  ``126`` where its description says ``125``: a typo in the spec; 125 is what SMARD's download center uses (module
  id 2000125 next to 2000123 and 2003791, the same series numbers behind a category prefix) and what the clients
  calling the API use (e.g. github.com/Matt-17/SMARDapi ``PrognoseTypes``).
- 411 ("Prognostizierter Stromverbrauch: Gesamt (Netzlast)"): not in the bundesAPI spec; SMARD's download center
  requests it as module id 6000411, and several public clients read ``chart_data/411/DE/index_hour.json`` and
  ``index_quarterhour.json``. Fairly sure.
- 4362 ("Prognostizierter Verbrauch: Residuallast"): found in one third-party filter list only, never in a request
  seen to succeed. NOT verified: it is in the catalog (its name is part of the silver interface) but not fetched by
  default; SMARD's residual load is grid load minus wind and PV, which the default series give.

Regions and resolutions: every request found for these ids uses region ``DE`` (and ``quarterhour``, ``hour`` or
``day``). SMARD's region parameter is the same for all filters, so the control areas may be served as well, but no
request for them was found: the product fetches DE, quarter-hourly, by default and accepts the other regions of
:data:`emission_assets.smard.catalog.REGIONS` on request (a 404 then names the URL).

Bundesnetzagentur | SMARD.de, CC BY 4.0.
"""
from __future__ import annotations

from emission_assets.errors import UserInputError
from emission_assets.smard.catalog import SmardSeries

SERIES: tuple[SmardSeries, ...] = (
    SmardSeries(123, "wind_onshore", "generation", "Wind Onshore"),
    SmardSeries(3791, "wind_offshore", "generation", "Wind Offshore"),
    SmardSeries(125, "photovoltaics", "generation", "Photovoltaik"),
    SmardSeries(715, "other", "generation", "Sonstige"),
    SmardSeries(5097, "wind_and_photovoltaics", "generation", "Photovoltaik und Wind"),
    SmardSeries(122, "generation_total", "generation", "Gesamt"),
    SmardSeries(411, "grid_load", "load", "Netzlast"),
    SmardSeries(4362, "residual_load", "load", "Residuallast"),
)
BY_ID: dict[int, SmardSeries] = {s.filter_id: s for s in SERIES}
FILTERS: tuple[int, ...] = tuple(s.filter_id for s in SERIES)
NAMES: dict[int, str] = {s.filter_id: s.name for s in SERIES}
KINDS: dict[int, str] = {s.filter_id: s.kind for s in SERIES}
# Residual load goes below zero when wind and PV exceed the load: its negatives are data.
SIGNED_SERIES: tuple[str, ...] = ("residual_load",)
UNVERIFIED_FILTERS: tuple[int, ...] = (4362,)
# Fetched unless the run config names filters: the verified ids, without the sum 5097 (= 123 + 3791 + 125).
DEFAULT_FILTERS: tuple[int, ...] = (123, 3791, 125, 715, 122, 411)


def default_filters(region: str) -> tuple[int, ...]:
    """The same forecast series for every region (see the module docstring for what SMARD is known to serve)."""
    return DEFAULT_FILTERS


def series(filter_id: int) -> SmardSeries:
    try:
        return BY_ID[filter_id]
    except KeyError:
        raise UserInputError(
            f"unknown SMARD forecast filter {filter_id!r}; known: "
            + ", ".join(f"{s.filter_id} ({s.name})" for s in SERIES)
        ) from None
