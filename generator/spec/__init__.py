"""Spec stage: YAML with positions -> pydantic documents -> semantic checks."""

from generator.spec.errors import SpecError, SpecErrors
from generator.spec.load import SpecSet, load_specs
from generator.spec.validate import validate

__all__ = ["SpecError", "SpecErrors", "SpecSet", "load_specs", "validate"]
