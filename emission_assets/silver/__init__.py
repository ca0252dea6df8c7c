"""Silver: typed, deduplicated tables partitioned by the local day (year/month/day)."""
