"""Redispatch measures from netztransparenz.de (the four German TSOs' joint platform) for the locality model.

- :mod:`.client`: OAuth2 client-credentials token + ``GET /data/redispatch/{from}/{to}`` (CSV bytes);
- :mod:`.layout`: how CSV responses and hand-downloaded CSV files are stored in and found in the reservoir;
- :mod:`.parse`: pure parsing of the CSV (mixed encodings, German dates/numbers, CET/CEST zone columns);
- :mod:`.assets`: the Dagster assets ``reservoir/redispatch_responses``, ``bronze/redispatch_responses`` and
  ``silver/redispatch`` (list ``REDISPATCH_ASSETS``).

The data has no open licence: real files are never committed; tests use a synthetic file in the real layout.
"""

# Importing any part of the source declares its tables in the lakehouse registry.
from emission_assets.redispatch import tables as _tables  # noqa: E402,F401
