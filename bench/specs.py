"""Spec files for generated SLOs: the benchmark's input, written as a user would write them."""

from __future__ import annotations

from pathlib import Path

from bench.synth import METRIC, SLOShape

TEAMS = """apiVersion: sloforge/v1
kind: Teams
teams:
  bench:
    page:
      pagerduty: {routing_key_file: /etc/alertmanager/secrets/bench-pagerduty}
    ticket:
      slack: {channel: "#bench-alerts", api_url_file: /etc/alertmanager/secrets/slack-webhook}
"""


def events_slo(shape: SLOShape) -> str:
    sel = f'service="{shape.service}",route="{shape.slo}"'
    return f"""  - name: {shape.slo}
    description: Requests to {shape.slo} succeed
    objective: {shape.objective}
    window: 30d
    sli:
      events:
        errors: sum(rate({METRIC}{{{sel},code=~"5.."}}[{{{{.window}}}}]))
        total: sum(rate({METRIC}{{{sel}}}[{{{{.window}}}}]))
"""


def service_doc(service: str, slo_blocks: list[str]) -> str:
    return (
        f"apiVersion: sloforge/v1\nkind: Service\nservice: {service}\nteam: bench\n"
        f"description: Synthetic benchmark service {service}\nslos:\n" + "".join(slo_blocks)
    )


def eval_specs(shapes: list[SLOShape]) -> dict[str, str]:
    """Events SLIs over the synthetic counters: {file name: text}."""
    by_service: dict[str, list[str]] = {}
    for shape in shapes:
        by_service.setdefault(shape.service, []).append(events_slo(shape))
    files = {f"{service}.yaml": service_doc(service, blocks) for service, blocks in by_service.items()}
    files["teams.yaml"] = TEAMS
    return files


def mixed_slo(index: int) -> str:
    """One SLO of each SLI kind in turn, so render throughput covers every code path."""
    name = f"slo-{index}"
    kind = index % 4
    if kind == 0:
        sli = f"""      events:
        errors: sum(rate(http_requests_total{{job="j{index}",code=~"5.."}}[{{{{.window}}}}]))
        total: sum(rate(http_requests_total{{job="j{index}"}}[{{{{.window}}}}]))"""
    elif kind == 1:
        sli = f"""      latency:
        histogram: http_request_duration_seconds
        selector: '{{job="j{index}"}}'
        threshold: 300ms
        buckets: [0.1, 0.3, 1]"""
    elif kind == 2:
        sli = f"""      raw:
        error_ratio: sum(rate(failed_total{{job="j{index}"}}[{{{{.window}}}}])) / sum(rate(processed_total{{job="j{index}"}}[{{{{.window}}}}]))"""
    else:
        sli = f"""      bool_gauge:
        metric: probe_success{{job="blackbox",target="t{index}"}}"""
    return f"""  - name: {name}
    description: Generated SLO {index}
    objective: 99.9
    window: {("30d", "28d", "7d")[index % 3]}
    sli:
{sli}
"""


def mixed_specs(slos: int, per_service: int = 10) -> dict[str, str]:
    files = {"teams.yaml": TEAMS}
    for first in range(0, slos, per_service):
        service = f"svc-{first // per_service:04d}"
        blocks = [mixed_slo(i) for i in range(first, min(slos, first + per_service))]
        files[f"{service}.yaml"] = service_doc(service, blocks)
    return files


def write_specs(files: dict[str, str], root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("*.yaml"):
        old.unlink()
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root
