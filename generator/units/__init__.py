"""Units: durations and numbers as Prometheus writes them. Imports nothing of the project (docs/design.md)."""
