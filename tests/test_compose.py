"""docker-compose.yml: valid for `docker compose config` (or Debian's docker-compose), and wired to real files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
DEMO = REPO / "generator" / "demo"
SERVICES = {"prometheus", "alertmanager", "grafana", "exporter"}


@pytest.fixture(scope="module")
def compose() -> list[str]:
    """`docker compose` where the plugin exists, else Debian's `docker-compose` (installed by `make test`)."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither `docker compose` nor docker-compose is installed; `make test` installs docker-compose")


def compose_config(compose: list[str], path: Path) -> subprocess.CompletedProcess:
    argv = compose + ["--project-directory", str(REPO), "-f", str(path), "config"]
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=60)


@pytest.fixture(scope="module")
def resolved(compose) -> dict:
    done = compose_config(compose, COMPOSE_FILE)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_compose_config_accepts_the_file(resolved):
    assert set(resolved["services"]) == SERVICES


def test_compose_config_rejects_a_broken_file(compose, tmp_path):
    broken = yaml.safe_load(COMPOSE_FILE.read_text())
    broken["services"]["grafana"]["no_such_option"] = True
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    assert compose_config(compose, path).returncode != 0


def test_images_are_pinned(resolved):
    for name, service in resolved["services"].items():
        image = service["image"]
        tag = image.rsplit(":", 1)[-1] if ":" in image else ""
        assert tag and tag != "latest" and any(ch.isdigit() for ch in tag), f"{name}: {image}"


def test_mounts_point_at_rendered_output_and_demo_files(resolved, rendered_dir):
    """Sources under rendered/ must be produced by a render; the rest must exist in the repository."""
    checked = 0
    for name, service in resolved["services"].items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            relative = Path(source).resolve().relative_to(REPO)
            if relative.parts[0] == "rendered":
                assert (rendered_dir / Path(*relative.parts[1:])).exists(), f"{name}: {relative} is not rendered"
            else:
                assert (REPO / relative).exists(), f"{name}: {relative} missing"
            checked += 1
    for secret in resolved.get("secrets", {}).values():
        assert Path(secret["file"]).is_file(), secret
    assert checked >= 8


def test_every_alertmanager_secret_file_has_a_dummy(rendered_dir):
    """The rendered config references secrets by path; the example folder must provide each one."""
    text = (rendered_dir / "alertmanager" / "alertmanager.yml").read_text()
    config = yaml.safe_load(text)
    paths: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_file") and isinstance(value, str):
                    paths.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(config)
    assert paths, "the example teams reference secret files"
    for path in paths:
        assert path.startswith("/etc/alertmanager/secrets/"), path
        dummy = DEMO / "secrets" / Path(path).name
        assert dummy.is_file(), f"{path}: add a dummy {dummy.relative_to(REPO)}"
        assert "dummy" in dummy.read_text(), f"{dummy} must hold an obviously fake value"


def test_prometheus_config_loads_the_rendered_rules(promtool, rendered_dir, tmp_path):
    """promtool checks the compose prometheus.yml with its rule glob pointed at a fresh render."""
    config = yaml.safe_load((DEMO / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yaml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    assert all(job.get("honor_labels") for job in config["scrape_configs"] if job["job_name"] == "demo-workload")
    config["rule_files"] = [str(rendered_dir / "prometheus" / "rules" / "*.yaml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_grafana_provisioning_matches_the_compose_mounts(resolved):
    grafana = resolved["services"]["grafana"]
    targets = {v["target"] if isinstance(v, dict) else v.split(":")[1] for v in grafana["volumes"]}
    provider = yaml.safe_load((DEMO / "grafana/provisioning/dashboards/sloforge.yml").read_text())["providers"][0]
    assert provider["type"] == "file" and provider["options"]["path"] in targets
    datasource = yaml.safe_load((DEMO / "grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"][
        0
    ]
    assert datasource["type"] == "prometheus" and datasource["isDefault"]
    assert datasource["url"] == "http://prometheus:9090" and "prometheus" in resolved["services"]
