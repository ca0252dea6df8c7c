"""SMARD day-ahead forecasts (Bundesnetzagentur | SMARD.de, CC BY 4.0): forecast generation and grid load."""

# Importing any part of the source declares its tables in the lakehouse registry.
from emission_assets.smard_forecast import tables as _tables  # noqa: E402,F401
