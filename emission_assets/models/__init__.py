"""The attribution models: SQL per model over silver production and the factor dimension."""
