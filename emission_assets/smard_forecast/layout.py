"""Where the day-ahead forecast windows live and how their files are checked: the SMARD window layout of
:mod:`emission_assets.smard.windows` under the reservoir folder ``smard_forecast``, with the forecast catalog."""
from emission_assets.smard.integrity import window_rules
from emission_assets.smard.windows import SeriesFamily
from emission_assets.smard_forecast.catalog import default_filters, series

SOURCE_NAME = "smard_forecast"
RESERVOIR_DIR = "smard_forecast"
FAMILY = SeriesFamily(SOURCE_NAME, RESERVOIR_DIR, series, default_filters)
RULES = window_rules(SOURCE_NAME, series)
