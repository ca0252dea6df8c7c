"""``restate --as-of``: a day means "known by the end of that day" in Berlin; a time names the moment itself."""
from datetime import datetime, timedelta, timezone

import pytest

from emission_assets.cli.errors import UserError
from emission_assets.cli.report_commands import known_at
from emission_assets.timeutil import BERLIN


def test_a_day_is_the_end_of_that_day_in_berlin():
    assert known_at("2026-12-01") == datetime(2026, 12, 1, 23, 59, 59, tzinfo=BERLIN)


def test_a_time_with_an_offset_or_z_is_taken_as_given():
    assert known_at("2026-12-01T17:45:10Z") == datetime(2026, 12, 1, 17, 45, 10, tzinfo=timezone.utc)
    assert known_at("2026-12-01T18:45+01:00").astimezone(timezone.utc) == datetime(2026, 12, 1, 17, 45,
                                                                                   tzinfo=timezone.utc)


def test_a_time_without_an_offset_is_berlin_time():
    moment = known_at("2026-07-01T12:00")
    assert moment.utcoffset() == timedelta(hours=2)  # CEST
    assert moment.astimezone(timezone.utc).hour == 10


@pytest.mark.parametrize("text", ["2026-12-01T25:00", "2026-12-01Tnoon"])
def test_a_bad_time_is_one_line_naming_the_option(text):
    with pytest.raises(UserError, match=r"--as-of '.*' is not a date \(YYYY-MM-DD\) or a time"):
        known_at(text)
