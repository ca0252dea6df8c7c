"""Tomorrow's grid intensity per attribution model, from SMARD's day-ahead forecasts.

Pure PySpark / pandas / numpy (no Dagster): :mod:`features` (the same features from realised and forecast data),
:mod:`fit` (least squares per region x model x basis), :mod:`windows` (the cleanest contiguous window),
:mod:`backtest` (rolling backtest: MAE and the cleanest-4-hour hit rate) and :mod:`advice` (what ``advise``
prints). The Dagster asset is in :mod:`emission_assets.forecast.assets`.
"""
