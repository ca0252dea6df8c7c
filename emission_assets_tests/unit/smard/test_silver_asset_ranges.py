"""The silver SMARD asset over a range longer than its query chunks: files of an unknown shape are named wherever in
the range their windows lie (the unparsed-file query runs per quarter, the writes per month)."""
from __future__ import annotations

from datetime import date, datetime, timezone

from dagster import PartitionKeyRange, build_asset_context

from emission_assets.orchestration.resources import SparkResource
from emission_assets.smard.assets import UNPARSED_MONTHS, silver_production
from emission_assets.smard.bronze import FILE_ROW_SCHEMA, typed_responses
from emission_assets.smard.bronze import TABLE as BRONZE_TABLE
from emission_assets.timeutil import local_midnight

UTC = timezone.utc


def stranger(name: str, window_day: date) -> tuple:
    """A bronze row of a file that is not a SMARD window (as an older client could have stored it)."""
    start = local_midnight(window_day).astimezone(UTC)
    return (name, "sha-" + name, "api", "url", datetime(2022, 12, 1, tzinfo=UTC), datetime(2022, 12, 1, tzinfo=UTC),
            "run", 4068, "DE", "quarterhour", start, '{"foo": 1}', window_day)


def test_unknown_files_are_named_in_every_quarter_of_a_long_range(spark):
    assert UNPARSED_MONTHS < 7  # the two files below then lie in different queries
    lakehouse = SparkResource().open()
    lakehouse.writer.append(BRONZE_TABLE, typed_responses(spark.createDataFrame(
        [stranger("january", date(2022, 1, 10)), stranger("july", date(2022, 7, 4))], FILE_ROW_SCHEMA)))
    context = build_asset_context(partition_key_range=PartitionKeyRange("2022-01-01", "2022-07-31"))

    result = silver_production(context, SparkResource())

    assert result.metadata["unparsed_bronze_files"] == 2
    listed = result.metadata["unparsed"].value
    assert "january: no 'series' list" in listed and "july: no 'series' list" in listed
    assert result.metadata["dagster/row_count"] == 0
