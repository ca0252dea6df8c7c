"""The Tibber job (reservoir -> bronze -> silver.consumption per local day) and its revision schedule."""
from emission_assets.orchestration.jobs import source_job
from emission_assets.orchestration.schedules import revision_schedule

tibber_job = source_job("tibber", "Tibber consumption: reservoir -> bronze -> silver.consumption, per local day.")
tibber_revision_schedule = revision_schedule("tibber", tibber_job, "reservoir__tibber_responses", 8, 15)
