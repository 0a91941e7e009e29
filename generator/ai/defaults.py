"""Settings of the drafting pass that the CLI shows without importing the SDK."""

DEFAULT_MODEL = "claude-sonnet-5-5"  # the current Sonnet; override with --model or SLOFORGE_MODEL
MODEL_ENV = "SLOFORGE_MODEL"
API_KEY_ENV = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
