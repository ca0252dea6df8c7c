"""The redispatch job (reservoir -> bronze -> silver.redispatch per local day)."""
from emission_assets.orchestration.jobs import source_job

redispatch_job = source_job("redispatch", "Redispatch: reservoir -> bronze -> silver.redispatch, per local day.")
