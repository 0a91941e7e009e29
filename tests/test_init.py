"""`sloforge init`: a scaffold that renders and validates at once, and never
overwrites or writes outside its directory."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from generator.cli import main
from generator.scaffold import scaffold_files
from generator.spec.json_schema import spec_json_schema


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def files_under(root) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def test_init_then_render_check_and_validate_pass(runner, tmp_path, promtool, amtool, monkeypatch):
    repo = tmp_path / "new-repo"
    created = runner.invoke(main, ["init", str(repo)])
    assert created.exit_code == 0, created.output
    assert (
        files_under(repo)
        == set(scaffold_files())
        >= {
            "Makefile",
            ".github/workflows/slo.yaml",
            ".gitlab-ci.yml",
            ".pre-commit-config.yaml",
            "slo_specs/sloforge.schema.json",
            "slo_specs/teams.yaml",
        }
    )
    monkeypatch.chdir(repo)  # the scaffold's Makefile and CI call sloforge with its defaults
    rendered = runner.invoke(main, ["render"])
    assert rendered.exit_code == 0 and "warning" not in rendered.output, rendered.output
    assert runner.invoke(main, ["check"]).exit_code == 0
    validated = runner.invoke(main, ["validate"])
    assert validated.exit_code == 0 and "0 failed" in validated.output, validated.output


def test_scaffold_specs_pass_the_schema_and_ci_files_are_yaml(tmp_path, runner):
    assert runner.invoke(main, ["init", str(tmp_path)]).exit_code == 0
    validator = jsonschema.Draft202012Validator(spec_json_schema())
    for path in (tmp_path / "slo_specs").glob("*.yaml"):
        assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == [], path
    assert json.loads((tmp_path / "slo_specs" / "sloforge.schema.json").read_text()) == spec_json_schema()
    workflow = yaml.safe_load((tmp_path / ".github/workflows/slo.yaml").read_text())
    gitlab = yaml.safe_load((tmp_path / ".gitlab-ci.yml").read_text())
    hook = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    assert "sloforge check && sloforge validate" in [step.get("run") for step in workflow["jobs"]["slo"]["steps"]]
    assert gitlab["slo"]["script"] == ["sloforge check && sloforge validate"]
    assert hook["repos"][0]["hooks"][0]["entry"] == "sloforge check"


def test_init_refuses_to_overwrite_and_writes_nothing(runner, tmp_path):
    (tmp_path / "Makefile").write_text("mine\n")
    result = runner.invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 2 and "refusing to overwrite: Makefile exists" in result.output
    assert files_under(tmp_path) == {"Makefile"} and (tmp_path / "Makefile").read_text() == "mine\n"


def test_init_never_follows_a_symlink_out_of_dir(runner, tmp_path):
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    repo.mkdir()
    outside.mkdir()
    (repo / "slo_specs").symlink_to(outside, target_is_directory=True)
    result = runner.invoke(main, ["init", str(repo)])
    assert result.exit_code == 2 and "slo_specs is a symlink" in result.output, result.output
    assert files_under(outside) == set() and files_under(repo) == set()


def test_init_into_a_file_is_an_error(runner, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = runner.invoke(main, ["init", str(target)])
    assert result.exit_code == 2 and "is not a directory" in result.output and "Traceback" not in result.output
