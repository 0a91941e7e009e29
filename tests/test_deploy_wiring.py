"""The wiring docs/deploy.md describes, tried with the real tools: Prometheus
loads rendered rules through a `rule_files` glob, Alertmanager finds its
templates next to a copied config, Grafana gets a provisioning file."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import main
from generator.output import write_tree
from generator.pipeline import load_model
from generator.targets import render_all
from generator.targets.grafana_provisioning import PROVISIONING_PATH
from generator.tools.servers import ServerError, find_binary, free_port, start, stop, wait_ready
from tests.test_deploy_formats import write_specs


@pytest.fixture
def rendered(tmp_path):
    specs = write_specs(tmp_path)
    out = tmp_path / "rendered"
    write_tree(render_all(load_model(specs)), out)
    return out


def prometheus_config(tmp_path, rule_glob: str) -> str:
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"evaluation_interval": "1m"},
                "rule_files": [rule_glob],
                "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:9093"]}]}]},
            }
        )
    )
    return str(config)


def test_promtool_check_config_loads_the_rule_files_glob(rendered, tmp_path, promtool):
    config = prometheus_config(tmp_path, str(rendered / "prometheus/rules/*.yaml"))
    done = subprocess.run([promtool, "check", "config", config], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    for service in ("search", "shop"):
        assert (rendered / f"prometheus/rules/{service}.yaml").as_posix() in done.stdout + done.stderr


@pytest.mark.slow
def test_prometheus_serves_one_group_per_slo_from_the_glob(rendered, tmp_path):
    try:
        binary = find_binary("prometheus")
    except ServerError as exc:
        pytest.fail(str(exc))
    port = free_port()
    config = prometheus_config(tmp_path, str(rendered / "prometheus/rules/*.yaml"))
    argv = [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}"]
    argv.append(f"--web.listen-address=127.0.0.1:{port}")
    process = start("prometheus", argv, tmp_path / "prometheus.log", f"http://127.0.0.1:{port}")
    try:
        wait_ready(process)
        with urllib.request.urlopen(f"{process.url}/api/v1/rules", timeout=10) as response:
            groups = json.load(response)["data"]["groups"]
    finally:
        stop(process)
    assert sorted(group["name"] for group in groups) == [
        "sloforge-search-availability",
        "sloforge-search-probe",
        "sloforge-shop-availability",
        "sloforge-shop-probe",
    ]


def test_alertmanager_config_finds_its_templates_wherever_it_is_copied(rendered, tmp_path, amtool):
    copy = tmp_path / "etc" / "alertmanager"
    shutil.copytree(rendered / "alertmanager", copy)
    done = subprocess.run([amtool, "check-config", str(copy / "alertmanager.yml")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    templates = len(list((copy / "templates").glob("*.tmpl")))
    assert templates and f"{templates} templates" in done.stdout


def test_grafana_provisioning_points_at_the_dashboards(rendered, tmp_path):
    provider = yaml.safe_load((rendered / PROVISIONING_PATH).read_text())["providers"][0]
    assert provider["type"] == "file" and provider["options"]["path"] == "/var/lib/grafana/dashboards/sloforge"
    assert provider["allowUiUpdates"] is False
    specs = tmp_path / "specs"
    policy = specs / "policy.yaml"
    policy.write_text(policy.read_text() + "  grafana_dashboards_path: /srv/grafana/slo\n")
    tree = render_all(load_model(specs))
    assert yaml.safe_load(tree[PROVISIONING_PATH])["providers"][0]["options"]["path"] == "/srv/grafana/slo"


def test_a_relative_grafana_path_is_an_error(tmp_path):
    specs = write_specs(tmp_path)
    policy = specs / "policy.yaml"
    policy.write_text(policy.read_text() + "  grafana_dashboards_path: dashboards\n")
    result = CliRunner().invoke(main, ["render", "--specs", str(specs), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "policy.yaml:10:" in result.output, result.output
    assert "an absolute path inside Grafana" in result.output
