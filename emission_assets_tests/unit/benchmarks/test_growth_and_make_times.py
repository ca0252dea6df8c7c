"""The benchmark's pure helpers: growth sizes and table, the memory high-water mark, the make timings."""
from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import pytest

from benchmarks import bench, growth, make_times


def figures(days: int, wall: float, *, values: int, floor: float = 1.0, same: bool = True, error: str | None = None):
    first, last = growth.window(days)
    return growth.SizeFigures(days, str(first), str(last), windows=days, values=values, backfill_s=wall,
                              peak_rss_mb=1000.0, sampled_rss_mb=950.0, floor_s=floor, same_numbers=same,
                              error=error)


def test_sizes_are_sorted_and_checked():
    assert growth.parse_sizes("1826, 7,365,31") == [7, 31, 365, 1826]
    with pytest.raises(ValueError, match=r"'0' is not a number of days from 1 to 2922"):
        growth.parse_sizes("7,0")
    with pytest.raises(ValueError, match=r"'2923' is not a number of days"):
        growth.parse_sizes("2923")
    with pytest.raises(ValueError, match=r"'a week' is not a number of days"):
        growth.parse_sizes("a week")
    with pytest.raises(ValueError, match=r"7 is listed twice"):
        growth.parse_sizes("7,31,7")


def test_windows_end_with_the_household_year():
    """The year is the headline's 2022, five years (1826 days) are 2018-2022: 10.5 million quarter-hour values."""
    assert growth.window(365) == (date(2022, 1, 1), date(2022, 12, 31))
    assert growth.window(1826) == (date(2018, 1, 1), date(2022, 12, 31))
    assert growth.window(7, date(2022, 1, 3)) == (date(2021, 12, 28), date(2022, 1, 3))
    assert 1826 * 96 * 12 * 5 == 10_517_760


def test_five_year_line_and_table():
    results = [figures(7, 8.0, values=40_320), figures(365, 60.0, values=2_102_400, floor=1.2),
               figures(1826, 270.0, values=10_517_760, floor=6.0)]
    assert growth.wall_ratio_line(results) == "five-year wall / one-year wall: 4.5"
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[1:-1]]
            for line in growth.table(results).splitlines()[2:]}
    assert rows["5 years"][1] == "2018-01-01..2022-12-31"
    assert rows["5 years"][3] == "10,517,760"
    assert rows["5 years"][5] == "4.50"  # x the year's wall
    assert rows["1 year"][7] == "1,000 (950)"  # high-water mark (largest sample)
    assert rows["1 year"][9] == "50.0"  # ratio to the DuckDB floor: 60 s / 1.2 s
    assert rows["1 week"][12] == "yes"


def test_ratio_line_without_a_measured_five_years():
    failed = [figures(365, 60.0, values=2_102_400), figures(1826, float("nan"), values=0, error="failed: worker exit 1")]
    assert growth.wall_ratio_line(failed) is None
    assert growth.wall_ratio_line([figures(2, 10.0, values=11_520), figures(7, 20.0, values=40_320)]) == (
        "growth: 1 week wall / 2 days wall: 2.0 (values x3.5)")
    rows = growth.table(failed + [figures(31, 12.0, values=178_560, same=False)]).splitlines()
    assert rows[3].rstrip(" |").endswith("failed: worker exit 1")
    assert rows[4].rstrip(" |").endswith("NO")


@pytest.mark.skipif(not bench.reset_high_water_mark(), reason="needs Linux /proc/self/clear_refs")
def test_high_water_mark_holds_a_peak_between_samples():
    # Reset first: a worker that ran large tests before has a peak far above its resident set, and a burst below
    # that peak would not raise it (the test failed so after 776 others in one xdist worker).
    assert bench.reset_high_water_mark()
    before = bench.high_water_mark_bytes()
    burst = b"\x01" * (128 * 2**20)
    del burst
    after_burst = bench.high_water_mark_bytes()
    assert after_burst >= before + 120 * 2**20
    assert bench.reset_high_water_mark()
    assert bench.high_water_mark_bytes() < after_burst - 100 * 2**20


def test_summary_line_is_pytests_result():
    output = "....\n= 2 failed, 601 passed in 164.20s (0:02:44) =\n"
    assert make_times.summary_line(output) == "2 failed, 601 passed in 164.20s (0:02:44)"
    assert make_times.summary_line("no data for: locality\nan error in the chart\n") == ""


FAKE_MAKE = """#!/bin/sh
# make -C ROOT [-q] TARGET: records what it was given, answers like make.
shift 2
echo "$* home=$EMISSION_HOME flags=${MAKEFLAGS:-none}" >> "$MAKE_CALLS"
case "$1" in
  -q) exit "$INSTALL_QUESTION" ;;
  install) echo installed ;;
  demo) echo "a demo error line"; exit 3 ;;
  test) echo "= 5 passed in 1.00s =" ;;
esac
"""


@pytest.mark.parametrize("question", [0, 1], ids=["install up to date", "install has work"])
def test_make_targets_are_timed_after_the_install(tmp_path, question):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "make"
    fake.write_text(FAKE_MAKE)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls.txt"
    environment = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "MAKE_CALLS": str(calls),
                   "INSTALL_QUESTION": str(question), "MAKEFLAGS": "w -j2", "EMISSION_HOME": "/parent/home"}

    timings = make_times.time_targets(["demo", "test"], tmp_path / "logs", environment)

    expected = (["install"] if question else []) + ["demo", "test"]
    assert [t.target for t in timings] == expected
    assert [t.exit_code for t in timings] == [0] * bool(question) + [3, 0]
    assert timings[-1].summary == "5 passed in 1.00s"
    assert timings[-2].summary == ""
    assert (tmp_path / "logs" / "make_demo.log").read_text() == "a demo error line\n"
    lines = calls.read_text().splitlines()
    assert lines[0].startswith("-q install ")
    assert [line.split()[0] for line in lines[1:]] == expected
    homes = [line.split("home=")[1].split()[0] for line in lines[1:]]
    assert "/parent/home" not in homes and len(set(homes)) == len(homes)  # a fresh EMISSION_HOME per target
    assert all(line.endswith("flags=none") for line in lines)  # a top-level make: none of make bench's flags
    assert not any(Path(home).exists() for home in homes)


def test_no_make_on_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no `make` on the PATH"):
        make_times.time_targets(["demo"], tmp_path, {"PATH": str(tmp_path)})


def checked(kg: float = 10.0, quarter_hours: int = 672, household: bool = True) -> dict:
    figures = {("average", "direct"): {"kg": kg, "kwh": 42.0, "hours": 168}} if household else {}
    return {"figures": figures,
            "intensity": {("average", "direct"): {"quarter_hours": quarter_hours, "g_sum": 1e5, "weighted_g": 245.4}}}


def test_compare_checks_household_and_grid_figures(capsys):
    assert bench.compare("check", checked(), checked())
    assert not bench.compare("check", checked(kg=10.0001), checked())  # 1e-5 relative: above the tolerance
    assert not bench.compare("check", checked(quarter_hours=671), checked())
    assert "grid intensity DE average/direct: lakehouse 671 quarter-hours" in capsys.readouterr().out
    # A window without consumption: the household figures are not compared, the grid's still are.
    assert bench.compare("check", checked(household=False), checked(household=False))
    assert "household figures not compared" in capsys.readouterr().out
    assert not bench.compare("check", checked(household=False, quarter_hours=1), checked(household=False))
    assert not bench.compare("check", checked(), {"figures": checked()["figures"], "intensity": {}})
