"""The `settings.deploy` part of a Policy document: deployment formats beside prometheus/rules/ (docs/deploy.md)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from generator.spec.strict import Strict

DeployFormat = Literal["operator", "mimir", "cortex", "thanos"]
# Kubernetes syntax (apimachinery validation): a namespace is a DNS-1123 label;
# a label key is an optional DNS-1123 subdomain prefix and a name; values may be empty.
K8S_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_K8S_QUALIFIED = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
K8S_LABEL_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_K8S_QUALIFIED}$")
K8S_LABEL_VALUE = re.compile(rf"^({_K8S_QUALIFIED})?$")


def _k8s_label(key: str, value: object) -> None:
    prefix, _, name = key.rpartition("/")
    if not K8S_LABEL_KEY.fullmatch(key) or len(name) > 63 or len(prefix) > 253:
        raise ValueError(
            f"label key {key!r} is not a Kubernetes label key: [prefix/]name, name up to 63 of "
            "[A-Za-z0-9-_.] starting and ending with a letter or digit"
        )
    if not isinstance(value, str) or not K8S_LABEL_VALUE.fullmatch(value) or len(value) > 63:
        raise ValueError(
            f"label {key}: value {value!r} is not a Kubernetes label value: text up to 63 of [A-Za-z0-9-_.] "
            "starting and ending with a letter or digit (quote numbers)"
        )


class OperatorSettings(Strict):
    """Metadata of the rendered PrometheusRule resources."""

    namespace: Annotated[str, StringConstraints(pattern=K8S_DNS_LABEL, max_length=63)] | None = Field(
        default=None, description="metadata.namespace; leave out to use kubectl's namespace"
    )
    labels: dict[str, str] = Field(
        default={}, description="metadata.labels, e.g. the labels your Prometheus ruleSelector matches"
    )

    @field_validator("labels", mode="before")
    @classmethod
    def _kubernetes_labels(cls, value: object) -> object:
        if isinstance(value, dict):
            for key, text in value.items():
                _k8s_label(str(key), text)
        return value


class ThanosSettings(Strict):
    partial_response_strategy: Literal["warn", "abort"] | None = Field(
        default=None, description="set on every rule group; Thanos Ruler's default is abort"
    )


class DeploySettings(Strict):
    """Deployment formats rendered beside prometheus/rules/ (`render --format` overrides `formats`)."""

    formats: list[DeployFormat] = []
    operator: OperatorSettings = OperatorSettings()
    thanos: ThanosSettings = ThanosSettings()
