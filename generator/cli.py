"""The `sloforge` command line: parse options, call the stages, print results.

Exit codes: 0 success, 1 check or validation failure, 2 bad input.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from generator import __version__
from generator.output import compare, read_tree, write_tree
from generator.pipeline import load_model
from generator.spec import SpecErrors
from generator.targets import render_all
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
    click.option("--runbook-base-url", default=None, help="Prefix for runbook_url annotations (default: paths inside the rendered tree)."),
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
    """


@main.command()
@specs_option
@out_option
@policy_option
@_with(base_url_options)
def render(specs: Path, out: Path, policy: Path | None, runbook_base_url: str | None, dashboard_base_url: str | None) -> None:
    """Render SPECS into OUT, replacing OUT as a whole.

    Nothing is written when a spec has errors; the old tree stays as it was.
    """
    model = _model_or_exit(specs, policy, runbook_base_url, dashboard_base_url)
    tree = render_all(model)
    drift = compare(tree, read_tree(out))
    write_tree(tree, out)
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
def check(specs: Path, out: Path, policy: Path | None, runbook_base_url: str | None, dashboard_base_url: str | None) -> None:
    """Exit 1 when OUT differs from a fresh render of SPECS (drift check for CI)."""
    model = _model_or_exit(specs, policy, runbook_base_url, dashboard_base_url)
    drift = compare(render_all(model), read_tree(out))
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


if __name__ == "__main__":  # pragma: no cover
    main()
