"""`python -m bench`: run the benchmarks, print the tables, write bench/results/latest.md."""

from __future__ import annotations

import os
import pickle
import platform
import subprocess
import sys
import time
from pathlib import Path

import click

from bench import evaluation, exporter, render_speed, report, rule_test_speed, tiles

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
RESULTS = HERE / "results" / "latest.md"
SAVED = WORK / "evaluation.pickle"  # the last evaluation result, for --report-only


def _log(message: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


def _version(tool: str) -> str:
    try:
        done = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return f"{tool}: not installed"
    return (done.stdout or done.stderr).splitlines()[0]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--slos", default=100, show_default=True, help="SLOs in the Prometheus benchmark.")
@click.option("--pods", default=50, show_default=True, help="Pods per SLO; raw series per SLO = pods x 5 codes.")
@click.option("--days", default=30, show_default=True, help="Days of backfilled history.")
@click.option("--cycles", default=5, show_default=True, help="Measured evaluation cycles (1 min each) per rule set.")
@click.option("--warmup", default=2, show_default=True, help="Warm-up cycles before measuring.")
@click.option(
    "--feed-lead",
    type=click.IntRange(-300, 300),
    default=exporter.LEAD,
    show_default=True,
    help="Seconds before its timestamp the live feed serves each sample; negative: that many seconds after "
    "(late-stored data, as with remote write).",
)
@click.option("--render-sizes", default="100,1000,5000", show_default=True, help="SLO counts for render throughput.")
@click.option("--rule-test-slos", default=4, show_default=True, help="SLOs for the promtool test rules timing.")
@click.option("--skip-eval", is_flag=True, help="Skip the Prometheus evaluation benchmark (the slow part).")
@click.option("--skip-render", is_flag=True, help="Skip render throughput and rule-test timing.")
@click.option("--report-only", is_flag=True, help="Rewrite the evaluation section from the last run's saved result.")
@click.option(
    "--out", type=click.Path(path_type=Path), default=RESULTS, show_default=True, help="Markdown results file."
)
def main(
    slos, pods, days, cycles, warmup, feed_lead, render_sizes, rule_test_slos, skip_eval, skip_render, report_only, out
) -> None:
    """Benchmarks: render throughput, promtool rule-test time, and rule evaluation cost vs naive rules."""
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    header = [
        f"Machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{_version('prometheus')}, {_version('promtool')}. Each section says when and how it was measured; "
        "a run that skips a section keeps the previous one."
    ]
    load = "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    command = " ".join(["python -m bench", *sys.argv[1:]])
    stamp = f"Measured {started} ({load} at the start) with `{command}`"
    render = tests = None
    result = None
    rule_tests: object = False
    if not skip_render:
        sizes = tuple(int(size) for size in render_sizes.split(",") if size)
        _log(f"render throughput for {sizes}")
        render = render_speed.run(sizes, WORK / "render")
        _log(f"promtool test rules for {rule_test_slos} SLOs")
        tests = rule_test_speed.run(rule_test_slos, WORK / "rule-tests")
        rule_tests = tests
    if report_only:
        result, stamp = pickle.loads(SAVED.read_bytes())
    elif not skip_eval:
        config = evaluation.EvalConfig(
            slos=slos, pods=pods, days=days, cycles=cycles, warmup_cycles=warmup, feed_lead=feed_lead
        )
        result = evaluation.run(config, WORK / "prometheus", _log)
        ended = time.strftime("%H:%M UTC", time.gmtime())
        stamp = stamp.replace(
            f" UTC ({load} at the start)",
            f" to {ended} ({load} at the start; 1-minute load average {result.prep.load} during the backfill)",
        )
        SAVED.write_bytes(pickle.dumps((result, stamp)))
    if result is not None:
        if "retimed" not in vars(result):  # saved before checks carried evaluation times
            result.retimed = False
            evaluation.retime(result, WORK / "prometheus" / "rules")
        result.diagnosis = tiles.selector_costs(result, WORK / "prometheus" / "rules") + tiles.summary(
            tiles.diagnose(result, WORK / "tiles-specs")
        )
    previous = out.read_text(encoding="utf-8") if out.exists() else ""
    text = report.markdown(header, render, rule_tests, result, stamp.rstrip() + ".", previous)  # type: ignore[arg-type]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    click.echo(text)
    _log(f"wrote {out}")


if __name__ == "__main__":
    main()
