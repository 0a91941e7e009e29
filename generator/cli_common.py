"""Shared pieces of the command line: consoles, options, loading the model or raising a SloforgeError.

Commands live in cli.py (render, check, validate, draft), proof_commands.py (explain, simulate),
authoring_commands.py (schema, init), import_command.py and live/command.py (budget, report).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from generator.ai.drafts import review_issues
from generator.errors import CheckFailed, UserInputError, WriteError, error_lines
from generator.model.slo import Model
from generator.output import (
    DEFAULT_LOCK_TIMEOUT,
    TreeError,
    UnsafeOutDir,
    ensure_safe_out,
)
from generator.pipeline import load_model
from generator.spec import SpecErrors
from generator.spec.safe_text import base_url_problem

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


def with_options(options):
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


def cli_model(
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
        raise spec_input_error(exc) from None


def spec_input_error(exc: SpecErrors, summary: str | None = None) -> UserInputError:
    """Spec errors as the one bad-input error the CLI prints (each error once, then the count)."""
    return UserInputError(
        *error_lines(exc.errors, summary or f"{len(exc.errors)} error(s) in specs; nothing was written.")
    )


require_reviewed_option = click.option(
    "--require-reviewed", is_flag=True, help="Fail when a draft in SPECS/drafts/ is unreviewed, stale or orphaned."
)


def review_drafts(specs: Path, model: Model, require_reviewed: bool, verb: str) -> None:
    """Report draft entries people still have to review; with --require-reviewed they fail the command."""
    issues = review_issues(specs, model)
    if issues and require_reviewed:
        raise CheckFailed(
            *(f"error: draft {issue}" for issue in issues),
            f"{len(issues)} draft issue(s) and --require-reviewed: {verb}",
        )
    for issue in issues:
        err.print(f"warning: draft {issue}", markup=False)


unreviewed_option = click.option(
    "--include-unreviewed-drafts",
    is_flag=True,
    help="Also use drafts that are not reviewed or were edited after review (runbooks say so).",
)

strict_option = click.option(
    "--strict", is_flag=True, help="Treat alert-quality warnings as errors (exit 2; render writes nothing)."
)


def alert_warnings(model: Model, render_warnings: tuple, slos: list | None = None) -> list:
    """Alert-quality warnings (tiers that cannot fire, low traffic), the renderers' own (SLOs left without
    rule tests), and, for a whole render, routing that does not reach the teams' receivers."""
    from generator.model.warnings import SpecWarning, model_warnings
    from generator.targets.alertmanager import consistency_warnings

    keys = None if slos is None else {slo.key for slo in slos}
    # Warnings point where errors do: file:line:col, relative to the working directory.
    where = {service.name: service.where for service in model.services} | {slo.key: slo.where for slo in model.slos}
    found = [replace(w, source=where.get(w.slo) or w.source) for w in model_warnings(model) + list(render_warnings)]
    selected = sorted(warning for warning in found if keys is None or warning.slo in keys)
    if keys is None:
        teams_source = (model.teams[0].where or model.teams[0].source) if model.teams else "Teams"
        selected += [
            SpecWarning(teams_source, "alertmanager", message.removeprefix("alertmanager: "))
            for message in consistency_warnings(model)
        ]
    return selected


def report_warnings(warnings: list, strict: bool, verb: str) -> None:
    if warnings and strict:
        raise UserInputError(*error_lines(warnings, f"{len(warnings)} warning(s) treated as errors (--strict); {verb}"))
    for warning in warnings:
        err.print(f"[yellow]warning[/yellow] {escape(str(warning))}", markup=True, highlight=False)


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


def safe_out(out: Path, specs: Path, policy: Path | None, force: bool) -> list[tuple[str, Path]]:
    """Refuse an OUT sloforge must not write into before spending time on rendering."""
    protected = [("specs directory", specs)] + ([("policy file", policy)] if policy else [])
    try:
        ensure_safe_out(out, protected, force)
    except UnsafeOutDir as exc:
        raise unsafe_out_error(exc) from None
    except OSError as exc:
        raise cannot_write_error(out, exc) from None
    return protected


def unsafe_out_error(exc: UnsafeOutDir) -> UserInputError:
    """An OUT sloforge must not write into is bad input: exit 2, nothing written."""
    if exc.forceable:
        return UserInputError(f"error: {exc}")
    return UserInputError(
        f"error: {exc}",
        "nothing was written; this directory cannot be used even with --force (see docs/output-dir.md)",
    )


def cannot_write_error(out: Path, exc: OSError | TreeError) -> WriteError:
    """A failed write is an I/O failure (exit 1), not bad input, and never a traceback."""
    reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
    where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
    return WriteError(
        f"error: cannot write {out}/: {reason}{where}; each file in it is still either its previous or its new "
        "version: run the render again once the cause is fixed"
    )


def selected_slos(model: Model, selection: str | None, *, one: bool = False) -> list:
    """SLOs named by SERVICE or SERVICE/SLO (all when None); unknown names exit 2 with suggestions."""
    from generator.spec.load import did_you_mean

    if selection is None:
        return list(model.slos)
    service, _, name = selection.partition("/")
    services = {s.name: s for s in model.services}
    if service not in services:
        raise UserInputError(f"error: no service {service!r}{did_you_mean(service, sorted(services))}")
    slos = [slo for slo in services[service].slos if not name or slo.name == name]
    if not slos:
        known = sorted(slo.name for slo in services[service].slos)
        raise UserInputError(
            f"error: {service} has no SLO {name!r}{did_you_mean(name, known)}; it has {', '.join(known)}"
        )
    if one and len(slos) != 1:
        raise UserInputError(f"error: name one SLO as SERVICE/SLO, e.g. {slos[0].key}")
    return slos


format_option = click.option(
    "--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True
)
