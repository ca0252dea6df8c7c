"""SMARD series ids, English names and the regions and resolutions the project uses."""
from __future__ import annotations

from dataclasses import dataclass

from emission_assets.errors import UserInputError

ATTRIBUTION = "Bundesnetzagentur | SMARD.de"
LICENSE = "CC BY 4.0"


@dataclass(frozen=True)
class SmardSeries:
    filter_id: int
    name: str  # English snake_case, used as production_type / series name in silver
    kind: str  # "generation" or "load"
    german: str  # column name in the download-center CSV (before " [MWh]")


SERIES: tuple[SmardSeries, ...] = (
    SmardSeries(1223, "lignite", "generation", "Braunkohle"),
    SmardSeries(1224, "nuclear", "generation", "Kernenergie"),
    SmardSeries(1225, "wind_offshore", "generation", "Wind Offshore"),
    SmardSeries(1226, "hydro", "generation", "Wasserkraft"),
    SmardSeries(1227, "other_conventional", "generation", "Sonstige Konventionelle"),
    SmardSeries(1228, "other_renewable", "generation", "Sonstige Erneuerbare"),
    SmardSeries(4066, "biomass", "generation", "Biomasse"),
    SmardSeries(4067, "wind_onshore", "generation", "Wind Onshore"),
    SmardSeries(4068, "photovoltaics", "generation", "Photovoltaik"),
    SmardSeries(4069, "hard_coal", "generation", "Steinkohle"),
    SmardSeries(4070, "pumped_storage", "generation", "Pumpspeicher"),
    SmardSeries(4071, "natural_gas", "generation", "Erdgas"),
    SmardSeries(410, "grid_load", "load", "Netzlast"),
    SmardSeries(4359, "residual_load", "load", "Residuallast"),
)

BY_ID: dict[int, SmardSeries] = {s.filter_id: s for s in SERIES}
GENERATION_FILTERS: tuple[int, ...] = tuple(s.filter_id for s in SERIES if s.kind == "generation")
LOAD_FILTERS: tuple[int, ...] = tuple(s.filter_id for s in SERIES if s.kind == "load")
GRID_LOAD_FILTER = 410
INGEST_FILTERS: tuple[int, ...] = GENERATION_FILTERS + (GRID_LOAD_FILTER,)

REGIONS: tuple[str, ...] = ("DE", "50Hertz", "Amprion", "TenneT", "TransnetBW")
CONTROL_AREAS: tuple[str, ...] = REGIONS[1:]
RESOLUTIONS: tuple[str, ...] = ("quarterhour", "hour")
DEFAULT_RESOLUTION = "quarterhour"
# Finer first: where several resolutions exist for a day, silver takes the finest.
RESOLUTION_RANK = {"quarterhour": 0, "hour": 1}


def default_filters(region: str) -> tuple[int, ...]:
    """What a SMARD fetch gets for ``region`` unless told otherwise: the 12 generation types and, for a control area,
    its grid load (410), which the locality model balances the area's generation against (13 window requests per
    week there instead of 12). DE gets no load by default: no model needs it, and a day imported from a generation
    CSV export stays complete without a network call."""
    return INGEST_FILTERS if region in CONTROL_AREAS else GENERATION_FILTERS


def series(filter_id: int) -> SmardSeries:
    try:
        return BY_ID[filter_id]
    except KeyError:
        raise UserInputError(
            f"unknown SMARD filter {filter_id!r}; known: "
            + ", ".join(f"{s.filter_id} ({s.name})" for s in SERIES)
        ) from None


def _did_you_mean(value: str, known: tuple[str, ...]) -> str:
    """A hint for a wrong-case spelling (``de``, ``tennet``): SMARD's URLs are case-sensitive, so no silent fix."""
    match = next((k for k in known if k.lower() == str(value).strip().lower()), None)
    return f" (did you mean {match!r}?)" if match else ""


def check_region(region: str) -> str:
    if region not in REGIONS:
        raise UserInputError(
            f"unknown SMARD region {region!r}; known: {', '.join(REGIONS)}{_did_you_mean(region, REGIONS)}"
        )
    return region


def check_resolution(resolution: str) -> str:
    if resolution not in RESOLUTIONS:
        raise UserInputError(
            f"unsupported SMARD resolution {resolution!r}; supported: {', '.join(RESOLUTIONS)}"
            + _did_you_mean(resolution, RESOLUTIONS)
        )
    return resolution
