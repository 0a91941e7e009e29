"""The `sloforge` command line: the group, render/check/validate/draft, and every other command registered.

Shared options and helpers are in cli_common.py; other commands in their own modules.

Exit codes (generator/errors.py): 0 success, 1 a failed check, tool or write, 2 bad input, 3 a budget
gate that says no. Commands and helpers raise SloforgeError; `SloforgeGroup.invoke` prints it once and exits.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.text import Text

from generator import __version__
from generator.ai.defaults import API_KEY_ENV, DEFAULT_MODEL, MODEL_ENV
from generator.ai.drafts import load_drafts
from generator.authoring_commands import init, schema
from generator.cli_common import (
    alert_warnings,
    base_url_options,
    cannot_write_error,
    cli_model,
    deploy_format_option,
    err,
    force_option,
    lock_timeout_option,
    out_console,
    out_option,
    policy_option,
    report_warnings,
    require_reviewed_option,
    review_drafts,
    safe_out,
    spec_input_error,
    specs_option,
    strict_option,
    unreviewed_option,
    unsafe_out_error,
    with_options,
)
from generator.errors import CheckFailed, SloforgeError, ToolFailure, UserInputError, WriteError
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
    read_tree,
    write_tree,
)
from generator.pipeline import render_tree
from generator.proof_commands import explain, simulate
from generator.spec import SpecErrors
from generator.tools.discovery import ToolNotFound
from generator.tools.validate import nothing_to_validate, validate_tree


class SloforgeGroup(click.Group):
    """The one place a SloforgeError becomes printed lines and an exit code (no traceback, printed once)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SloforgeError as exc:
            for line in exc.lines:
                text = Text(line)
                if line.startswith("error"):
                    text.stylize("red", 0, len("error"))
                err.print(text, highlight=False)
            ctx.exit(exc.exit_code)


@click.group(cls=SloforgeGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


@main.command()
@specs_option
@out_option
@policy_option
@with_options(base_url_options)
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
    model = cli_model(specs, policy, runbook_base_url, dashboard_base_url, include_unreviewed_drafts, deploy_formats)
    protected = safe_out(out, specs, policy, force)  # before the costly part: rendering
    review_drafts(specs, model, require_reviewed, "nothing was written.")
    rendered = render_tree(model)
    report_warnings(alert_warnings(model, rendered.warnings), strict, "nothing was written.")
    try:
        drift = write_tree(rendered.files, out, protected=protected, force=force, lock_timeout=lock_timeout)
    except UnsafeOutDir as exc:
        raise unsafe_out_error(exc) from None
    except LockBusy as exc:
        raise WriteError(f"error: {exc}; nothing was written") from None
    except (OSError, TreeError) as exc:
        raise cannot_write_error(out, exc) from None
    slo_count = len(model.slos)
    out_console.print(
        f"rendered {slo_count} SLO(s) of {len(model.services)} service(s) into {out}/: "
        f"{len(rendered.files)} files ({len(drift.added)} new, {len(drift.changed)} changed, {len(drift.removed)} removed)"
    )


@main.command()
@specs_option
@out_option
@policy_option
@with_options(base_url_options)
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
    model = cli_model(specs, policy, runbook_base_url, dashboard_base_url, include_unreviewed_drafts, deploy_formats)
    review_drafts(specs, model, require_reviewed, "review them, then set `reviewed: true`.")
    drift = compare(render_tree(model).files, read_tree(out))
    if drift.clean:
        out_console.print(f"{out}/ is up to date with {specs}/")
        return
    lines = [
        f"{label}: {out}/{path}"
        for label, paths in (
            ("missing", drift.added),
            ("stale", drift.changed),
            ("not rendered any more", drift.removed),
        )
        for path in paths
    ]
    lines.append(f"{out}/ is out of date: run `make render` (or `sloforge render`) and commit the result.")
    from generator.targets.deploy import FORMAT_RENDERERS

    stray_formats = sorted({path.split("/")[0] for path in drift.removed} & set(FORMAT_RENDERERS))
    if stray_formats:
        lines.append(
            f"{out}/ has {', '.join(stray_formats)}/ from `render --format`: give `check` the same --format, "
            "or list the formats under `deploy.formats` in a Policy document (docs/deploy.md)."
        )
    raise CheckFailed(*lines)


@main.command("validate")
@out_option
def validate_command(out: Path) -> None:
    """Run promtool and amtool over a rendered tree."""
    if not out.is_dir():
        raise UserInputError(f"error: {out}/ does not exist; run `sloforge render --out {out}` first")
    empty = nothing_to_validate(out)
    if empty:
        raise CheckFailed(f"error: {empty}; run `sloforge render --out {out}` first. Nothing was validated.")
    try:
        results = validate_tree(out)
    except ToolNotFound as exc:
        raise ToolFailure(f"error: {exc}") from None
    failed = [result for result in results if not result.ok]
    for result in results:
        mark = "[green]ok[/green]  " if result.ok else "[red]FAIL[/red]"
        out_console.print(f"{mark} {result.what}", markup=True)
        if not result.ok:
            out_console.print(result.output, markup=False)
    out_console.print(f"validate: {len(results) - len(failed)} checks ok, {len(failed)} failed")
    if failed:
        raise CheckFailed()


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
        raise UserInputError(
            "error: `sloforge draft` needs the anthropic client: pip install 'sloforge[draft]'"
        ) from None

    model = cli_model(specs, policy, None, None)
    try:
        selected = drafting.select(model, services, slo_names)
    except drafting.SelectionError as exc:
        raise UserInputError(f"error: {exc}") from None
    if mark_reviewed:
        _mark_reviewed(specs, model, selected)
        return
    api_key = os.environ.get(API_KEY_ENV) or None
    if not api_key and not dry_run:
        raise UserInputError(
            f"error: {API_KEY_ENV} is not set; export it, or use --dry-run to see what would be drafted"
        )
    options = drafting.Options(model_id, api_key, force, concurrency, timeout, max_retries, max_tokens)
    steps = drafting.plan(model, load_drafts(specs, model).files, selected, force)
    if dry_run:
        drafting.dry_run(steps, model, options, out_console)
        return
    report = drafting.run(steps, model, specs, options, err)
    out_console.print(drafting.summary(report))
    if report.failed:
        raise ToolFailure()  # the summary above names the failed requests


def _mark_reviewed(specs: Path, model: Model, selected: list) -> None:
    from generator.ai.drafts import mark_reviewed

    try:
        marked = mark_reviewed(specs, model, selected)
    except SpecErrors as exc:
        raise spec_input_error(exc, f"{len(exc.errors)} error(s) in drafts.") from None
    for key in marked:
        out_console.print(f"reviewed {key}", markup=False)
    out_console.print(f"{len(marked)} draft(s) marked reviewed; render uses them until their text changes")


for command in (explain, simulate, schema, init):
    main.add_command(command)
main.add_command(budget_command)
main.add_command(report_command)
main.add_command(import_command)

if __name__ == "__main__":  # pragma: no cover
    main()
