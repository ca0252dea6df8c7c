"""SMARD (Bundesnetzagentur | SMARD.de, CC BY 4.0): grid production and load for Germany."""

# Importing any part of the source declares its tables in the lakehouse registry.
from emission_assets.smard import tables as _tables  # noqa: E402,F401
