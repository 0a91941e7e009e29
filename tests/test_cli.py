"""CLI behaviour: render, drift check, validate, atomic writes and tool discovery."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main
from generator.output import TreeError, read_tree, write_tree
from generator.tools import discovery


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_render_then_check_is_clean_and_byte_identical(runner, specs_dir, tmp_path):
    out = tmp_path / "out"
    first = runner.invoke(main, ["render", "--specs", str(specs_dir), "--out", str(out)])
    assert first.exit_code == 0, first.output
    snapshot = read_tree(out)
    second = runner.invoke(main, ["render", "--specs", str(specs_dir), "--out", str(out)])
    assert second.exit_code == 0 and "0 new, 0 changed, 0 removed" in second.output
    assert read_tree(out) == snapshot
    check = runner.invoke(main, ["check", "--specs", str(specs_dir), "--out", str(out)])
    assert check.exit_code == 0, check.output


def test_check_reports_drift(runner, specs_dir, tmp_path):
    out = tmp_path / "out"
    runner.invoke(main, ["render", "--specs", str(specs_dir), "--out", str(out)])
    (out / "prometheus" / "rules" / "checkout.yaml").write_text("edited by hand\n")
    (out / "stray.txt").write_text("x")
    result = runner.invoke(main, ["check", "--specs", str(specs_dir), "--out", str(out)])
    assert result.exit_code == 1
    assert "stale: " in result.output and "checkout.yaml" in result.output
    assert "not rendered any more: " in result.output and "stray.txt" in result.output


def test_validate_runs_promtool_and_fails_on_a_broken_rule(runner, rendered_dir, tmp_path, promtool):
    copy = tmp_path / "copy"
    shutil.copytree(rendered_dir, copy)
    ok = runner.invoke(main, ["validate", "--out", str(copy)])
    assert ok.exit_code == 0, ok.output
    assert "promtool check rules prometheus/rules/checkout.yaml" in ok.output
    path = copy / "prometheus" / "rules" / "checkout.yaml"
    path.write_text(path.read_text().replace("vector(0)", "vectr(0)", 1))
    broken = runner.invoke(main, ["validate", "--out", str(copy)])
    assert broken.exit_code == 1
    assert "FAIL" in broken.output


def test_failed_write_leaves_previous_tree(tmp_path):
    out = tmp_path / "out"
    write_tree({"a.txt": "old\n"}, out)
    with pytest.raises(TreeError):  # found before anything is written
        write_tree({"b.txt": "new\n", "b.txt/c.txt": "cannot be both a file and a folder\n"}, out)
    assert read_tree(out) == {"a.txt": "old\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging debris


def test_help_is_there_for_newcomers(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("render", "check", "validate"):
        assert command in result.output


def test_tool_override_must_exist(monkeypatch):
    monkeypatch.setenv("SLOFORGE_PROMTOOL", "/nonexistent/promtool")
    with pytest.raises(discovery.ToolNotFound, match="SLOFORGE_PROMTOOL"):
        discovery.command_for(discovery.PROMTOOL)


def test_missing_tool_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv("SLOFORGE_AMTOOL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(discovery, "_docker_answers", lambda: False)
    with pytest.raises(discovery.ToolNotFound, match="apt-get install prometheus prometheus-alertmanager"):
        discovery.command_for(discovery.AMTOOL)


def test_docker_fallback_when_an_engine_answers(monkeypatch, tmp_path):
    monkeypatch.delenv("SLOFORGE_PROMTOOL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(discovery, "_docker_answers", lambda: True)
    argv = discovery.command_for(discovery.PROMTOOL, "/work")
    assert argv[:2] == ["docker", "run"] and "prom/prometheus" in argv


def test_render_warns_about_alerts_that_reach_no_team_receiver(runner, specs_dir, tmp_path):
    specs = tmp_path / "specs"
    shutil.copytree(specs_dir, specs)
    teams = specs / "teams.yaml"
    text = teams.read_text()
    start = text.index("  ml-platform:")
    ticket = text.index("    ticket:", start)
    teams.write_text(text[:ticket])  # ml-platform keeps only its page receiver
    result = runner.invoke(main, ["render", "--specs", str(specs), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "ml-gateway/latency SLOBurnRateTicketFast reaches only the default receiver" in result.output
    strict = runner.invoke(main, ["render", "--specs", str(specs), "--out", str(tmp_path / "strict"), "--strict"])
    assert strict.exit_code == 2
    assert not (tmp_path / "strict").exists()


def test_unwritable_output_is_a_clear_error(runner, specs_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = runner.invoke(main, ["render", "--specs", str(specs_dir), "--out", str(blocker / "out")])
    assert result.exit_code == 1  # a failed write is an I/O failure (1), not bad input (2)
    assert result.stderr.count("cannot write") == 1  # printed once
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a traceback


def test_a_write_that_fails_midway_exits_1_and_says_so_once(runner, specs_dir, tmp_path, monkeypatch):
    import errno

    import generator.cli

    def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "x.yaml"))

    monkeypatch.setattr(generator.cli, "write_tree", disk_full)
    result = runner.invoke(main, ["render", "--specs", str(specs_dir), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert result.stderr.count("cannot write") == 1 and "No space left on device" in result.stderr
    assert isinstance(result.exception, SystemExit)


def test_each_spec_error_is_printed_once_with_exit_2(runner, specs_dir, tmp_path):
    specs = tmp_path / "specs"
    shutil.copytree(specs_dir, specs)
    spec = next(path for path in sorted(specs.glob("*.yaml")) if "objective:" in path.read_text())
    spec.write_text(spec.read_text().replace("objective:", "objective: 250 #", 1))
    result = runner.invoke(main, ["render", "--specs", str(specs), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error ")]
    assert errors and len(errors) == len(set(errors)), result.stderr
    assert result.stderr.count("error(s) in specs; nothing was written.") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["validate", "--out", "does-not-exist"], 2),  # bad input
        (["explain", "--specs", "does-not-exist"], 2),
    ],
)
def test_errors_from_helpers_are_printed_once_by_the_group(runner, tmp_path, monkeypatch, args, code):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, args)
    assert result.exit_code == code, result.output
    first = next(line for line in result.stderr.splitlines() if line.startswith("error"))
    assert result.stderr.count(first) == 1


def test_two_process_render_gives_the_same_tree(monkeypatch, example_model):
    from generator import pipeline
    from generator.targets import render_model

    monkeypatch.setattr(pipeline, "PARALLEL_MIN_SLOS", 1)
    assert pipeline.render_tree(example_model) == render_model(example_model)


def test_draft_without_the_anthropic_extra_says_what_to_install(monkeypatch, runner: CliRunner, tmp_path: Path) -> None:
    import generator.ai

    for submodule in ("run", "client"):  # an earlier import leaves them as attributes of the package
        monkeypatch.delattr(generator.ai, submodule, raising=False)
    for name in [
        m
        for m in sys.modules
        if m == "anthropic" or m.startswith(("anthropic.", "generator.ai.run", "generator.ai.client"))
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "anthropic", None)  # as if `pip install sloforge` without [draft]
    result = runner.invoke(main, ["draft", "--specs", str(tmp_path), "--dry-run"])
    assert result.exit_code == 2
    assert "pip install 'sloforge[draft]'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
