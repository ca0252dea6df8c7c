"""The lakehouse: one registry of table names and one writer for every Delta write."""
