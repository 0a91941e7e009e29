"""`python -m generator.demo` (`make demo`): watch an SLO alert travel from a fault to a notification."""

from __future__ import annotations

import signal
import sys

import click

from generator.demo.runner import DEMO_FAULTS, run_demo
from generator.tools.servers import ServerError


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up like Ctrl-C


@click.command()
@click.option("--fault", type=click.Choice(DEMO_FAULTS), default="error-spike", show_default=True)
@click.option("--timeout", type=float, default=180, show_default=True, help="Seconds to wait for the notification.")
@click.option("--baseline", type=float, default=10, show_default=True, help="Seconds of good traffic before the fault.")
def main(fault: str, timeout: float, baseline: float) -> None:
    """Run the demo workload, Prometheus and Alertmanager on 127.0.0.1, inject FAULT and print what happens."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = run_demo(lambda line: click.echo(line), fault=fault, timeout=timeout, baseline=baseline)
    except ServerError as exc:  # DemoError included
        click.echo(f"demo failed: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted; every demo process has been stopped", err=True)
        sys.exit(130)
    seconds = next(event.at for event in result.events if event.kind == "notified")
    click.echo(f"done: {seconds:.0f}s from fault to page; all demo processes stopped")


if __name__ == "__main__":
    main()
