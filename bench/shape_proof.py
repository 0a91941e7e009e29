"""What would proving each SLO *shape* once cost? The prototype behind docs/proof.md, "At fleet scale".

`python -m bench.shape_proof` renders one 10-SLO service of the bench's mixed
fleet (bench/specs.py) into bench/.work/shape-proof/, then times with promtool
(CPU of the promtool processes):

- the service's generated test files as they are (today's proof);
- a 20-minute scenario over the whole service that proves only the raw reads
  (the full-outage inputs, checking that every SLO records its 5m total);
- each of the first four SLOs (one per SLI kind) alone: its own rule group in
  a rule file of its own, and the generated tests cut down to its inputs and
  expectations (what a shape's full proof would cost).

Prints a markdown table; nothing else is written. The cut-down files follow
the bench's own naming (`job="j<i>"`, `target="t<i>"`, `slo_name`), not a
general rule: this measures a plan, it is not the plan.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import click
import yaml

from bench.specs import mixed_specs, write_specs
from bench.validate_speed import children_cpu, render_into
from generator.tools.runner import ToolResult, promtool

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "shape-proof"
SLOS = 10
LEAF_MINUTES = 20


def owns(text: str, index: int) -> bool:
    """Whether a series or expectation belongs to SLO `slo-<index>` of the bench's mixed fleet."""
    return any(mark in text for mark in (f'job="j{index}"', f'target="t{index}"', f'slo_name="slo-{index}"'))


def one_slo_tests(document: dict, index: int, rule_file: str) -> dict:
    """A generated test file cut down to one SLO: its input series and expectations, against `rule_file`."""
    cut = copy.deepcopy(document)
    cut["rule_files"] = [rule_file]
    for test in cut["tests"]:
        test["input_series"] = [s for s in test.get("input_series", []) if owns(s["series"], index)]
        for check in test.get("alert_rule_test", []):
            check["exp_alerts"] = [
                alert for alert in check.get("exp_alerts", []) if alert["exp_labels"].get("slo_name") == f"slo-{index}"
            ]
        if "promql_expr_test" in test:
            test["promql_expr_test"] = [c for c in test["promql_expr_test"] if owns(c["expr"], index)]
    return cut


def leaf_test(document: dict, slos: int) -> dict:
    """The full-outage inputs of a service's 1m test file, 20 minutes, checking only that every SLO records its 5m total."""
    outage = next(test for test in document["tests"] if "full outage" in test["name"])
    leaf = {key: value for key, value in outage.items() if key not in ("alert_rule_test", "promql_expr_test")}
    leaf["name"] = "raw reads of every SLO"
    leaf["promql_expr_test"] = [
        {
            "expr": "count(slo:sli_total:rate5m)",
            "eval_time": f"{LEAF_MINUTES}m",
            "exp_samples": [{"labels": "{}", "value": slos}],
        }
    ]
    return {"rule_files": document["rule_files"], "evaluation_interval": "1m", "tests": [leaf]}


def timed(paths: list[Path]) -> tuple[float, list[ToolResult]]:
    before = children_cpu()
    results = [promtool(["test", "rules", str(path)], f"promtool test rules {path.name}") for path in paths]
    return children_cpu() - before, results


def _dump(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Time today's proof of one 10-SLO service against the pieces of a proof by shape."""
    if WORK.exists():
        shutil.rmtree(WORK)  # bench/.work/ is the benchmark's own scratch space
    out = WORK / "out"
    render_into(write_specs(mixed_specs(SLOS), WORK / "specs"), out)
    rules_dir, tests_dir = out / "prometheus" / "rules", out / "prometheus" / "tests"
    (rule_path,) = sorted(rules_dir.glob("*.yaml"))
    test_paths = sorted(tests_dir.glob("*.test.yaml"))
    documents = {path: yaml.safe_load(path.read_text(encoding="utf-8")) for path in test_paths}
    rows: list[tuple[str, float, list[ToolResult]]] = [("today: the service's generated tests", *timed(test_paths))]

    one_minute = next(doc for path, doc in documents.items() if path.name.endswith(f"{rule_path.stem}.test.yaml"))
    rows.append(
        (
            f"raw reads of all {SLOS} SLOs, {LEAF_MINUTES} steps",
            *timed([_dump(tests_dir / "leaf.check.yaml", leaf_test(one_minute, SLOS))]),
        )
    )
    groups = yaml.safe_load(rule_path.read_text(encoding="utf-8"))["groups"]
    kinds = ("events", "latency", "raw", "bool gauge")  # bench.specs.mixed_slo cycles through them
    for index, kind in enumerate(kinds):
        own_rules = _dump(
            rules_dir / f"one-{index}.rules", {"groups": [g for g in groups if g["name"].endswith(f"-slo-{index}")]}
        )
        files = [
            _dump(
                tests_dir / path.name.replace(rule_path.stem, f"one-{index}").replace(".test.yaml", ".check.yaml"),
                one_slo_tests(documents[path], index, f"../rules/{own_rules.name}"),
            )
            for path in test_paths
        ]
        rows.append((f"slo-{index} ({kind}) alone: its group, its inputs", *timed(files)))

    click.echo("| proof | promtool CPU | files | passed |\n|---|---:|---:|---|")
    for what, cpu, results in rows:
        failed = [result.what for result in results if not result.ok]
        click.echo(f"| {what} | {cpu:.1f} s | {len(results)} | {'yes' if not failed else 'NO: ' + ', '.join(failed)} |")


if __name__ == "__main__":
    main()
