"""Tibber: the household's consumption (GraphQL API history and the Pulse live stream)."""

# Importing any part of the source declares its tables in the lakehouse registry.
from emission_assets.tibber import tables as _tables  # noqa: E402,F401
