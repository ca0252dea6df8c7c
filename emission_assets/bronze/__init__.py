"""Bronze: append-only Delta tables, one row per reservoir file, each file exactly once."""
