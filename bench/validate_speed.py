"""`sloforge validate` on a generated fleet: wall and CPU time, per kind of check, for growing SLO counts.

`python -m bench.validate_speed --sizes 100,1000` renders the bench's mixed
specs (bench/specs.py: events, latency, raw and bool_gauge SLIs, ten SLOs per
service) into bench/.work/validate/, runs `sloforge validate --out` on each as
a user would, with a fresh `SLOFORGE_CACHE_DIR`; then edits one SLO's
objective, renders again and re-validates (what CI does after a one-line
change, with the proof cache kept between runs), and replaces only its own
section of bench/results/latest.md.
Timings on a shared machine are noisy: the load average at the start and the
end of each run goes into the table.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click

from bench.specs import mixed_specs, write_specs
from generator.output import write_tree
from generator.pipeline import load_model
from generator.targets import render_all
from generator.tools.promtool_tests import CACHED

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "validate"
RESULTS = HERE / "results" / "latest.md"
TITLE = "## Fleet validate (`sloforge validate` on the mixed fleet)"
TARGET_SLOS, TARGET_SECONDS = 1000, 180.0
_SUMMARY = re.compile(r"validate: (\d+) checks ok, (\d+) failed")


@dataclass
class ValidateTiming:
    slos: int
    test_files: int
    checks: int
    failed: int
    seconds: float  # wall
    cpu_seconds: float  # user + system of promtool/amtool and sloforge itself
    load_before: float
    load_after: float
    jobs: int
    edited_seconds: float = 0.0  # wall of the re-validation after one SLO's objective changed
    edited_cpu_seconds: float = 0.0
    reused: int = 0  # rule-test files whose recorded pass was reused by that re-validation


def children_cpu() -> float:
    """CPU seconds (user + system) of every child process waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def render_fleet(slos: int, work: Path) -> Path:
    out = work / f"out-{slos}"
    if out.exists():
        subprocess.run(["rm", "-rf", str(out)], check=True)  # bench/.work/ is the benchmark's own scratch space
    render_into(write_specs(mixed_specs(slos), work / f"specs-{slos}"), out)
    return out


def render_into(specs: Path, out: Path) -> None:
    write_tree(render_all(load_model(specs)), out)


def edit_one_slo(specs: Path) -> None:
    """Change the first SLO's objective: its service's rules and tests change, every other file stays."""
    first = sorted(specs.glob("*.yaml"))[0]
    text = first.read_text(encoding="utf-8")
    edited = text.replace("objective: 99.9\n", "objective: 99.5\n", 1)
    if edited == text:
        raise RuntimeError(f"{first}: no `objective: 99.9` to edit")
    first.write_text(edited, encoding="utf-8")


@dataclass
class _Run:
    seconds: float
    cpu: float
    output: str
    returncode: int


def _validate(out: Path, cache: Path) -> _Run:
    sloforge = str(Path(sys.executable).with_name("sloforge"))
    env = {
        **os.environ,
        "SLOFORGE_TOOL_TIMEOUT": os.environ.get("SLOFORGE_TOOL_TIMEOUT", "3600"),  # time, not fail
        "SLOFORGE_CACHE_DIR": str(cache),
    }
    cpu0, t0 = children_cpu(), time.perf_counter()
    done = subprocess.run([sloforge, "validate", "--out", str(out)], capture_output=True, text=True, env=env)
    return _Run(time.perf_counter() - t0, children_cpu() - cpu0, done.stdout + done.stderr, done.returncode)


def time_validate(slos: int, work: Path) -> ValidateTiming:
    out = render_fleet(slos, work)
    cache = work / f"cache-{slos}"
    if cache.exists():
        subprocess.run(["rm", "-rf", str(cache)], check=True)
    test_files = len(list((out / "prometheus" / "tests").glob("*.test.yaml")))
    load_before = os.getloadavg()[0]
    cold = _validate(out, cache)
    found = _SUMMARY.search(cold.output)
    checks, failed = (int(found.group(1)) + int(found.group(2)), int(found.group(2))) if found else (0, -1)
    if cold.returncode != 0 and failed == 0:
        failed = -1
    jobs = int(os.environ.get("SLOFORGE_JOBS", "0")) or os.cpu_count() or 1
    timing = ValidateTiming(slos, test_files, checks, failed, cold.seconds, cold.cpu, load_before, 0.0, jobs)
    specs = work / f"specs-{slos}"
    edit_one_slo(specs)
    render_into(specs, out)
    edited = _validate(out, cache)
    if edited.returncode != 0:
        timing.failed = -1
    timing.edited_seconds, timing.edited_cpu_seconds = edited.seconds, edited.cpu
    timing.reused = edited.output.count(CACHED)
    timing.load_after = os.getloadavg()[0]
    return timing


def section(timings: list[ValidateTiming], stamp: str) -> list[str]:
    lines = [
        TITLE,
        "",
        stamp,
        "",
        "The bench's mixed specs (events, latency, raw, bool_gauge; 10 SLOs per service) rendered, then "
        "`sloforge validate --out DIR` once: promtool check rules and test rules on every file, amtool "
        "check-config, the routing tests and the template renders. CPU is promtool's, amtool's and sloforge's. "
        "Then one SLO's objective is edited, the fleet rendered again and validated with the same "
        "`SLOFORGE_CACHE_DIR` (docs/ci.md): rule-test files whose bytes did not change reuse their recorded pass.",
        "",
        "| SLOs | rule-test files | checks | failed | wall | CPU | CPU per SLO | after one edit: wall | CPU "
        "| passes reused | processes at once | load at start / end |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for t in timings:
        lines.append(
            f"| {t.slos:,} | {t.test_files} | {t.checks:,} | {t.failed} | {t.seconds:.0f} s | {t.cpu_seconds:.0f} s | "
            f"{t.cpu_seconds / t.slos:.2f} s | {t.edited_seconds:.0f} s | {t.edited_cpu_seconds:.0f} s | "
            f"{t.reused} of {t.test_files} | {t.jobs} | {t.load_before:.1f} / {t.load_after:.1f} |"
        )
    target = next((t for t in timings if t.slos == TARGET_SLOS), None)
    if target is not None:
        verdict = "met" if target.seconds < TARGET_SECONDS and target.failed == 0 else "NOT met"
        lines += [
            "",
            f"Target ({TARGET_SLOS:,} SLOs validated in under {TARGET_SECONDS:g} s on 2 cores): **{verdict}** "
            f"({target.seconds:.0f} s wall).",
        ]
    return lines + [""]


def replace_section(previous: str, lines: list[str]) -> str:
    """Our section in place of its previous version (or at the end); every other section as it was."""
    text = "\n".join(lines)
    if TITLE not in previous:
        return previous.rstrip("\n") + "\n\n" + text
    start = previous.index(TITLE)
    following = previous.find("\n## ", start + len(TITLE))
    rest = previous[following + 1 :] if following >= 0 else ""
    return previous[:start] + text + ("\n" + rest if rest else "")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--sizes", default="100,1000", show_default=True, help="SLO counts to validate.")
@click.option(
    "--out", type=click.Path(path_type=Path), default=RESULTS, show_default=True, help="Markdown results file."
)
def main(sizes: str, out: Path) -> None:
    """Time `sloforge validate` on generated fleets and update its section of the results file."""
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = " ".join(["python -m bench.validate_speed", *sys.argv[1:]])
    timings = []
    for size in (int(s) for s in sizes.split(",") if s):
        click.echo(f"[{time.strftime('%H:%M:%S')}] validate {size} SLOs", err=True)
        timings.append(time_validate(size, WORK))
    previous = out.read_text(encoding="utf-8") if out.exists() else "# sloforge benchmarks\n"
    lines = section(timings, f"Measured {started} on {os.cpu_count()} cores with `{command}`.")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(replace_section(previous, lines), encoding="utf-8")
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
