"""`sloforge explain` and `sloforge simulate`: what each alert tier means, and an incident replayed with promtool."""

from __future__ import annotations

from pathlib import Path

import click

from generator.cli_common import (
    alert_warnings,
    cli_model,
    format_option,
    out_console,
    policy_option,
    report_warnings,
    selected_slos,
    spec_input_error,
    specs_option,
    strict_option,
)
from generator.errors import CheckFailed, ToolFailure, UserInputError
from generator.spec import SpecErrors
from generator.targets import TEST_RENDERERS, render_with
from generator.tools.discovery import ToolNotFound


@click.command()
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

    model = cli_model(specs, policy, None, None)
    slos = selected_slos(model, selection)
    warnings = alert_warnings(model, render_with(model, TEST_RENDERERS).warnings, slos)
    if output_format == "json":
        click.echo(json.dumps(explain_data(slos, warnings), indent=2))
    else:
        print_explain(out_console, slos, warnings)
    report_warnings(warnings if strict else [], strict, "see the warnings above.")


@click.command()
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

    model = cli_model(specs, policy, None, None)
    slo = selected_slos(model, target, one=True)[0]
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
        raise spec_input_error(exc, f"{len(exc.errors)} error(s) in the scenario.") from None
    except sim.ScenarioError as exc:
        raise UserInputError(f"error: {exc}") from None
    try:
        result = sim.verify(plan)
    except ToolNotFound as exc:
        raise ToolFailure(f"error: {exc}") from None
    if output_format == "json":
        click.echo(json.dumps(simulation_data(plan, result), indent=2))
    else:
        print_simulation(out_console, plan, result)
    if not result.ok:
        raise CheckFailed()
