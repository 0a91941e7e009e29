"""`sloforge budget`: print the error-budget state from a running Prometheus; `--gate` for deploy pipelines.

Exit codes: 0 ok (with --gate: no selected SLO freezes); 1 Prometheus unreachable
or without data for a selected SLO (never a silent pass); 2 usage errors;
3 (--gate) a selected SLO is in a freezing stage.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console

from generator.live.budget import GATE_FROZEN, NoData, collect, without_data
from generator.live.budget_format import as_json, as_markdown, as_table
from generator.live.prometheus_api import (
    PASSWORD_ENV,
    TOKEN_ENV,
    Connection,
    ConnectionSettingsError,
    PrometheusUnavailable,
    check_url,
)

EXIT_FAILED, EXIT_USAGE = 1, 2


@click.command("budget")
@click.option(
    "--prometheus",
    "url",
    envvar="SLOFORGE_PROMETHEUS_URL",
    required=True,
    help="Prometheus base URL (env SLOFORGE_PROMETHEUS_URL).",
)
@click.option("--service", "services", multiple=True, help="Only this service's SLOs (repeatable).")
@click.option(
    "--format", "output_format", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True
)
@click.option("--gate", is_flag=True, help=f"Exit {GATE_FROZEN} when a selected SLO is in a freezing stage.")
@click.option(
    "--timeout", type=click.FloatRange(min=0.1, max=300), default=10.0, show_default=True, help="Seconds per query."
)
@click.option(
    "--user",
    "basic_user",
    default=None,
    help=f"Basic-auth user; the password comes from {PASSWORD_ENV} or --password-file.",
)
@click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None)
@click.option(
    "--bearer-token-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help=f"Bearer token file (or env {TOKEN_ENV}).",
)
@click.option(
    "--ca-file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None, help="CA bundle for https."
)
@click.option("--insecure-skip-verify", is_flag=True, help="Do not verify the server's TLS certificate.")
def budget(
    url: str,
    services: tuple[str, ...],
    output_format: str,
    gate: bool,
    timeout: float,
    basic_user: str | None,
    password_file: Path | None,
    bearer_token_file: Path | None,
    ca_file: Path | None,
    insecure_skip_verify: bool,
) -> None:
    """Error budget, burn rates, stage and action per SLO, read from Prometheus's recorded series."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        connection = Connection(
            url=check_url(url),
            timeout=timeout,
            bearer_token=_secret(bearer_token_file, TOKEN_ENV, "--bearer-token-file"),
            basic_user=basic_user,
            basic_password=_secret(password_file, PASSWORD_ENV, "--password-file") if basic_user else None,
            ca_file=ca_file,
            insecure_skip_verify=insecure_skip_verify,
        )
    except ConnectionSettingsError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(EXIT_USAGE)
    try:
        rows = collect(connection, services)
    except (PrometheusUnavailable, NoData) as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(EXIT_FAILED)
    if output_format == "json":
        click.echo(as_json(rows), nl=False)
    elif output_format == "markdown":
        click.echo(as_markdown(rows), nl=False)
    else:
        wide = None if sys.stdout.isatty() else 200  # piped into a log: do not cut columns at 80
        Console(highlight=False, width=wide).print(as_table(rows))
    blind = without_data(rows)
    for row in blind:
        err.print(
            f"error: no budget data for {row.service}/{row.slo} (no traffic in its window, or rules not loaded)",
            markup=False,
        )
    if blind:
        sys.exit(EXIT_FAILED)
    frozen = [row for row in rows if row.freeze]
    if gate and frozen:
        names = ", ".join(f"{row.service}/{row.slo} ({row.stage})" for row in frozen)
        err.print(f"gate: closed: {names} in a freezing stage", markup=False)
        sys.exit(GATE_FROZEN)


def _secret(path: Path | None, env: str, flag: str) -> str | None:
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConnectionSettingsError(f"cannot read {flag} {path}: {exc.__class__.__name__}") from None
        if not text:
            raise ConnectionSettingsError(f"{flag} {path} is empty")
        return text
    return os.environ.get(env) or None
