"""The ``emission-tracker`` command group: one module per family of commands."""
import click

from emission_assets.cli.advise_command import advise_command
from emission_assets.cli.demo import demo_command
from emission_assets.cli.errors import CommandLine
from emission_assets.cli.export_command import export_command
from emission_assets.cli.ingest_commands import import_group, live_command, materialize_command
from emission_assets.cli.lakehouse_commands import maintain_command, query_command, reset_command
from emission_assets.cli.report_commands import grants_command, report_command, restate_command
from emission_assets.cli.ui import ui_command


@click.group(cls=CommandLine)
def main() -> None:
    """CO2 of a household's electricity: SMARD grid production, Tibber consumption, four attribution models."""
    from emission_assets.sources import declare_tables

    declare_tables()  # a new process's lakehouse session registers every source's tables


for command in (materialize_command, import_group, live_command, query_command, maintain_command, reset_command,
                demo_command, ui_command, report_command, restate_command, grants_command, export_command,
                advise_command):
    main.add_command(command)
