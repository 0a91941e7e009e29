"""The draft file format (`slo_specs/drafts/<service>.yaml`), as pydantic models.

People edit these files, so unknown fields are errors (a typo in `reviewed`
must not silently leave a draft unreviewed).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from generator.spec.schema import API_VERSION, NAME_PATTERN

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Hash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
DRAFTS_KIND = "Drafts"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlertText(_Strict):
    summary: str | None = None
    description: str | None = None


class QueryText(_Strict):
    title: str
    query: str


class RunbookText(_Strict):
    likely_causes: list[str] = []
    triage: list[str] = []
    mitigation: list[str] = []
    investigation: list[QueryText] = []


class DraftEntry(_Strict):
    """One SLO's drafted text plus what it was drafted from."""

    reviewed: bool = False
    fingerprint: Hash = Field(description="hash of the spec facts the text was drafted from")
    model: str = ""
    text_hash: Hash | None = Field(
        default=None, description="hash of the text as drafted or as last reviewed; differs once edited"
    )
    alerts: dict[Name, AlertText] = {}  # by tier name
    runbook: RunbookText = RunbookText()
    rejected: list[str] = []  # why parts of the model's answer were not used (for reviewers)


class DraftsDoc(_Strict):
    api_version: Literal["sloforge/v1"] = Field(alias="apiVersion")
    kind: Literal["Drafts"]
    service: Name
    slos: dict[Name, DraftEntry] = {}

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def new_document(service: str) -> DraftsDoc:
    return DraftsDoc.model_validate({"apiVersion": API_VERSION, "kind": DRAFTS_KIND, "service": service})
