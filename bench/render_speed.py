"""Render throughput: specs on disk -> load, validate, build, render_all, for growing SLO counts."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.specs import mixed_specs, write_specs
from generator.model.build import build_model
from generator.model.validate import validate
from generator.spec import load_specs
from generator.targets import render_all


@dataclass
class RenderTiming:
    slos: int
    files: int
    seconds: list[float]  # in-process, one entry per repetition
    phases: dict[str, float]  # best repetition, per stage
    cli_seconds: float  # `sloforge render` once, as a user runs it

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def per_slo_ms(self) -> float:
        return self.best / self.slos * 1000


def time_render(specs: Path) -> tuple[float, dict[str, float], int]:
    t0 = time.perf_counter()
    spec_set = load_specs(specs)
    t1 = time.perf_counter()
    validate(spec_set)
    t2 = time.perf_counter()
    model = build_model(spec_set)
    t3 = time.perf_counter()
    tree = render_all(model)
    t4 = time.perf_counter()
    phases = {"load": t1 - t0, "validate": t2 - t1, "build": t3 - t2, "render": t4 - t3}
    return t4 - t0, phases, len(tree)


def run(sizes: tuple[int, ...], work: Path, repeats: int = 3) -> list[RenderTiming]:
    results = []
    for size in sizes:
        specs = write_specs(mixed_specs(size), work / f"specs-{size}")
        runs = [time_render(specs) for _ in range(repeats)]
        best = min(runs, key=lambda r: r[0])
        out = work / f"out-{size}"
        t0 = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).with_name("sloforge")), "render", "--specs", str(specs), "--out", str(out)],
            check=True,
            capture_output=True,
        )
        cli = time.perf_counter() - t0
        results.append(RenderTiming(size, best[2], [r[0] for r in runs], best[1], cli))
    return results
