"""amtool over a rendered Alertmanager config: the config, every routing test, every template.

- `amtool check-config` on the rendered config (subtree mode: on a minimal
  root wrapped around the sub-tree, written to a temp dir);
- `amtool config routes test --verify.receivers=a,b labels...` per case of
  routing-tests.yaml (amtool compares the receiver list in order);
- `amtool template render` of every define in the rendered templates, with
  fixture data built from the alerting rules in the rendered rule files.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import yaml

from generator.targets import labels as L
from generator.targets.alertmanager.names import AM_DIR, DEFAULT_RECEIVER, ROUTING_TESTS_PATH, TEMPLATES_DIR
from generator.tools.runner import ToolResult, amtool

RULES_GLOB = "prometheus/rules/*.yaml"
SAMPLE_BURN_RATE = "15.21"  # what `{{ $value | humanize }}` shows in the fixture alerts
_DEFINE = re.compile(r'\{\{-?\s*define\s+"([^"]+)"')
# A minimal root for checking a sub-tree; the globals stand in for the ones of
# the config the sub-tree is included into (email and Slack receivers need them).
SUBTREE_ROOT = {
    "global": {"smtp_smarthost": "localhost:25", "smtp_from": "sloforge-check@localhost"},
    "route": {"receiver": DEFAULT_RECEIVER},
    "receivers": [{"name": DEFAULT_RECEIVER}],
}


def check_alertmanager(out: Path) -> list[ToolResult]:
    tests_file = out / ROUTING_TESTS_PATH
    if not tests_file.is_file():
        return []
    document = yaml.safe_load(tests_file.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="sloforge-amtool-") as tmp:
        config = config_under_test(out, document, Path(tmp))
        checked = amtool(["check-config", str(config)], f"amtool check-config {AM_DIR}/{document['config']}")
        if not checked.ok:
            return [checked]  # every routing test would fail for the same reason
        results = [checked]
        results += [route_test(config, case) for case in document["tests"]]
        results += template_renders(out, document, Path(tmp))
    return results


def config_under_test(out: Path, document: dict, tmp: Path) -> Path:
    rendered = out / AM_DIR / document["config"]
    if document.get("mode") != "subtree":
        return rendered
    subtree = yaml.safe_load(rendered.read_text(encoding="utf-8"))
    root = json.loads(json.dumps(SUBTREE_ROOT))
    root["route"]["routes"] = [subtree["route"]]
    root["receivers"] += subtree.get("receivers", [])
    for key in ("inhibit_rules", "time_intervals"):
        if subtree.get(key):
            root[key] = subtree[key]
    root["templates"] = [str((out / TEMPLATES_DIR).resolve() / "*.tmpl")]
    path = tmp / "alertmanager.yml"
    path.write_text(yaml.safe_dump(root, sort_keys=False), encoding="utf-8")
    return path


def label_args(labels: dict[str, str]) -> list[str]:
    """`name="value"` with Alertmanager's escaping, so any label value survives."""
    escaped = {k: str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for k, v in labels.items()}
    return [f'{name}="{value}"' for name, value in escaped.items()]


def route_test(config: Path, case: dict) -> ToolResult:
    expected = ",".join(case["receivers"])
    return amtool(
        [
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            f"--verify.receivers={expected}",
            *label_args(case["labels"]),
        ],
        f"amtool config routes test {case['name']} -> {expected}",
    )


def template_renders(out: Path, document: dict, tmp: Path) -> list[ToolResult]:
    template_files = sorted((out / TEMPLATES_DIR).glob("*.tmpl"))
    defines = sorted({name for path in template_files for name in _DEFINE.findall(path.read_text(encoding="utf-8"))})
    glob = str((out / TEMPLATES_DIR).resolve() / "*.tmpl")
    results: list[ToolResult] = []
    for case, alert in fixture_alerts(out, document):
        data = tmp / f"fixture-{len(results)}.json"
        data.write_text(json.dumps(template_data(case, alert), indent=2), encoding="utf-8")
        for define in defines:
            result = amtool(
                [
                    "template",
                    "render",
                    f"--template.glob={glob}",
                    f'--template.text={{{{ template "{define}" . }}}}',
                    f"--template.data={data}",
                ],
                f"amtool template render {define} ({case['name']})",
            )
            results.append(_check_text(result, define, alert["labels"]))
    return results


def _check_text(result: ToolResult, define: str, labels: dict[str, str]) -> ToolResult:
    """A public template must name the service and the SLO and leave no field unfilled."""
    if not result.ok:
        return result
    problems = []
    if not result.output.strip():
        problems.append("rendered nothing")
    if "<no value>" in result.output:
        problems.append("has <no value>: a label or annotation it reads is missing")
    if "._" not in define:
        missing = [labels[name] for name in (L.SERVICE, L.SLO) if labels[name] not in result.output]
        if missing:
            problems.append(f"does not show {', '.join(missing)}")
    if problems:
        return ToolResult(result.what, False, f"{'; '.join(problems)}:\n{result.output}")
    return result


def fixture_alerts(out: Path, document: dict) -> list[tuple[dict, dict]]:
    """Real rendered alerts paired with their routing cases: the first page, ticket and missing-SLI alert."""
    rendered = {}
    for path in sorted(out.glob(RULES_GLOB)):
        for group in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if "alert" in rule:
                    labels = {L.ALERTNAME: rule["alert"], **rule.get("labels", {})}
                    rendered[_key(labels)] = {"labels": labels, "annotations": rule.get("annotations", {})}
    chosen, seen = [], set()
    for case in document["tests"]:
        kind = (case["labels"].get(L.NOTIFY), case["labels"][L.ALERTNAME] == L.MISSING_SLI_ALERT)
        alert = rendered.get(_key(case["labels"]))
        if alert is not None and kind not in seen:
            seen.add(kind)
            chosen.append((case, alert))
    return chosen


def _key(labels: dict[str, str]) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in labels.items()))


def expand_annotation(text: str, labels: dict[str, str]) -> str:
    """What Prometheus would send: the alert's templates evaluated for a sample value."""
    text = re.sub(r"\{\{[^}]*\$value[^}]*\}\}", SAMPLE_BURN_RATE, text)
    text = re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), text)
    return re.sub(r'\{\{\s*"\{\{"\s*\}\}', "{{", text)


def template_data(case: dict, alert: dict) -> dict:
    """Alertmanager's template.Data for one firing alert, as a notification would carry it."""
    labels = {k: str(v) for k, v in alert["labels"].items()}
    annotations = {k: expand_annotation(str(v), labels) for k, v in alert["annotations"].items()}
    return {
        "receiver": case["receivers"][-1],
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": annotations,
                "startsAt": "2024-01-01T00:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example/graph",
                "fingerprint": "0000000000000001",
            }
        ],
        "groupLabels": {name: labels[name] for name in (L.SERVICE, L.SLO, L.ALERTNAME)},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://alertmanager.example",
    }
