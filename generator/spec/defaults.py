"""Defaults of Policy settings that spec checks need too: one value each, read by `model.slo.Settings`.

They live in the spec layer because checks run before a model exists and the
spec layer imports nothing from the model (docs/design.md, layers).
"""

DEFAULT_EVALUATION_INTERVAL = "1m"
DEFAULT_SECRETS_DIR = "/etc/alertmanager/secrets"
