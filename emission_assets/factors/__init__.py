"""Reference data: the bundled, sourced factor and fuel price tables and their SCD Type 2 dimensions
silver.emission_factors and silver.fuel_prices."""

# Importing any part of the source declares its tables in the lakehouse registry.
from emission_assets.factors import tables as _tables  # noqa: E402,F401
