"""promtool over the rule groups embedded in the deployment formats (operator/,
mimir/, cortex/, thanos/): each must hold exactly what Prometheus would accept."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from generator.tools.runner import ToolResult, promtool

# Group fields only Thanos Ruler knows; promtool rejects them.
THANOS_ONLY_GROUP_FIELDS = ("partial_response_strategy",)


def embedded_groups(directory: str, document: object) -> list | None:
    """The `groups:` list of one deployment file, or None when the file has the wrong shape."""
    if not isinstance(document, dict):
        return None
    if directory == "operator":
        if document.get("kind") != "PrometheusRule":
            return None
        groups = (document.get("spec") or {}).get("groups")
    elif directory in ("mimir", "cortex"):
        if not isinstance(document.get("namespace"), str) or set(document) != {"namespace", "groups"}:
            return None
        groups = document.get("groups")
    else:
        groups = [
            {key: value for key, value in group.items() if key not in THANOS_ONLY_GROUP_FIELDS}
            for group in document.get("groups") or []
            if isinstance(group, dict)
        ]
    return groups if isinstance(groups, list) else None


def check_deploy_formats(out: Path) -> list[ToolResult]:
    results: list[ToolResult] = []
    with tempfile.TemporaryDirectory(prefix="sloforge-deploy-") as scratch:
        for directory in ("operator", "mimir", "cortex", "thanos"):
            for path in sorted((out / directory).glob("*.yaml")):
                if path.name == "kustomization.yaml":
                    continue
                what = f"promtool check rules {path.relative_to(out)} (embedded groups)"
                try:
                    groups = embedded_groups(directory, yaml.safe_load(path.read_text(encoding="utf-8")))
                except yaml.YAMLError as exc:
                    results.append(ToolResult(what, False, f"not YAML: {exc}"))
                    continue
                if groups is None:
                    results.append(ToolResult(what, False, f"not a {directory} rule file"))
                    continue
                plain = Path(scratch) / directory / path.name
                plain.parent.mkdir(exist_ok=True)
                plain.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
                result = promtool(["check", "rules", "--lint=all", "--lint-fatal", str(plain)], what)
                results.append(ToolResult(what, result.ok, result.output.replace(str(plain), str(path))))
    return results
