"""Emission factors: the bundled, sourced factor table and its SCD Type 2 dimension silver.emission_factors."""
