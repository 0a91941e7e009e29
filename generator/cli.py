"""The `sloforge` command line: parse options, call the stages, print results.

Exit codes: 0 success, 1 check or validation failure, 2 bad input.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from generator import __version__
from generator.ai.defaults import API_KEY_ENV, DEFAULT_MODEL, MODEL_ENV
from generator.ai.drafts import load_drafts, review_issues
from generator.import_command import import_command
from generator.live.command import budget as budget_command
from generator.live.command import report as report_command
from generator.model.slo import Model
from generator.output import (
    DEFAULT_LOCK_TIMEOUT,
    LockBusy,
    TreeError,
    UnsafeOutDir,
    compare,
    ensure_safe_out,
    read_tree,
    write_tree,
)
from generator.pipeline import load_model, render_tree
from generator.spec import SpecErrors
from generator.spec.safe_text import base_url_problem
from generator.tools.discovery import ToolNotFound
from generator.tools.validate import nothing_to_validate, validate_tree

EXIT_FAILED, EXIT_BAD_INPUT = 1, 2
MAX_PRINTED_ERRORS = 200  # a generated or hostile file can hold 100,000 mistakes; the first ones are enough
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


def _base_url(_context: click.Context, _parameter: click.Parameter, value: str | None) -> str | None:
    """The same rule as the Policy's base URLs: http(s) with a host, never template text."""
    problem = None if value is None else base_url_problem(value)
    if problem:
        raise click.BadParameter(problem)
    return value


base_url_options = [
    click.option(
        "--runbook-base-url",
        default=None,
        callback=_base_url,
        help="Prefix for runbook_url annotations (default: paths inside the rendered tree).",
    ),
    click.option(
        "--dashboard-base-url",
        default=None,
        callback=_base_url,
        help="Grafana base URL for dashboard_url annotations.",
    ),
]


def _with(options):
    def decorate(func):
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


deploy_format_option = click.option(
    "--format",
    "deploy_formats",
    multiple=True,
    type=click.Choice(["prometheus", "operator", "mimir", "cortex", "thanos"]),
    help="Deployment format rendered beside prometheus/rules/ (repeatable; overrides the Policy's "
    "deploy.formats; `prometheus` alone: plain rules only). See docs/deploy.md.",
)


def _model_or_exit(
    specs: Path,
    policy: Path | None,
    runbook_base_url: str | None,
    dashboard_base_url: str | None,
    include_unreviewed_drafts: bool = False,
    deploy_formats: tuple[str, ...] = (),
):
    from generator.targets.deploy import operator_errors, with_formats

    settings = {"runbook_base_url": runbook_base_url, "dashboard_base_url": dashboard_base_url}
    try:
        model = load_model(
            specs, policy, {k: v for k, v in settings.items() if v is not None}, include_unreviewed_drafts
        )
        model = with_formats(model, deploy_formats) if deploy_formats else model
        if errors := operator_errors(model):
            raise SpecErrors(errors)
        return model
    except SpecErrors as exc:
        for error in exc.errors[:MAX_PRINTED_ERRORS]:
            err.print(f"[red]error[/red] {escape(str(error))}", markup=True, highlight=False)
        if len(exc.errors) > MAX_PRINTED_ERRORS:
            err.print(f"... and {len(exc.errors) - MAX_PRINTED_ERRORS} more")
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


unreviewed_option = click.option(
    "--include-unreviewed-drafts",
    is_flag=True,
    help="Also use drafts that are not reviewed or were edited after review (runbooks say so).",
)

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
    # Warnings point where errors do: file:line:col, relative to the working directory.
    where = {service.name: service.where for service in model.services} | {slo.key: slo.where for slo in model.slos}
    found = [replace(w, source=where.get(w.slo) or w.source) for w in model_warnings(model) + rule_test_warnings(model)]
    selected = sorted(warning for warning in found if keys is None or warning.slo in keys)
    if keys is None:
        teams_source = (model.teams[0].where or model.teams[0].source) if model.teams else "Teams"
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


force_option = click.option(
    "--force",
    is_flag=True,
    help="Take over a non-empty OUT that sloforge did not create: files it does not render are deleted.",
)
lock_timeout_option = click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_LOCK_TIMEOUT,
    show_default=True,
    help="Seconds to wait while another render writes OUT.",
)


def _out_or_exit(out: Path, specs: Path, policy: Path | None, force: bool) -> list[tuple[str, Path]]:
    """Refuse an OUT sloforge must not write into before spending time on rendering."""
    protected = [("specs directory", specs)] + ([("policy file", policy)] if policy else [])
    try:
        ensure_safe_out(out, protected, force)
    except UnsafeOutDir as exc:
        _exit_unsafe(exc)
    except OSError as exc:
        _exit_cannot_write(out, exc)
    return protected


def _exit_unsafe(exc: UnsafeOutDir) -> None:
    err.print(f"error: {exc}", markup=False)
    if not exc.forceable:
        err.print("nothing was written; this directory cannot be used even with --force (see docs/output-dir.md)")
    sys.exit(EXIT_BAD_INPUT)


def _exit_cannot_write(out: Path, exc: OSError | TreeError) -> None:
    """A failed write is reported like bad input (exit 2, as documented), never as a traceback."""
    reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
    where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
    err.print(
        f"error: cannot write {out}/: {reason}{where}; each file in it is still either its previous or its new "
        "version: run the render again once the cause is fixed",
        markup=False,
    )
    sys.exit(EXIT_BAD_INPUT)


@main.command()
@specs_option
@out_option
@policy_option
@_with(base_url_options)
@require_reviewed_option
@unreviewed_option
@strict_option
@deploy_format_option
@force_option
@lock_timeout_option
def render(
    specs: Path,
    out: Path,
    policy: Path | None,
    runbook_base_url: str | None,
    dashboard_base_url: str | None,
    require_reviewed: bool = False,
    include_unreviewed_drafts: bool = False,
    strict: bool = False,
    deploy_formats: tuple[str, ...] = (),
    force: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> None:
    """Render SPECS into OUT, updating OUT's files in place.

    OUT must be new, empty, or made by sloforge (it holds a .sloforge marker);
    files sloforge no longer renders are deleted from it. Each file is
    replaced atomically; unchanged files are left alone.
    Nothing is written when a spec has errors; the old tree stays as it was.
    Drafted prose from SPECS/drafts/ is merged in without any network access.
    Only reviewed drafts are used unless --include-unreviewed-drafts.
    Alert-quality warnings are printed (exit 0); --strict makes them errors.
    """
    model = _model_or_exit(
        specs, policy, runbook_base_url, dashboard_base_url, include_unreviewed_drafts, deploy_formats
    )
    protected = _out_or_exit(out, specs, policy, force)  # before the costly part: rendering
    _review_drafts(specs, model, require_reviewed, "nothing was written.")
    tree = render_tree(model)
    _report_warnings(_warnings(model), strict, "nothing was written.")
    try:
        drift = write_tree(tree, out, protected=protected, force=force, lock_timeout=lock_timeout)
    except UnsafeOutDir as exc:
        _exit_unsafe(exc)
    except LockBusy as exc:
        err.print(f"error: {exc}; nothing was written", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    except (OSError, TreeError) as exc:
        _exit_cannot_write(out, exc)
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
@unreviewed_option
@deploy_format_option
def check(
    specs: Path,
    out: Path,
    policy: Path | None,
    runbook_base_url: str | None,
    dashboard_base_url: str | None,
    require_reviewed: bool = False,
    include_unreviewed_drafts: bool = False,
    deploy_formats: tuple[str, ...] = (),
) -> None:
    """Exit 1 when OUT differs from a fresh render of SPECS (drift check for CI).

    Also lists drafts that are unreviewed or stale (the SLO or the text changed since).
    """
    model = _model_or_exit(
        specs, policy, runbook_base_url, dashboard_base_url, include_unreviewed_drafts, deploy_formats
    )
    _review_drafts(specs, model, require_reviewed, "review them, then set `reviewed: true`.")
    drift = compare(render_tree(model), read_tree(out))
    if drift.clean:
        out_console.print(f"{out}/ is up to date with {specs}/")
        return
    for label, paths in (("missing", drift.added), ("stale", drift.changed), ("not rendered any more", drift.removed)):
        for path in paths:
            err.print(f"{label}: {out}/{path}")
    err.print(f"{out}/ is out of date: run `make render` (or `sloforge render`) and commit the result.")
    from generator.targets.deploy import FORMAT_RENDERERS

    stray_formats = sorted({path.split("/")[0] for path in drift.removed} & set(FORMAT_RENDERERS))
    if stray_formats:
        err.print(
            f"{out}/ has {', '.join(stray_formats)}/ from `render --format`: give `check` the same --format, "
            "or list the formats under `deploy.formats` in a Policy document (docs/deploy.md)."
        )
    sys.exit(EXIT_FAILED)


@main.command("validate")
@out_option
def validate_command(out: Path) -> None:
    """Run promtool and amtool over a rendered tree."""
    if not out.is_dir():
        err.print(f"error: {out}/ does not exist; run `sloforge render --out {out}` first", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    empty = nothing_to_validate(out)
    if empty:
        err.print(f"error: {empty}; run `sloforge render --out {out}` first. Nothing was validated.", markup=False)
        sys.exit(EXIT_FAILED)
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
@click.option(
    "--mark-reviewed",
    is_flag=True,
    help="Record that you reviewed the selected drafts as they are now (no request is sent).",
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
    mark_reviewed: bool = False,
) -> None:
    """Draft alert annotations and runbook prose with Claude into SPECS/drafts/<service>.yaml.

    People review the drafts (`reviewed: true`); `render` uses them offline.
    Key from ANTHROPIC_API_KEY; ANTHROPIC_BASE_URL selects another endpoint.
    """
    try:
        from generator.ai import run as drafting  # imported here: render and check never load the SDK
    except ModuleNotFoundError as exc:
        if exc.name != "anthropic":
            raise
        err.print("error: `sloforge draft` needs the anthropic client: pip install 'sloforge[draft]'", markup=False)
        sys.exit(EXIT_BAD_INPUT)

    model = _model_or_exit(specs, policy, None, None)
    try:
        selected = drafting.select(model, services, slo_names)
    except drafting.SelectionError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    if mark_reviewed:
        _mark_reviewed(specs, model, selected)
        return
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


def _mark_reviewed(specs: Path, model: Model, selected: list) -> None:
    from generator.ai.drafts import mark_reviewed

    try:
        marked = mark_reviewed(specs, model, selected)
    except SpecErrors as exc:
        for error in exc.errors:
            err.print(f"error {error}", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    for key in marked:
        out_console.print(f"reviewed {key}", markup=False)
    out_console.print(f"{len(marked)} draft(s) marked reviewed; render uses them until their text changes")


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


@main.command()
@click.option(
    "--out",
    "schema_out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the schema to this file (default: print it), e.g. slo_specs/sloforge.schema.json.",
)
def schema(schema_out: Path | None) -> None:
    """Print the JSON Schema of the spec documents, for editor completion and checks.

    Spec files point at it with a first line such as
    `# yaml-language-server: $schema=./sloforge.schema.json`.
    """
    from generator.spec.json_schema import spec_json_schema_text

    text = spec_json_schema_text()
    if schema_out is None:
        click.echo(text, nl=False)
        return
    try:
        schema_out.write_text(text, encoding="utf-8")
    except OSError as exc:
        err.print(f"error: cannot write {schema_out}: {exc.strerror or exc}", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    out_console.print(f"wrote {schema_out}")


@main.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("."), metavar="[DIR]")
def init(directory: Path) -> None:
    """Scaffold a new SLO repository in DIR (default: here): example specs, the schema,
    a Makefile, CI workflows (GitHub Actions, GitLab CI) and a pre-commit hook.

    Creates files only; refuses (exit 2, nothing written) when any of them exists.
    """
    from generator.scaffold import ScaffoldError, init_repository

    try:
        created = init_repository(directory)
    except ScaffoldError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    for path in created:
        out_console.print(f"created {directory / path}", markup=False)
    out_console.print(
        f"next: cd {directory} && make render && make ci   (install, CI and wiring: sloforge docs/deploy.md)"
    )


main.add_command(budget_command)
main.add_command(report_command)
main.add_command(import_command)

if __name__ == "__main__":  # pragma: no cover
    main()
