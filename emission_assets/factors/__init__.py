"""Emission factors: the bundled, sourced factor table and its SCD Type 2 dimension silver.emission_factors."""

# Importing any part of the source declares its tables in the lakehouse registry.
from emission_assets.factors import tables as _tables  # noqa: E402,F401
