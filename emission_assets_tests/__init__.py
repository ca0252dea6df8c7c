"""Tests of emission_assets. Every test process first declares every source's tables, as the CLI and the code
location do: the lakehouse registry lists only the tables the sources declared (it imports no source)."""
from emission_assets.sources import declare_tables

declare_tables()
