"""The SMARD job (reservoir -> bronze -> silver.production and silver.grid_load per local day) and its revision schedule."""
from emission_assets.orchestration.jobs import source_job
from emission_assets.orchestration.schedules import revision_schedule

smard_job = source_job("smard", "SMARD: reservoir -> bronze -> silver.production and silver.grid_load, per local day.")
smard_revision_schedule = revision_schedule("smard", smard_job, "reservoir__smard_responses", 8, 0)
