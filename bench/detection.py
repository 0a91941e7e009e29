"""Detection and reset times per scenario, measured with promtool on sloforge-, Sloth- and Pyrra-shaped rules.

One 99.9% / 30d events SLO, counters sampled every minute, rules evaluated
every minute. Each scenario is clean traffic for longer than any alert window,
then errors for a while, then clean traffic again. promtool replays it and a
subquery over `ALERTS` reports, per alert, the first and the last firing
evaluation; nothing is typed in by hand. The Workbook column is the
continuous-time answer (exact window ratios, no evaluation steps).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import click

from bench.naive import render_naive
from bench.pyrra import pyrra_windows, render_pyrra
from bench.specs import write_specs
from generator.model.slo import Model, Tier
from generator.pipeline import load_model
from generator.targets.rules import render_rules
from generator.targets.yaml_text import dump_yaml
from generator.tools.runner import PROMTOOL, run_tool
from generator.units.durations import format_duration

MINUTE = 60
STEP_S = 60  # counters sampled and rules evaluated every minute
HISTORY_S = 3 * 86_400 + 3600  # clean traffic before the errors: longer than sloforge's and Sloth's longest window
TAIL_S = 7 * 3600  # clean traffic after the errors: every short window plus `for` empties
MAX_ERRORS_S = 4 * 86_400
REQUESTS_PER_MINUTE = 6000
RULE_SETS = ("sloforge", "Sloth", "Pyrra")
PROMTOOL_TIMEOUT_S = 3600
CHUNK_MIN = 3000  # minutes per ALERTS query (promtool refuses queries that load too many samples)

SPEC = """apiVersion: sloforge/v1
kind: Service
service: shop
team: bench
description: Detection benchmark
slos:
  - name: checkout
    description: Checkout requests succeed
    objective: 99.9
    window: 30d
    sli:
      events:
        errors: sum(rate(http_requests_total{service="shop",code="500"}[{{.window}}]))
        total: sum(rate(http_requests_total{service="shop"}[{{.window}}]))
"""
TEAMS = """apiVersion: sloforge/v1
kind: Teams
teams:
  bench:
    page: {slack: {channel: "#p", api_url_file: /etc/alertmanager/secrets/slack}}
    ticket: {slack: {channel: "#t", api_url_file: /etc/alertmanager/secrets/slack}}
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    error_ratio: Decimal
    traffic: int = 1  # multiple of the usual request rate while errors last
    duration_s: int | None = None  # None: until every tier of every rule set had time to fire


def standard_scenarios(error_budget: Decimal) -> tuple[Scenario, ...]:
    burns = [Scenario(f"{burn}x burn", Decimal(burn) * error_budget) for burn in ("15", "7", "3", "1.2")]
    return (
        Scenario("100% errors", Decimal(1)),
        Scenario("10% errors", Decimal("0.1")),
        *burns,
        Scenario("1h incident, 10x traffic, 2% errors", Decimal("0.02"), traffic=10, duration_s=3600),
    )


def continuous_detection_s(scenario: Scenario, long_s: float, short_s: float, threshold: Decimal) -> float:
    """When both windows' exact ratios first exceed the threshold (continuous time); inf if never."""
    r, m, theta = float(scenario.error_ratio), scenario.traffic, float(threshold)
    if r <= theta:
        return math.inf
    worst = 0.0
    for window in (long_s, short_s):  # ratio(s) = r m s / (m s + window - s) while the window fills
        worst = max(worst, min(window, theta * window / (m * (r - theta) + theta)))
    if scenario.duration_s is not None and worst > scenario.duration_s:
        return math.inf
    return worst


def _eval_ceil(seconds: float) -> float:
    """The first evaluation after `seconds` (at a tie, alerts need the ratio strictly above: the next one)."""
    return (math.floor(seconds / STEP_S + 1e-9) + 1) * STEP_S


def model_for(work: Path) -> Model:
    return load_model(write_specs({"shop.yaml": SPEC, "teams.yaml": TEAMS}, work / "specs"))


def rule_files(model: Model) -> dict[str, str]:
    (ours,) = render_rules(model).files.values()
    (naive,) = render_naive(model).values()
    # Sloth's alerts read the 5m ratio as it is; sloforge's hold on it would delay their reset.
    sloth = re.sub(r"last_over_time\((.*?)\[\d+[smhd]\]\)", r"\1", naive)
    (pyrra,) = render_pyrra(model, with_increase=False).values()
    return {"sloforge": ours, "Sloth": sloth, "Pyrra": pyrra}


def errors_duration_s(scenario: Scenario, model: Model) -> int:
    if scenario.duration_s is not None:
        return scenario.duration_s
    (slo,) = model.slos
    longest = 3600.0
    for tier in slo.tiers:
        found = continuous_detection_s(scenario, tier.long_window.seconds, 0, tier.threshold)
        longest = max(longest, found if found < math.inf else 0)
    for window in pyrra_windows(slo.window.millis):
        threshold = window.factor * slo.error_budget
        found = continuous_detection_s(scenario, window.long_ms / 1000, 0, threshold)
        longest = max(longest, found + window.for_ms / 1000 if found < math.inf else 0)
    return min(MAX_ERRORS_S, int(_eval_ceil(longest + 2 * 3600)))


def counter_values(phases: list[tuple[int, float]]) -> str:
    """Expanding notation for a counter growing by `increment` per minute for `minutes`, phase after phase."""
    parts, value = ["0"], 0.0
    for minutes, increment in phases:
        if minutes <= 0:
            continue
        parts.append(f"{_num(value + increment)}+{_num(increment)}x{minutes - 1}")
        value += increment * minutes
    return " ".join(parts)


def _num(value: float) -> str:
    """Full precision (`g` would round counters of millions to six digits)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def scenario_group(scenario: Scenario, model: Model, alerts: list[str]) -> tuple[dict, int, int]:
    """A promtool test group; also the error start and stop (seconds)."""
    errors_s = errors_duration_s(scenario, model)
    before, during, after = HISTORY_S // STEP_S, errors_s // STEP_S, TAIL_S // STEP_S
    rate = REQUESTS_PER_MINUTE
    bad = float(scenario.error_ratio) * rate * scenario.traffic
    good = rate * scenario.traffic - bad
    end_min = before + during + after
    series = [
        {
            "series": 'http_requests_total{service="shop",code="500"}',
            "values": counter_values([(before, 0), (during, bad), (after, 0)]),
        },
        {
            "series": 'http_requests_total{service="shop",code="200"}',
            "values": counter_values([(before, rate), (during, good), (after, rate)]),
        },
    ]
    tests = []
    for alert in alerts:
        # Minutes since the errors started: small whole numbers, exact in promtool's short float format.
        firing = f'(timestamp(ALERTS{{alertname="{alert}",alertstate="firing"}}) - {HISTORY_S}) / 60'
        for func in ("min", "max"):
            # promtool caps the samples one query may load: a long run is read in chunks (`+ 0 * k` keeps them apart).
            for k, chunk_end in enumerate(range(end_min, 0, -CHUNK_MIN)):
                tests.append(
                    {
                        "expr": f"{func}({func}_over_time(({firing})[{CHUNK_MIN}m:1m])) + 0 * {k}",
                        "eval_time": f"{chunk_end}m",
                        "exp_samples": [{"labels": "{}", "value": -1}],  # never true: promtool prints what it got
                    }
                )
    group = {"name": scenario.name, "interval": "1m", "input_series": series, "promql_expr_test": tests}
    return group, HISTORY_S, HISTORY_S + errors_s


_BLOCK = re.compile(r'expr: (".*?"), time: .*?\n\s+exp: .*?\n\s+got: (.*?)\n', re.S)


def parse_detections(output: str) -> dict[str, float | None]:
    """{expression: value promtool got} from its failure report (every expectation here is meant to fail)."""
    result: dict[str, float | None] = {}
    for quoted, got in _BLOCK.findall(output + "\n"):
        value = got.strip().rsplit(" ", 1)[-1]
        try:
            result[json.loads(quoted)] = float(value)
        except ValueError:
            result[json.loads(quoted)] = None
    return result


@dataclass(frozen=True)
class Outcome:
    fired_s: float | None  # after the errors start
    reset_s: float | None  # after the errors stop; None: still firing or never fired


def run_scenario(name: str, rules: str, scenario: Scenario, model: Model, alerts: list[str], work: Path):
    """One promtool run: when each alert first and last fired in the scenario, for one rule set."""
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yaml").write_text(rules, encoding="utf-8")
    group, start, stop = scenario_group(scenario, model, alerts)
    path = folder / f"{re.sub(r'[^a-z0-9]+', '-', scenario.name.lower())}.test.yaml"
    document = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [group]}
    path.write_text(dump_yaml(document, "Detection benchmark (generated)."), encoding="utf-8")
    done = run_tool(PROMTOOL, ["test", "rules", str(path)], f"promtool test rules {path}", timeout=PROMTOOL_TIMEOUT_S)
    if "Unit Testing" not in done.output:
        raise RuntimeError(f"{name}, {scenario.name}: promtool did not run the test: {done.output[-2000:]}")
    got = parse_detections(done.output)
    outcomes: dict[tuple[str, str], Outcome] = {}
    errors_s = stop - start
    for alert in alerts:
        found = {
            func: [
                value
                for test in group["promql_expr_test"]
                if test["expr"].startswith(f"{func}({func}_over_time(") and f'alertname="{alert}"' in test["expr"]
                if (value := got.get(test["expr"])) is not None
            ]
            for func in ("min", "max")
        }
        first_m = min(found["min"], default=None)
        last_m = max(found["max"], default=None)
        fired = None if first_m is None else first_m * 60
        still = last_m is None or last_m * 60 + STEP_S >= errors_s + TAIL_S
        outcomes[(scenario.name, alert)] = Outcome(
            fired, None if still or last_m is None else last_m * 60 + STEP_S - errors_s
        )
    return name, outcomes


@dataclass(frozen=True)
class DetectionResult:
    scenarios: tuple[Scenario, ...]
    tiers: tuple[Tier, ...]
    outcomes: dict[str, dict[tuple[str, str], Outcome]]  # rule set -> (scenario, alert) -> outcome
    workbook: dict[tuple[str, str], float]  # (scenario, alert) -> continuous detection seconds


def run(work: Path, parallel: int = 4, only: tuple[str, ...] = ()) -> DetectionResult:
    """Every standard scenario, or those whose names start with one of `only`."""
    model = model_for(work)
    (slo,) = model.slos
    scenarios = tuple(s for s in standard_scenarios(slo.error_budget) if not only or s.name.startswith(only))
    alerts = [tier.alert_name for tier in slo.tiers]
    files = rule_files(model)
    jobs = [(name, scenario) for scenario in scenarios for name in RULE_SETS]
    done: dict[str, dict[tuple[str, str], Outcome]] = {name: {} for name in RULE_SETS}
    with ThreadPoolExecutor(parallel) as pool:
        for name, outcomes in pool.map(
            lambda job: run_scenario(job[0], files[job[0]], job[1], model, alerts, work), jobs
        ):
            done[name].update(outcomes)
    workbook = {
        (scenario.name, tier.alert_name): continuous_detection_s(
            scenario, tier.long_window.seconds, tier.short_window.seconds, tier.threshold
        )
        for scenario in scenarios
        for tier in slo.tiers
    }
    return DetectionResult(scenarios, slo.tiers, done, workbook)


def _time(seconds: float | None) -> str:
    if seconds is None or seconds == math.inf:
        return "never"
    return format_duration(int(round(seconds * 1000))) if seconds >= 60 else f"{seconds:.0f}s"


def _minutes(seconds: float) -> str:
    return "never" if seconds == math.inf else f"{seconds / 60:.1f}m"


def meets(result: DetectionResult, scenario: Scenario, tier: Tier) -> bool:
    """sloforge fires no later than the Workbook time rounded up to an evaluation, and resets within the short window."""
    outcome = result.outcomes["sloforge"][(scenario.name, tier.alert_name)]
    workbook = result.workbook[(scenario.name, tier.alert_name)]
    if workbook == math.inf:
        return outcome.fired_s is None
    if outcome.fired_s is None or outcome.fired_s > _eval_ceil(workbook):
        return False
    return outcome.reset_s is not None and outcome.reset_s <= tier.short_window.seconds


def markdown(result: DetectionResult) -> str:
    lines = [
        "One 99.9% / 30d events SLO, counters every 1m, rules evaluated every 1m, replayed by `promtool test rules`"
        " (bench/detection.py). Times are from the start of the errors (fires) and from their end (resets);"
        " Workbook is the continuous-time detection of sloforge's tier (both windows' exact ratios above the"
        " threshold). Sloth-shaped rules read every window from raw series with the same tiers and no `for`;"
        " Pyrra-shaped rules use Pyrra's windows scaled to 30d, its factors (14, 7, 2, 1) and its `for`."
        " The clean history before the errors is 3d1h: shorter than Pyrra's 4d7h ticket-slow window, whose"
        " times are therefore early (its window is partly empty).",
        "",
    ]
    for tier in result.tiers:
        lines += [
            f"**{tier.name}** ({tier.long_window}/{tier.short_window}, factor {tier.factor.normalize():f}, "
            f"for {tier.for_}):",
            "",
            "| scenario | Workbook | sloforge fires / resets | Sloth fires / resets | Pyrra fires / resets | sloforge on time |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for scenario in result.scenarios:
            key = (scenario.name, tier.alert_name)
            cells = [
                f"{_time(result.outcomes[name][key].fired_s)} / {_time(result.outcomes[name][key].reset_s)}"
                for name in RULE_SETS
            ]
            ok = "yes" if meets(result, scenario, tier) else "**no**"
            lines.append(f"| {scenario.name} | {_minutes(result.workbook[key])} | {' | '.join(cells)} | {ok} |")
        lines.append("")
    return "\n".join(lines)


def write_section(path: Path, title: str, body: str) -> None:
    """Replace (or append) the `## title` section of a Markdown file."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    section = f"## {title}\n\n{body.rstrip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + ("\n\n" if text else "") + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "windows.md"
SECTION = "Detection and reset per scenario"


@click.command()
@click.argument("only", nargs=-1)
def main(only: tuple[str, ...]) -> None:
    """Run every standard scenario (or those whose names start with ONLY) and write the tables
    into bench/results/latest.md and docs/windows.md."""
    names = [scenario.name for scenario in standard_scenarios(Decimal("0.001"))]
    unknown = [prefix for prefix in only if not any(name.startswith(prefix) for name in names)]
    if unknown:
        raise click.BadParameter(
            f"no scenario starts with {', '.join(map(repr, unknown))}; scenarios: {', '.join(names)}",
            param_hint="ONLY",
        )
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = f"load average {os.getloadavg()[0]:.1f}"
    result = run(Path(__file__).resolve().parent / ".work" / "detection", only=only)
    command = " ".join(["python -m bench.detection", *(repr(name) for name in only)])
    body = f"_Measured {started} ({load}) with `{command}`._\n\n" + markdown(result)
    title = os.environ.get("DETECTION_SECTION", SECTION)  # runs of a few scenarios each can fill their own section
    for path in (RESULTS, DOCS):
        write_section(path, title, body)
    click.echo(body)


if __name__ == "__main__":
    main()
