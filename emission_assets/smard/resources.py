"""The SMARD API resource (part of the SMARD source's descriptor)."""
from __future__ import annotations

from collections.abc import Callable

from dagster import ConfigurableResource

from emission_assets.orchestration.resources import from_env
from emission_assets.settings import settings
from emission_assets.smard.catalog import SmardSeries, series
from emission_assets.smard.client import DEFAULT_BASE_URL, SmardClient


class SmardResource(ConfigurableResource):
    """SMARD chart-data API; a ``file://`` base URL replays recorded responses through the same client."""

    base_url: str = DEFAULT_BASE_URL
    retries: int = 5

    def client(self, lookup: Callable[[int], SmardSeries] = series) -> SmardClient:
        """A client accepting the filters of ``lookup``'s catalog (the day-ahead forecasts use the same API)."""
        return SmardClient(self.base_url, retries=self.retries, lookup=lookup)


def smard_resource_from_env() -> SmardResource:
    return SmardResource(base_url=from_env(settings().smard, "base_url", DEFAULT_BASE_URL))
