"""The Tibber API resource (part of the Tibber source's descriptor)."""
from __future__ import annotations

import os
from typing import Optional

from dagster import ConfigurableResource

from emission_assets.tibber.client import DEFAULT_API_URL as DEFAULT_TIBBER_URL
from emission_assets.tibber.client import TibberClient, token_from_environment

TIBBER_URL_ENV = "TIBBER_API_URL"
SAMPLE_TOKEN = "sample-household"  # the bundled sample API ignores tokens


class TibberResource(ConfigurableResource):
    """Tibber GraphQL API. The token is read from the environment (``TIBBER_TOKEN``) or a Databricks secret
    scope when a client is made, never stored in configuration. ``sample://tibber`` serves the bundled household."""

    api_url: str = DEFAULT_TIBBER_URL
    home_id: Optional[str] = None
    max_requests: int = 60

    def client(self) -> TibberClient:
        token = SAMPLE_TOKEN if self.api_url.startswith("sample://") else token_from_environment()
        return TibberClient(token, self.api_url, max_requests=self.max_requests)


def tibber_resource_from_env() -> TibberResource:
    return TibberResource(
        api_url=os.environ.get(TIBBER_URL_ENV) or DEFAULT_TIBBER_URL,
        home_id=os.environ.get("TIBBER_HOME_ID") or None,
    )
