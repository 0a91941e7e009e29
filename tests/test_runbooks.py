"""Runbooks: one per SLO, linked from every alert, with the SLO's real PromQL and burn-rate facts."""

from __future__ import annotations

import re
import subprocess
import textwrap
from dataclasses import replace
from pathlib import Path

import promql_parser
import pytest
import yaml
from fixture_paths import SPECS

from generator.ai.drafts import review_issues
from generator.model.slo import Model
from generator.output import write_tree
from generator.targets import render_all
from generator.targets.investigation import raw_queries
from generator.targets.links import runbook_path
from generator.targets.runbooks import INDEX_PATH, render_runbooks

FENCE = re.compile(r"```promql\n(.*?)\n\s*```", re.S)


def alerts_of(out: Path) -> list[dict]:
    rules = []
    for path in sorted((out / "prometheus" / "rules").glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [rule for rule in group["rules"] if "alert" in rule]
    return rules


def slo_by_key(model: Model, key: str):
    return next(slo for slo in model.slos if slo.key == key)


def test_every_alert_runbook_url_resolves_to_a_rendered_runbook(rendered_dir: Path, example_model: Model) -> None:
    alerts = alerts_of(rendered_dir)
    # every SLO has its tiers, the missing-SLI alert and a budget-freeze alert per freezing stage
    assert len(alerts) == sum(
        len(slo.tiers) + 1 + sum(stage.freeze for stage in slo.budget_stages) for slo in example_model.slos
    )
    for alert in alerts:
        url = alert["annotations"]["runbook_url"]
        target = rendered_dir / url
        assert target.is_file(), f"{alert['alert']} links to {url}, which was not rendered"
        assert f"`{alert['alert']}`" in target.read_text(), f"{url} does not cover {alert['alert']}"


def test_runbook_url_under_a_base_url_still_names_a_rendered_file(tmp_path: Path, example_model: Model) -> None:
    base = "https://git.example.com/slo/blob/main/rendered"
    model = replace(example_model, settings=replace(example_model.settings, runbook_base_url=base + "/"))
    write_tree(render_all(model), tmp_path)
    for alert in alerts_of(tmp_path):
        url = alert["annotations"]["runbook_url"]
        assert url.startswith(base + "/runbooks/")
        assert (tmp_path / url.removeprefix(base + "/")).is_file()


def test_one_runbook_per_slo_and_an_index(rendered_dir: Path, example_model: Model) -> None:
    runbooks = sorted(p.relative_to(rendered_dir).as_posix() for p in (rendered_dir / "runbooks").rglob("*.md"))
    assert runbooks == sorted([runbook_path(slo) for slo in example_model.slos] + [INDEX_PATH])
    index = (rendered_dir / INDEX_PATH).read_text()
    for slo in example_model.slos:
        assert f"({runbook_path(slo).removeprefix('runbooks/')})" in index


@pytest.mark.parametrize(
    "key",
    [
        "checkout/availability",
        "checkout/latency",
        "feature-pipeline/record-errors",
        "ml-gateway/latency",
        "storefront-probe/uptime",
    ],
)
def test_investigation_shows_the_slos_real_promql(rendered_dir: Path, example_model: Model, key: str) -> None:
    slo = slo_by_key(example_model, key)
    text = (rendered_dir / runbook_path(slo)).read_text()
    blocks = [textwrap.dedent(block) for block in FENCE.findall(text)]
    assert blocks, "no PromQL blocks"
    for block in blocks:
        promql_parser.parse(block)  # raises on anything that is not PromQL
    for query in raw_queries(slo).values():
        assert query in blocks
    sel = f'{{slo_service="{slo.service}",slo_name="{slo.name}"}}'
    assert f"slo:sli_error:ratio_rate{slo.window}{sel}" in blocks
    assert f"slo:period_error_budget_remaining:ratio{sel}" in blocks
    for tier in slo.tiers:
        assert any(b.startswith(f"slo:sli_error:ratio_rate{tier.long_window}{sel} / ") for b in blocks)
    assert text.count("```") % 2 == 0


def test_burn_rate_table_and_budget_follow_the_workbook(rendered_dir: Path, example_model: Model) -> None:
    text = (rendered_dir / "runbooks/checkout/availability.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `SLOBurnRatePageFast` | critical | 1h / 5m"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    # 99.9% over 30d, page-fast: factor 0.02 * 720h / 1h = 14.4, threshold 14.4 * 0.1% = 1.44%,
    # full outage detected after 0.001 * 14.4 * 3600s = 51.84s, budget gone in 30d / 14.4 = 50h.
    assert cells[3:] == ["14.4x", "1.44%", "2%", "52s", "30m", "5m", "2d 2h"]
    # 0.1% of 30 days is 43m 12s; at 50 requests/s that is 129,600 requests.
    assert "43m 12s of complete outage" in text
    assert "about 129,600 failed requests per 30d" in text


def test_escalation_lists_receivers_without_secrets_and_placeholders_for_gaps(example_model: Model) -> None:
    team = example_model.team("ml-platform")
    assert team is not None
    model = replace(
        example_model,
        teams=tuple(
            replace(t, receivers=(("page", team.receivers_for("page")),)) if t is team else t
            for t in example_model.teams
        ),
    )
    text = render_runbooks(model).files["runbooks/ml-gateway/availability.md"]
    escalation = text.split("## Escalation", 1)[1].split("##", 1)[0]
    assert "- page: Opsgenie" in escalation
    assert "_no ticket receiver in the spec: add one under `teams.ml-platform.ticket`_" in escalation
    everything = "".join(render_runbooks(example_model).files.values())
    assert "Slack channel #payments-alerts" in everything
    assert "/etc/alertmanager/secrets" not in everything


def test_prose_comes_from_reviewed_drafts_or_the_skeleton(rendered_dir: Path, example_model: Model) -> None:
    drafted = slo_by_key(example_model, "ml-gateway/availability").drafted
    assert drafted is not None and drafted.reviewed and not drafted.stale
    text = (rendered_dir / "runbooks/ml-gateway/availability.md").read_text()
    assert "(reviewed;" in text
    for line in drafted.triage + drafted.mitigation:
        assert line in text
    for query in drafted.investigation:
        assert query.title in text
    skeleton = (rendered_dir / "runbooks/checkout/latency.md").read_text()
    assert slo_by_key(example_model, "checkout/latency").drafted is None
    assert "skeleton text: no draft yet" in skeleton
    assert "Slow queries or a cold cache" in skeleton  # the latency SLI's own skeleton causes


def test_stale_draft_is_marked_in_the_runbook(example_model: Model) -> None:
    slo = slo_by_key(example_model, "ml-gateway/latency")
    assert slo.drafted is not None
    stale = replace(slo, drafted=replace(slo.drafted, stale=True, reviewed=False))
    services = tuple(
        replace(s, slos=tuple(stale if x.key == slo.key else x for x in s.slos)) for s in example_model.services
    )
    text = render_runbooks(replace(example_model, services=services)).files["runbooks/ml-gateway/latency.md"]
    assert "NOT REVIEWED yet" in text and "STALE: the SLO changed" in text


def test_example_drafts_are_reviewed_and_current(example_model: Model) -> None:
    assert review_issues(SPECS, example_model) == []
    drafted = {slo.service for slo in example_model.slos if slo.drafted}
    assert len(drafted) >= 2


def test_drafted_annotations_reach_the_alerts_and_pass_promtool(
    rendered_dir: Path, example_model: Model, promtool: str
) -> None:
    alerts = {
        (a["labels"]["slo_service"], a["labels"]["slo_name"], a["labels"]["slo_tier"]): a
        for a in alerts_of(rendered_dir)
    }
    for slo in example_model.slos:
        for tier in slo.tiers:
            text = slo.drafted.alert(tier.name) if slo.drafted else None
            annotations = dict(alerts[(slo.service, slo.name, tier.name)]["annotations"])
            if slo.grouping:  # a grouped SLO's alert names its group (docs/grouping.md)
                group = ", ".join(f"{label}={{{{ $labels.{label} }}}}" for label in slo.grouping)
                assert annotations["summary"].endswith(f" [{group}]")
                assert annotations["description"].startswith(f"Group {group}: ")
                annotations["summary"] = annotations["summary"].removesuffix(f" [{group}]")
                annotations["description"] = annotations["description"].removeprefix(f"Group {group}: ")
            if text is None:
                assert annotations["summary"] == f"{slo.service}/{slo.name}: error budget burn ({tier.name})"
            else:
                assert (annotations["summary"], annotations["description"]) == (text.summary, text.description)
    files = [str(p) for p in sorted((rendered_dir / "prometheus" / "rules").glob("*.yaml"))]
    done = subprocess.run([promtool, "check", "rules", *files], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_runbooks_render_byte_identical(example_model: Model) -> None:
    assert render_runbooks(example_model) == render_runbooks(example_model)
    first = render_runbooks(example_model).files
    for text in first.values():
        assert text.endswith("\n") and not text.endswith("\n\n")
