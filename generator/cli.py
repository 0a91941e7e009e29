"""The `sloforge` command line: parse options, call the stages, print results.

Exit codes: 0 success, 1 check or validation failure, 2 bad input.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from generator import __version__
from generator.ai.defaults import API_KEY_ENV, DEFAULT_MODEL, MODEL_ENV
from generator.ai.drafts import load_drafts, review_issues
from generator.import_command import import_command
from generator.model.slo import Model
from generator.output import compare, read_tree, write_tree
from generator.pipeline import load_model, render_tree
from generator.spec import SpecErrors
from generator.tools.discovery import ToolNotFound
from generator.tools.validate import validate_tree

EXIT_FAILED, EXIT_BAD_INPUT = 1, 2
err = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)

specs_option = click.option(
    "--specs",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("slo_specs"),
    show_default=True,
    help="Directory of SLO spec YAML files (read recursively).",
)
out_option = click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("rendered"),
    show_default=True,
    help="Directory of the rendered tree.",
)
policy_option = click.option(
    "--policy",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Extra Policy document (tiers, settings) applied on top of the specs.",
)
base_url_options = [
    click.option(
        "--runbook-base-url",
        default=None,
        help="Prefix for runbook_url annotations (default: paths inside the rendered tree).",
    ),
    click.option("--dashboard-base-url", default=None, help="Grafana base URL for dashboard_url annotations."),
]


def _with(options):
    def decorate(func):
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _model_or_exit(specs: Path, policy: Path | None, runbook_base_url: str | None, dashboard_base_url: str | None):
    settings = {"runbook_base_url": runbook_base_url, "dashboard_base_url": dashboard_base_url}
    try:
        return load_model(specs, policy, {k: v for k, v in settings.items() if v is not None})
    except SpecErrors as exc:
        for error in exc.errors:
            err.print(f"[red]error[/red] {escape(str(error))}", markup=True, highlight=False)
        err.print(f"{len(exc.errors)} error(s) in specs; nothing was written.")
        sys.exit(EXIT_BAD_INPUT)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sloforge")
def main() -> None:
    """Render SLO specs into Prometheus rules, rule tests, Alertmanager routing,
    runbooks and Grafana dashboards.

    \b
    Typical use:
      sloforge render            # slo_specs/ -> rendered/
      sloforge check             # fail if rendered/ is stale (CI)
      sloforge validate          # promtool/amtool over rendered/
      sloforge import SRC --out DIR   # Sloth / OpenSLO / Pyrra specs -> sloforge specs
    """


require_reviewed_option = click.option(
    "--require-reviewed", is_flag=True, help="Fail when a draft in SPECS/drafts/ is unreviewed, stale or orphaned."
)


def _review_drafts(specs: Path, model: Model, require_reviewed: bool, verb: str) -> None:
    """Report draft entries people still have to review; with --require-reviewed they fail the command."""
    issues = review_issues(specs, model)
    for issue in issues:
        err.print(f"{'error' if require_reviewed else 'warning'}: draft {issue}", markup=False)
    if issues and require_reviewed:
        err.print(f"{len(issues)} draft issue(s) and --require-reviewed: {verb}")
        sys.exit(EXIT_FAILED)


strict_option = click.option(
    "--strict", is_flag=True, help="Treat alert-quality warnings as errors (exit 2; render writes nothing)."
)


def _warnings(model: Model, slos: list | None = None) -> list:
    """Alert-quality warnings (tiers that cannot fire, low traffic), SLOs left without rule tests,
    and, for a whole render, routing that does not reach the teams' receivers."""
    from generator.model.warnings import SpecWarning, model_warnings
    from generator.targets.alertmanager import consistency_warnings
    from generator.targets.rule_tests import rule_test_warnings

    keys = None if slos is None else {slo.key for slo in slos}
    found = sorted(model_warnings(model) + rule_test_warnings(model))
    selected = [warning for warning in found if keys is None or warning.slo in keys]
    if keys is None:
        teams_source = model.teams[0].source if model.teams else "Teams"
        selected += [
            SpecWarning(teams_source, "alertmanager", message.removeprefix("alertmanager: "))
            for message in consistency_warnings(model)
        ]
    return selected


def _report_warnings(warnings: list, strict: bool, verb: str) -> None:
    for warning in warnings:
        label = "[red]error[/red]" if strict else "[yellow]warning[/yellow]"
        err.print(f"{label} {escape(str(warning))}", markup=True, highlight=False)
    if warnings and strict:
        err.print(f"{len(warnings)} warning(s) treated as errors (--strict); {verb}")
        sys.exit(EXIT_BAD_INPUT)


@main.command()
@specs_option
@out_option
@policy_option
@_with(base_url_options)
@require_reviewed_option
@strict_option
def render(
    specs: Path,
    out: Path,
    policy: Path | None,
    runbook_base_url: str | None,
    dashboard_base_url: str | None,
    require_reviewed: bool = False,
    strict: bool = False,
) -> None:
    """Render SPECS into OUT, replacing OUT as a whole.

    Nothing is written when a spec has errors; the old tree stays as it was.
    Drafted prose from SPECS/drafts/ is merged in without any network access.
    Alert-quality warnings are printed (exit 0); --strict makes them errors.
    """
    model = _model_or_exit(specs, policy, runbook_base_url, dashboard_base_url)
    _review_drafts(specs, model, require_reviewed, "nothing was written.")
    tree = render_tree(model)
    _report_warnings(_warnings(model), strict, "nothing was written.")
    drift = compare(tree, read_tree(out))
    try:
        write_tree(tree, out)
    except OSError as exc:
        err.print(f"error: cannot write {out}/: {exc.strerror or exc}; the previous tree is unchanged", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    slo_count = len(model.slos)
    out_console.print(
        f"rendered {slo_count} SLO(s) of {len(model.services)} service(s) into {out}/: "
        f"{len(tree)} files ({len(drift.added)} new, {len(drift.changed)} changed, {len(drift.removed)} removed)"
    )


@main.command()
@specs_option
@out_option
@policy_option
@_with(base_url_options)
@require_reviewed_option
def check(
    specs: Path,
    out: Path,
    policy: Path | None,
    runbook_base_url: str | None,
    dashboard_base_url: str | None,
    require_reviewed: bool = False,
) -> None:
    """Exit 1 when OUT differs from a fresh render of SPECS (drift check for CI).

    Also lists drafts that are unreviewed or stale (the SLO changed since drafting).
    """
    model = _model_or_exit(specs, policy, runbook_base_url, dashboard_base_url)
    _review_drafts(specs, model, require_reviewed, "review them, then set `reviewed: true`.")
    drift = compare(render_tree(model), read_tree(out))
    if drift.clean:
        out_console.print(f"{out}/ is up to date with {specs}/")
        return
    for label, paths in (("missing", drift.added), ("stale", drift.changed), ("not rendered any more", drift.removed)):
        for path in paths:
            err.print(f"{label}: {out}/{path}")
    err.print(f"{out}/ is out of date: run `make render` (or `sloforge render`) and commit the result.")
    sys.exit(EXIT_FAILED)


@main.command("validate")
@out_option
def validate_command(out: Path) -> None:
    """Run promtool and amtool over a rendered tree."""
    if not out.is_dir():
        err.print(f"{out}/ does not exist; run `sloforge render` first")
        sys.exit(EXIT_BAD_INPUT)
    try:
        results = validate_tree(out)
    except ToolNotFound as exc:
        err.print(f"error: {exc}")
        sys.exit(EXIT_FAILED)
    failed = [result for result in results if not result.ok]
    for result in results:
        mark = "[green]ok[/green]  " if result.ok else "[red]FAIL[/red]"
        out_console.print(f"{mark} {result.what}", markup=True)
        if not result.ok:
            out_console.print(result.output, markup=False)
    out_console.print(f"validate: {len(results) - len(failed)} checks ok, {len(failed)} failed")
    if failed:
        sys.exit(EXIT_FAILED)


@main.command()
@specs_option
@policy_option
@click.option("--service", "services", multiple=True, help="Only this service's SLOs (repeatable).")
@click.option("--slo", "slo_names", multiple=True, help="Only SLOs with this name (repeatable).")
@click.option(
    "--model",
    "model_id",
    envvar=MODEL_ENV,
    default=DEFAULT_MODEL,
    show_default=True,
    help=f"Claude model id (env {MODEL_ENV}).",
)
@click.option("--force", is_flag=True, help="Redraft reviewed and hand-edited entries too.")
@click.option(
    "--dry-run", is_flag=True, help="Show what would be drafted and the estimated tokens; send and write nothing."
)
@click.option(
    "--concurrency", type=click.IntRange(1, 16), default=4, show_default=True, help="Requests in flight at once."
)
@click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=120.0, show_default=True, help="Seconds per request attempt."
)
@click.option(
    "--max-retries",
    type=click.IntRange(0, 10),
    default=4,
    show_default=True,
    help="SDK retries (429, 529, 5xx, timeouts).",
)
@click.option(
    "--max-tokens", type=click.IntRange(256, 32000), default=4096, show_default=True, help="Output token limit per SLO."
)
def draft(
    specs: Path,
    policy: Path | None,
    services: tuple[str, ...],
    slo_names: tuple[str, ...],
    model_id: str,
    force: bool,
    dry_run: bool,
    concurrency: int,
    timeout: float,
    max_retries: int,
    max_tokens: int,
) -> None:
    """Draft alert annotations and runbook prose with Claude into SPECS/drafts/<service>.yaml.

    People review the drafts (`reviewed: true`); `render` uses them offline.
    Key from ANTHROPIC_API_KEY; ANTHROPIC_BASE_URL selects another endpoint.
    """
    from generator.ai import run as drafting  # imported here: render and check never load the SDK

    model = _model_or_exit(specs, policy, None, None)
    try:
        selected = drafting.select(model, services, slo_names)
    except drafting.SelectionError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    api_key = os.environ.get(API_KEY_ENV) or None
    if not api_key and not dry_run:
        err.print(f"error: {API_KEY_ENV} is not set; export it, or use --dry-run to see what would be drafted")
        sys.exit(EXIT_BAD_INPUT)
    options = drafting.Options(model_id, api_key, force, concurrency, timeout, max_retries, max_tokens)
    steps = drafting.plan(model, load_drafts(specs, model).files, selected, force)
    if dry_run:
        drafting.dry_run(steps, model, options, out_console)
        return
    report = drafting.run(steps, model, specs, options, err)
    out_console.print(drafting.summary(report))
    if report.failed:
        sys.exit(EXIT_FAILED)


def _select_or_exit(model: Model, selection: str | None, *, one: bool = False) -> list:
    """SLOs named by SERVICE or SERVICE/SLO (all when None); unknown names exit 2 with suggestions."""
    from generator.spec.load import did_you_mean

    if selection is None:
        return list(model.slos)
    service, _, name = selection.partition("/")
    services = {s.name: s for s in model.services}
    if service not in services:
        err.print(f"error: no service {service!r}{did_you_mean(service, sorted(services))}", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    slos = [slo for slo in services[service].slos if not name or slo.name == name]
    if not slos:
        known = sorted(slo.name for slo in services[service].slos)
        err.print(f"error: {service} has no SLO {name!r}{did_you_mean(name, known)}; it has {', '.join(known)}")
        sys.exit(EXIT_BAD_INPUT)
    if one and len(slos) != 1:
        err.print(f"error: name one SLO as SERVICE/SLO, e.g. {slos[0].key}", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    return slos


format_option = click.option(
    "--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True
)


@main.command()
@specs_option
@policy_option
@click.argument("selection", required=False, metavar="[SERVICE[/SLO]]")
@format_option
@strict_option
def explain(specs: Path, policy: Path | None, selection: str | None, output_format: str, strict: bool) -> None:
    """What each alert tier of an SLO means: factor, threshold, detection, reset and budget times.

    Also warns about tiers that can never fire and about low traffic
    (with `expected_rate` in the spec); --strict makes warnings errors.
    """
    import json

    from generator.reports import explain_data, print_explain

    model = _model_or_exit(specs, policy, None, None)
    slos = _select_or_exit(model, selection)
    warnings = _warnings(model, slos)
    if output_format == "json":
        click.echo(json.dumps(explain_data(slos, warnings), indent=2))
    else:
        print_explain(out_console, slos, warnings)
    _report_warnings(warnings if strict else [], strict, "see the warnings above.")


@main.command()
@specs_option
@policy_option
@click.argument("target", metavar="SERVICE/SLO")
@click.option("--error-ratio", help="Error ratio during the incident: 2% or 0.02.")
@click.option("--for", "duration", help="How long the errors last, e.g. 3h.")
@click.option("--after", help="Clean traffic before the errors (default: the SLO's longest alert window).")
@click.option(
    "--scenario",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="YAML scenario: phases: [{for: 1h, error_ratio: 0}, {for: 3h, error_ratio: 2%, traffic: 2}].",
)
@format_option
def simulate(
    specs: Path,
    policy: Path | None,
    target: str,
    error_ratio: str | None,
    duration: str | None,
    after: str | None,
    scenario: Path | None,
    output_format: str,
) -> None:
    """Run an error scenario through an SLO's rules with promtool and print the alert timeline.

    \b
    sloforge simulate checkout/availability --error-ratio 2% --for 3h --after 1h
    sloforge simulate checkout/availability --scenario incident.yaml
    """
    import json

    from generator.reports import print_simulation, simulation_data
    from generator.tools import simulate as sim

    model = _model_or_exit(specs, policy, None, None)
    slo = _select_or_exit(model, target, one=True)[0]
    try:
        if scenario is not None:
            if error_ratio or duration or after:
                raise sim.ScenarioError("give either --scenario or --error-ratio/--for/--after, not both")
            plan_input = sim.load_scenario(scenario, str(scenario))
        elif error_ratio is None or duration is None:
            raise sim.ScenarioError("give --error-ratio and --for (or --scenario FILE)")
        else:
            plan_input = sim.scenario_from_options(error_ratio, duration, after, slo)
        plan = sim.plan_simulation(slo, model.settings, plan_input)
    except SpecErrors as exc:
        for error in exc.errors:
            err.print(f"[red]error[/red] {escape(str(error))}", markup=True, highlight=False)
        sys.exit(EXIT_BAD_INPUT)
    except sim.ScenarioError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    try:
        result = sim.verify(plan)
    except ToolNotFound as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(EXIT_FAILED)
    if output_format == "json":
        click.echo(json.dumps(simulation_data(plan, result), indent=2))
    else:
        print_simulation(out_console, plan, result)
    if not result.ok:
        sys.exit(EXIT_FAILED)


main.add_command(import_command)

if __name__ == "__main__":  # pragma: no cover
    main()
