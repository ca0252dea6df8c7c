"""Gold: views over silver (aggregations, attribution per model, consumer views)."""
