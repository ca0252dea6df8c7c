"""energy_emission_tracker: CO2 of a German household's electricity use.

Importing the package stays light: Dagster definitions live in ``emission_assets.definitions``.
"""
__version__ = "0.1.0"
