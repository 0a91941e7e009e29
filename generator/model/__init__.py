"""Model stage: normalized SLOs and the burn-rate math (pure functions)."""
