"""The forecast job (reservoir -> bronze -> silver.grid_forecast per local day, up to tomorrow)."""
from emission_assets.orchestration.jobs import source_job

smard_forecast_job = source_job(
    "smard_forecast", "SMARD day-ahead forecasts: reservoir -> bronze -> silver.grid_forecast, per local day.")
