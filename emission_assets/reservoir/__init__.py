"""The reservoir: raw API response files with sidecars, before anything parses them."""
