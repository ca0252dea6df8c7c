"""``emission-tracker``: demo, CSV import, materialise, query and reset, on the home ``$EMISSION_HOME``."""
from emission_assets.cli.demo import DEMO_RANGES, DEMO_REPLAY
from emission_assets.cli.environment import check_environment, prepare_dagster_home
from emission_assets.cli.errors import FailedAction, UserError
from emission_assets.cli.main import main
from emission_assets.cli.runs import default_selection, echo_failure, failure_message, finish_runs, run_materialize

__all__ = ["DEMO_RANGES", "DEMO_REPLAY", "FailedAction", "UserError", "check_environment", "default_selection", "echo_failure", "failure_message", "finish_runs",
           "main", "prepare_dagster_home", "run_materialize"]
