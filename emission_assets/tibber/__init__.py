"""Tibber: the household's consumption (GraphQL API history and the Pulse live stream)."""
