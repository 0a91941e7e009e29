"""Deployment formats (docs/deploy.md): PrometheusRule for the operator, Mimir/Cortex
rule namespaces and Thanos Ruler files, all carrying the plain rule groups."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import main
from generator.output import read_tree, write_tree
from generator.pipeline import load_model
from generator.targets import render_all
from generator.targets.deploy import with_formats
from generator.tools.deploy_checks import check_deploy_formats

# <repo>/../shared/reference; SLOFORGE_REFERENCE_DIR points elsewhere (a git worktree, CI).
REFERENCE = Path(
    os.environ.get("SLOFORGE_REFERENCE_DIR") or Path(__file__).resolve().parents[1].parent / "shared" / "reference"
)
FORMATS = ("operator", "mimir", "cortex", "thanos")

SERVICE = """\
apiVersion: sloforge/v1
kind: Service
service: {name}
team: web
slos:
  - name: availability
    objective: 99.5
    sli:
      events:
        errors: sum(rate(http_requests_total{{job="{name}",code=~"5.."}}[{{{{.window}}}}]))
        total: sum(rate(http_requests_total{{job="{name}"}}[{{{{.window}}}}]))
  - name: probe
    objective: 99
    window: 7d
    sli:
      bool_gauge: {{metric: 'probe_success{{job="{name}"}}'}}
"""
TEAMS = """\
apiVersion: sloforge/v1
kind: Teams
teams:
  web:
    page: {webhook: {url: "http://127.0.0.1:9/page"}}
    ticket: {webhook: {url: "http://127.0.0.1:9/ticket"}}
"""
POLICY = """\
apiVersion: sloforge/v1
kind: Policy
settings:
  deploy:
    formats: [operator, mimir, cortex, thanos]
    operator:
      namespace: {namespace}
      labels: {labels}
    thanos: {{partial_response_strategy: warn}}
"""


def write_specs(root: Path, services=("shop", "search"), namespace="monitoring", labels="{release: kube-prom}") -> Path:
    specs = root / "specs"
    specs.mkdir(parents=True)
    for name in services:
        (specs / f"{name}.yaml").write_text(SERVICE.format(name=name))
    (specs / "teams.yaml").write_text(TEAMS)
    (specs / "policy.yaml").write_text(POLICY.format(namespace=namespace, labels=labels))
    return specs


@pytest.fixture
def specs(tmp_path) -> Path:
    return write_specs(tmp_path)


@pytest.fixture
def tree(specs) -> dict[str, str]:
    return render_all(load_model(specs))


def plain_groups(tree: dict[str, str], service: str) -> list:
    return yaml.safe_load(tree[f"prometheus/rules/{service}.yaml"])["groups"]


def crd_validator():
    import jsonschema

    crd_path = REFERENCE / "prometheusrule.crd.yaml"
    if not crd_path.exists():
        pytest.skip(f"{crd_path} is absent (reference data outside the repository)")
    crd = yaml.safe_load(crd_path.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    schema = version["schema"]["openAPIV3Schema"]
    # No check_schema: the CRD's `(?i)` patterns are Go regexps that Python's `re` rejects as a metaschema format.
    return jsonschema.Draft7Validator(schema)


def test_default_render_adds_no_deployment_files(specs):
    model = with_formats(load_model(specs), ())
    assert not [path for path in render_all(model) if path.split("/")[0] in FORMATS]
    assert with_formats(load_model(specs), ("prometheus",)).settings.deploy_formats == ()


def test_prometheus_rules_match_the_operator_crd_and_carry_the_plain_groups(tree):
    validator = crd_validator()
    for service in ("shop", "search"):
        resource = yaml.safe_load(tree[f"operator/{service}.yaml"])
        errors = [error.message for error in validator.iter_errors(resource)]
        assert errors == []
        assert resource["apiVersion"] == "monitoring.coreos.com/v1" and resource["kind"] == "PrometheusRule"
        assert resource["metadata"] == {
            "name": f"sloforge-{service}",
            "namespace": "monitoring",
            "labels": {"app.kubernetes.io/managed-by": "sloforge", "release": "kube-prom"},
        }
        assert resource["spec"]["groups"] == plain_groups(tree, service)
    kustomization = yaml.safe_load(tree["operator/kustomization.yaml"])
    assert kustomization["resources"] == ["search.yaml", "shop.yaml"]


def test_the_crd_check_can_fail(tree):
    validator = crd_validator()
    resource = yaml.safe_load(tree["operator/shop.yaml"])
    del resource["spec"]["groups"][0]["rules"][0]["expr"]
    resource["spec"]["groups"][1]["rules"][0]["for"] = "ten minutes"
    messages = [error.message for error in validator.iter_errors(resource)]
    assert any("'expr' is a required property" in message for message in messages)
    assert any("does not match" in message for message in messages)


def test_ruler_files_parse_back_into_the_same_groups(tree):
    for directory in ("mimir", "cortex"):
        for service in ("shop", "search"):
            document = yaml.safe_load(tree[f"{directory}/{service}.yaml"])
            assert list(document) == ["namespace", "groups"]
            assert document["namespace"] == f"sloforge-{service}"
            assert document["groups"] == plain_groups(tree, service)
            assert [group["name"] for group in document["groups"]] == [
                f"sloforge-{service}-availability",
                f"sloforge-{service}-probe",
            ]


def test_thanos_files_add_the_partial_response_strategy_to_every_group(tree):
    groups = yaml.safe_load(tree["thanos/shop.yaml"])["groups"]
    assert [group.pop("partial_response_strategy") for group in groups] == ["warn", "warn"]
    assert groups == plain_groups(tree, "shop")


def test_promtool_accepts_every_embedded_group_and_catches_a_broken_one(tree, tmp_path, promtool):
    out = tmp_path / "out"
    write_tree(tree, out)
    results = check_deploy_formats(out)
    assert len(results) == 4 * 2 and all(result.ok for result in results), [r.output for r in results if not r.ok]
    broken = out / "mimir" / "shop.yaml"
    broken.write_text(broken.read_text().replace("sum_over_time(", "sum_over_tim(", 1))
    (out / "operator" / "search.yaml").write_text("kind: ConfigMap\n")
    failed = {result.what.split()[3] for result in check_deploy_formats(out) if not result.ok}
    assert failed == {"mimir/shop.yaml", "operator/search.yaml"}


def test_examples_render_and_validate_in_every_format(example_model, tmp_path, promtool):
    model = with_formats(example_model, FORMATS)
    tree = render_all(model)
    assert render_all(model) == tree  # byte-deterministic
    validator = crd_validator() if (REFERENCE / "prometheusrule.crd.yaml").exists() else None
    for service in model.services:
        if validator:
            assert list(validator.iter_errors(yaml.safe_load(tree[f"operator/{service.name}.yaml"]))) == []
        assert yaml.safe_load(tree[f"mimir/{service.name}.yaml"])["groups"] == plain_groups(tree, service.name)
    out = tmp_path / "out"
    write_tree(tree, out)
    results = check_deploy_formats(out)
    assert len(results) == 4 * len(model.services) and all(result.ok for result in results)


def test_cli_format_option_render_and_check(tmp_path):
    specs = write_specs(tmp_path)
    (specs / "policy.yaml").unlink()
    out, runner = tmp_path / "out", CliRunner()
    result = runner.invoke(main, ["render", "--specs", str(specs), "--out", str(out), "--format", "operator"])
    assert result.exit_code == 0, result.output
    assert sorted(path for path in read_tree(out) if path.startswith("operator/")) == [
        "operator/kustomization.yaml",
        "operator/search.yaml",
        "operator/shop.yaml",
    ]
    assert "namespace" not in yaml.safe_load((out / "operator" / "shop.yaml").read_text())["metadata"]
    check = ["check", "--specs", str(specs), "--out", str(out)]
    assert runner.invoke(main, [*check, "--format", "operator"]).exit_code == 0
    stale = runner.invoke(main, check)
    assert stale.exit_code == 1 and "not rendered any more: " in stale.output
    assert "has operator/ from `render --format`: give `check` the same --format" in stale.output


@pytest.mark.parametrize(
    ("namespace", "labels", "expected"),
    [
        ("Monitoring_NS", "{release: kube-prom}", "policy.yaml:7:18: "),
        ("monitoring", "{release: 'bad value!'}", "is not a Kubernetes label value"),
        ("monitoring", "{'-bad/key': x}", "is not a Kubernetes label key"),
        ("monitoring", "{release: " + "x" * 64 + "}", "is not a Kubernetes label value"),
    ],
)
def test_bad_kubernetes_metadata_is_a_clear_error_and_writes_nothing(tmp_path, namespace, labels, expected):
    specs = write_specs(tmp_path, namespace=namespace, labels=labels)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", "--specs", str(specs), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_a_service_name_kubernetes_refuses_is_an_error_only_for_the_operator(tmp_path):
    specs = write_specs(tmp_path, services=("shop-",))
    (specs / "policy.yaml").unlink()
    out, runner = tmp_path / "out", CliRunner()
    refused = runner.invoke(main, ["render", "--specs", str(specs), "--out", str(out), "--format", "operator"])
    assert refused.exit_code == 2 and "shop-.yaml:1:1: service 'shop-'" in refused.output, refused.output
    assert not out.exists()
    assert runner.invoke(main, ["render", "--specs", str(specs), "--out", str(out), "--format", "mimir"]).exit_code == 0


def test_unknown_format_in_the_policy_is_an_error(tmp_path):
    specs = write_specs(tmp_path)
    policy = specs / "policy.yaml"
    policy.write_text(policy.read_text().replace("[operator, mimir", "[operater, mimir"))
    result = CliRunner().invoke(main, ["render", "--specs", str(specs), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "policy.yaml:5:" in result.output, result.output
