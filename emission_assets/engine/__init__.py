"""Spark engines: embedded Sail (default), any Spark Connect URL, or the Databricks runtime's session."""
