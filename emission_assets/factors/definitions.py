"""The emission factor and fuel price dimensions as one descriptor: assets (with checks), tables; no reservoir, no API."""
from emission_assets.factors import tables
from emission_assets.factors.assets import emission_factors_asset, fuel_prices_asset
from emission_assets.orchestration.source import Source

SOURCE = Source(
    name="factors",
    silver_key=emission_factors_asset.key,
    extra_silver_keys=(fuel_prices_asset.key,),
    tables=tables.TABLES,
    assets=(emission_factors_asset, fuel_prices_asset),
)
