"""Imported SLOs -> sloforge spec files: one per service, a Teams stub, a Policy when windows were given.

Text is built deterministically (services by name, SLOs in input order) with
a comment above each SLO saying where it came from and what was approximated.
"""

from __future__ import annotations

from pathlib import Path

from generator.importers.common import ImportedSLO
from generator.importers.run import ImportRun
from generator.targets.yaml_text import pyyaml_dump

HEADER = "Imported by `sloforge import`; review, then commit. Sources are named above each SLO."


def _block(data: object, indent: str) -> str:
    text = pyyaml_dump(data)
    return "".join(f"{indent}{line}\n" if line else "\n" for line in text.splitlines())


def _comment(lines: list[str], indent: str = "") -> str:
    return "".join(f"{indent}# {line}\n" for line in lines)


def service_text(service: str, team: str, slos: list[ImportedSLO]) -> str:
    formats = sorted({slo.source_format for slo in slos})
    head: dict = {"apiVersion": "sloforge/v1", "kind": "Service", "service": service, "team": team}
    labels = next((slo.service_labels for slo in slos if slo.service_labels), {})
    if labels:
        head["labels"] = dict(labels)
    text = _comment([HEADER, f"Source format: {', '.join(formats)}."]) + _block(head, "") + "slos:\n"
    for slo in slos:
        notes = [f"from {slo.where} ({slo.source_format})"]
        notes += [f"approximation: {note}" for note in slo.approximations]
        text += _comment(notes, "  ") + _block([slo.slo], "  ")
    return text


def teams_text(teams: list[str], hints: dict[str, list[str]]) -> str:
    lines = [
        HEADER,
        "Teams stub: every team pages a PagerDuty service whose routing key Alertmanager reads from",
        f"{SECRETS_DIR}/<team>-pagerduty (create that file, or replace the receivers); see docs/import.md.",
        "A team without a page receiver would be an error: pages must reach someone.",
    ]
    for team in teams:
        for hint in hints.get(team, []) + (hints.get("", []) if len(teams) == 1 else []):
            lines.append(f"routing hint for {team} from the source: {hint}")
    body = {"apiVersion": "sloforge/v1", "kind": "Teams", "teams": {t: _stub_receivers(t) for t in teams}}
    return _comment(lines) + _block(body, "")


SECRETS_DIR = "/etc/alertmanager/secrets"  # sloforge's default settings.secrets_dir


def _stub_receivers(team: str) -> dict:
    pagerduty = {"pagerduty": {"routing_key_file": f"{SECRETS_DIR}/{team}-pagerduty"}}
    return {"page": pagerduty, "ticket": pagerduty}


def policy_text(tiers: dict[str, dict], notes: list[str]) -> str:
    body = {"apiVersion": "sloforge/v1", "kind": "Policy", "tiers": {k: tiers[k] for k in sorted(tiers)}}
    return _comment([HEADER, *notes]) + _block(body, "")


STUB_FILES = ("teams.yaml", "policy.yaml")


def service_file(service: str) -> str:
    """`<service>.yaml`, unless that is the name of the Teams or Policy stub."""
    name = f"{service}.yaml"
    return f"service-{name}" if name in STUB_FILES else name


def planned_files(result: ImportRun) -> dict[str, str]:
    """Relative path -> text of every file the import writes."""
    by_service: dict[str, list[ImportedSLO]] = {}
    for slo in result.batch.slos:
        by_service.setdefault(slo.service, []).append(slo)
    files = {
        service_file(service): service_text(service, result.teams[service], by_service[service])
        for service in sorted(by_service)
    }
    if files:
        hints = {
            result.teams.get(_service_of(result, key), key): value for key, value in result.batch.routing_hints.items()
        }
        files["teams.yaml"] = teams_text(sorted(set(result.teams.values())), hints)
    if result.batch.policy_tiers:
        files["policy.yaml"] = policy_text(result.batch.policy_tiers, result.batch.policy_notes)
    return files


def _service_of(result: ImportRun, team_hint: str) -> str:
    """The service whose SLOs carried `team_hint` (routing hints are keyed by the source's team hint)."""
    return next((slo.service for slo in result.batch.slos if (slo.team_hint or "") == team_hint), "")


def existing(out: Path, files: dict[str, str]) -> list[Path]:
    return [out / name for name in files if (out / name).exists() or (out / name).is_symlink()]


def write_files(out: Path, files: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
