"""`promtool test rules` time for the generated rule tests, per SLO."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.specs import mixed_specs, write_specs
from generator.output import write_tree
from generator.pipeline import load_model
from generator.targets import render_all


@dataclass
class RuleTestTiming:
    slos: int
    test_files: int
    seconds: float
    ok: bool
    output: str

    @property
    def per_slo(self) -> float:
        return self.seconds / self.slos


TESTS_DIR = "prometheus/tests/"


def _rule_tests(model) -> dict[str, str]:
    """The rule-test renderer, if it exists but is not registered in RENDERERS yet."""
    try:
        from generator.targets.rule_tests import render_rule_tests
    except ImportError:
        return {}
    return render_rule_tests(model).files


def run(slos: int, work: Path) -> RuleTestTiming | None:
    """None while sloforge renders no rule tests (prometheus/tests/)."""
    model = load_model(write_specs(mixed_specs(slos), work / "specs"))
    tree = render_all(model)
    if not any(path.startswith(TESTS_DIR) for path in tree):
        tree.update(_rule_tests(model))
    tests = sorted(path for path in tree if path.startswith(TESTS_DIR) and path.endswith((".yaml", ".yml")))
    if not tests:
        return None
    out = work / "rendered"
    write_tree(tree, out, force=True)  # bench/.work/ is the benchmark's own scratch space
    promtool = shutil.which("promtool") or "promtool"
    t0 = time.perf_counter()
    done = subprocess.run([promtool, "test", "rules", *tests], cwd=out, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    return RuleTestTiming(
        len(model.slos), len(tests), seconds, done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    )
