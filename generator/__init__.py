"""sloforge: declarative SLO specs in, Prometheus-native SLO artifacts out."""

__version__ = "0.1.0"
