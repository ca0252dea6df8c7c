"""The Tibber API resource (part of the Tibber source's descriptor)."""
from __future__ import annotations

from typing import Optional

from dagster import ConfigurableResource

from emission_assets.orchestration.resources import from_env
from emission_assets.settings import settings
from emission_assets.tibber.client import DEFAULT_API_URL as DEFAULT_TIBBER_URL
from emission_assets.tibber.client import TibberClient, token_from_environment

TIBBER_URL_ENV = "TIBBER_API_URL"
SAMPLE_TOKEN = "sample-household"  # the bundled sample API ignores tokens


class TibberResource(ConfigurableResource):
    """Tibber GraphQL API. ``token`` is only ever ``EnvVar("TIBBER_TOKEN")`` (never a value in configuration);
    without it the token comes from a Databricks secret scope when a client is made. ``sample://tibber`` serves
    the bundled household."""

    api_url: str = DEFAULT_TIBBER_URL
    home_id: Optional[str] = None
    token: Optional[str] = None
    max_requests: int = 60

    def client(self) -> TibberClient:
        if self.api_url.startswith("sample://"):
            token = SAMPLE_TOKEN
        else:
            token = (self.token or "").strip() or token_from_environment()
        return TibberClient(token, self.api_url, max_requests=self.max_requests)


def tibber_resource_from_env() -> TibberResource:
    tibber = settings().tibber
    return TibberResource(
        api_url=from_env(tibber, "api_url", DEFAULT_TIBBER_URL),
        home_id=from_env(tibber, "home_id"),
        token=from_env(tibber, "token"),
    )
