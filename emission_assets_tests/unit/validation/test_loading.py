"""The validation's loader: a tiny export through the product's CSV reader and silver transform (embedded engine)."""
from __future__ import annotations

import gzip
from datetime import datetime, timezone

from merit_validation import loading

# The autumn switch: 02:00-03:00 local happens twice (summer time first); '-' is no value.
EXPORT = """\ufeffDatum;Anfang;Ende;Braunkohle [MWh] Berechnete Auflösungen;Erdgas [MWh] Berechnete Auflösungen
27.10.2019;01:00;02:00;1.000,5;200
27.10.2019;02:00;03:00;1.100;-
27.10.2019;02:00;03:00;1.200;250
27.10.2019;03:00;04:00;900;300
"""


def test_a_gzip_export_lands_in_silver_production_keyed_by_utc_with_its_local_day(spark, registry, writer, tmp_path):
    path = tmp_path / "smard_realisierte_erzeugung_DE_hour_tiny.csv.gz"
    path.write_bytes(gzip.compress(EXPORT.encode("utf-8")))
    parsed = loading.parse_export(path, tmp_path)
    assert loading.load_production(spark, writer, parsed) == 7  # 4 lignite + 3 gas ('-' is dropped)
    assert loading.load_production(spark, writer, parsed) == 7  # a re-run replaces the days: no duplicates

    rows = spark.sql("SELECT interval_start, production_type, energy_mwh, power_mw, year, month, day, resolution "
                     "FROM silver.production").collect()
    got = {(r.interval_start.replace(tzinfo=timezone.utc) if r.interval_start.tzinfo is None
            else r.interval_start.astimezone(timezone.utc), r.production_type): r for r in rows}
    utc = [datetime(2019, 10, 26, 23, tzinfo=timezone.utc), datetime(2019, 10, 27, 0, tzinfo=timezone.utc),
           datetime(2019, 10, 27, 1, tzinfo=timezone.utc), datetime(2019, 10, 27, 2, tzinfo=timezone.utc)]
    assert [got[(t, "lignite")].energy_mwh for t in utc] == [1000.5, 1100.0, 1200.0, 900.0]
    assert [got.get((t, "natural_gas")) and got[(t, "natural_gas")].energy_mwh for t in utc] == [200.0, None, 250.0,
                                                                                                300.0]
    first = got[(utc[0], "lignite")]
    assert (first.year, first.month, first.day, first.resolution, first.power_mw) == (2019, 10, 27, "hour", 1000.5)

    assert loading.load_factors(spark, writer)["inserted"] > 0
    assert loading.load_factors(spark, writer)["committed"] is False  # the same seed again changes nothing
