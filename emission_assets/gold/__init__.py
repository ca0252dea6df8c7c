"""Gold: the monthly gold tables, the views over them and silver (aggregations, attribution per model, consumer
views), their Dagster assets and the report."""
