"""The base of every spec document model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown fields are errors: a typo must never silently drop a setting."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=False)
