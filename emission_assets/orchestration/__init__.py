"""Jobs, sensors and schedules for the emission asset graph; wired into the code location via ``ORCHESTRATION``."""
from emission_assets.orchestration.jobs import JOBS
from emission_assets.orchestration.schedules import SCHEDULES
from emission_assets.orchestration.sensors import SENSORS

ORCHESTRATION = {"jobs": JOBS, "sensors": SENSORS, "schedules": SCHEDULES}

__all__ = ["ORCHESTRATION"]
