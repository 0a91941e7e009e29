"""A recorded pass of `promtool test rules` is reused only for byte-identical inputs, never for a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.targets.rule_tests import TESTS_DIR
from generator.tools.discovery import PROMTOOL
from generator.tools.promtool_tests import CACHED, run_rule_test
from generator.tools.proof_cache import CACHE_ENV, rule_test_key

SERVICE = "checkout"


@pytest.fixture
def tree(rendered_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the rendered fixture specs, free to edit."""
    copy = tmp_path / "rendered"
    shutil.copytree(rendered_dir, copy)
    return copy


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(root))
    return root


def _test_file(tree: Path, name: str = f"{SERVICE}.1d.test.yaml") -> Path:
    return tree / TESTS_DIR / name


def _rules(tree: Path) -> Path:
    return tree / "prometheus" / "rules" / f"{SERVICE}.yaml"


def _drop_oldest_error_tile(rules: Path) -> None:
    """The 30d window loses its oldest error tile: the generated 1d tests then fail."""
    lines = rules.read_text().split("\n")
    kept = [line for line in lines if not ("errors:rate3d" in line and "offset 27d" in line)]
    assert len(kept) < len(lines), "the fixture's 30d window moved; update this test"
    rules.write_text("\n".join(kept))


def test_a_pass_is_recorded_and_reused_for_the_same_bytes(tree, cache, promtool):
    first = run_rule_test(_test_file(tree), tree)
    second = run_rule_test(_test_file(tree), tree)
    assert first.ok and not first.what.endswith(CACHED)
    assert second.ok and second.what.endswith(CACHED), second.what
    assert len([entry for entry in cache.iterdir() if not entry.name.startswith(".")]) == 1


def test_without_the_environment_variable_nothing_is_cached(tree, tmp_path, monkeypatch, promtool):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert not run_rule_test(_test_file(tree), tree).what.endswith(CACHED)
    assert not run_rule_test(_test_file(tree), tree).what.endswith(CACHED)


def test_a_changed_rule_file_runs_promtool_again_and_fails(tree, cache, promtool):
    assert run_rule_test(_test_file(tree), tree).ok
    _drop_oldest_error_tile(_rules(tree))
    result = run_rule_test(_test_file(tree), tree)
    assert not result.ok and not result.what.endswith(CACHED)
    assert "FAILED" in result.output


def test_a_failure_is_never_recorded(tree, cache, promtool):
    _drop_oldest_error_tile(_rules(tree))
    assert not run_rule_test(_test_file(tree), tree).ok
    again = run_rule_test(_test_file(tree), tree)
    assert not again.ok and not again.what.endswith(CACHED)
    assert not cache.exists() or not [entry for entry in cache.iterdir() if not entry.name.startswith(".")]


def test_a_changed_test_file_changes_the_key(tree, cache, promtool):
    path = _test_file(tree)
    before = rule_test_key(PROMTOOL, path)
    path.write_text(path.read_text() + "\n# a comment\n")
    assert before is not None and rule_test_key(PROMTOOL, path) not in (None, before)


def test_a_new_file_matching_a_rule_files_glob_changes_the_key(tree, cache, promtool):
    path = _test_file(tree)
    text = path.read_text()
    assert f"../rules/{SERVICE}.yaml" in text
    path.write_text(text.replace(f"../rules/{SERVICE}.yaml", "../rules/check*.yaml"))
    before = rule_test_key(PROMTOOL, path)
    (tree / "prometheus" / "rules" / "checkout-extra.yaml").write_text("groups: []\n")
    assert before is not None and rule_test_key(PROMTOOL, path) not in (None, before)


def test_another_promtool_binary_changes_the_key(tree, tmp_path, monkeypatch, promtool):
    path = _test_file(tree)
    before = rule_test_key(PROMTOOL, path)
    copy = tmp_path / "bin" / "promtool"
    copy.parent.mkdir()
    shutil.copy2(promtool, copy)
    monkeypatch.setenv(PROMTOOL.env, str(copy))
    assert before is not None and rule_test_key(PROMTOOL, path) not in (None, before)


def test_unreadable_rule_files_are_never_cached(tree, cache, promtool):
    path = _test_file(tree)
    path.write_text(path.read_text().replace(f"../rules/{SERVICE}.yaml", "../rules/nothing-*.yaml"))
    assert rule_test_key(PROMTOOL, path) is None
    path.write_text("rule_files: {not: a list}\n")
    assert rule_test_key(PROMTOOL, path) is None


def test_a_cache_path_that_is_a_file_never_fails_validation(tree, cache, promtool):
    cache.write_text("not a directory")
    assert run_rule_test(_test_file(tree), tree).ok
    assert run_rule_test(_test_file(tree), tree).ok


def test_validate_reuses_passes_and_says_so(tree, cache, promtool, amtool):
    kept = {f"{SERVICE}.1d.test.yaml", "storefront-probe.1d.test.yaml"}
    for path in (tree / TESTS_DIR).glob("*.test.yaml"):
        if path.name not in kept:
            path.unlink()
    command = [sys.executable, "-m", "generator", "validate", "--out", str(tree)]
    env = {**os.environ, CACHE_ENV: str(cache)}
    cold = subprocess.run(command, capture_output=True, text=True, env=env)
    assert cold.returncode == 0, cold.stdout + cold.stderr
    assert CACHED not in cold.stdout
    _drop_oldest_error_tile(_rules(tree))
    warm = subprocess.run(command, capture_output=True, text=True, env=env)
    assert warm.returncode == 1, warm.stdout + warm.stderr
    reused = [line for line in warm.stdout.splitlines() if CACHED in line]
    assert len(reused) == 1 and "storefront-probe.1d.test.yaml" in reused[0], warm.stdout
    assert "FAILED" in warm.stdout + warm.stderr


def test_a_byte_identical_copy_of_the_tree_reuses_the_pass(tree, tmp_path, cache, promtool):
    assert run_rule_test(_test_file(tree), tree).ok
    elsewhere = tmp_path / "elsewhere" / "rendered"
    shutil.copytree(tree, elsewhere)
    assert run_rule_test(_test_file(elsewhere), elsewhere).what.endswith(CACHED)
    _drop_oldest_error_tile(_rules(elsewhere))
    assert not run_rule_test(_test_file(elsewhere), elsewhere).ok


def test_a_rule_file_that_is_a_device_or_fifo_is_never_read_for_the_key(tree, tmp_path, cache, promtool):
    path = _test_file(tree)
    text = path.read_text()
    path.write_text(text.replace(f"../rules/{SERVICE}.yaml", "/dev/zero"))
    assert rule_test_key(PROMTOOL, path) is None  # reading it would never end
    fifo = tmp_path / "rules.fifo"
    os.mkfifo(fifo)
    path.write_text(text.replace(f"../rules/{SERVICE}.yaml", str(fifo)))
    assert rule_test_key(PROMTOOL, path) is None  # opening it would block
