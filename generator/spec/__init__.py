"""Spec stage: YAML with positions -> pydantic documents -> semantic checks."""

from generator.spec.errors import SpecError, SpecErrors
from generator.spec.load import SpecSet, load_specs

# The full semantic check needs the model's tier resolution: generator.model.validate.validate.
__all__ = ["SpecError", "SpecErrors", "SpecSet", "load_specs"]
