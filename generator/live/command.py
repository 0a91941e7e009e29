"""`sloforge budget`: print the error-budget state from a running Prometheus; `--gate` for deploy pipelines.

Exit codes: 0 ok (with --gate: no selected SLO freezes); 1 Prometheus unreachable
or without data for a selected SLO (never a silent pass); 2 usage errors;
3 (--gate) a selected SLO is in a freezing stage.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
from rich.console import Console

from generator.errors import CheckFailed, SloforgeError, UserInputError, WriteError
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
from generator.live.review import REPORT_MARKER, collect_review
from generator.units.durations import DurationError, parse_duration


def connection_options(func):
    """--prometheus and its auth/TLS/timeout options, shared by `budget` and `report`."""
    options = [
        click.option(
            "--prometheus",
            "url",
            envvar="SLOFORGE_PROMETHEUS_URL",
            required=True,
            help="Prometheus base URL (env SLOFORGE_PROMETHEUS_URL).",
        ),
        click.option("--service", "services", multiple=True, help="Only this service's SLOs (repeatable)."),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1, max=300),
            default=10.0,
            show_default=True,
            help="Seconds per query.",
        ),
        click.option(
            "--user",
            "basic_user",
            default=None,
            help=f"Basic-auth user; the password comes from {PASSWORD_ENV} or --password-file.",
        ),
        click.option("--password-file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None),
        click.option(
            "--bearer-token-file",
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            default=None,
            help=f"Bearer token file (or env {TOKEN_ENV}).",
        ),
        click.option(
            "--ca-file",
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            default=None,
            help="CA bundle for https.",
        ),
        click.option("--insecure-skip-verify", is_flag=True, help="Do not verify the server's TLS certificate."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def connect(
    url: str,
    timeout: float,
    basic_user: str | None,
    password_file: Path | None,
    bearer_token_file: Path | None,
    ca_file: Path | None,
    insecure_skip_verify: bool,
) -> Connection:
    """A Connection from the options; usage errors exit 2 with a message that names no secret."""
    try:
        return Connection(
            url=check_url(url),
            timeout=timeout,
            bearer_token=_secret(bearer_token_file, TOKEN_ENV, "--bearer-token-file"),
            basic_user=basic_user,
            basic_password=_secret(password_file, PASSWORD_ENV, "--password-file") if basic_user else None,
            ca_file=ca_file,
            insecure_skip_verify=insecure_skip_verify,
        )
    except ConnectionSettingsError as exc:
        raise UserInputError(f"error: {exc}") from None


@click.command("budget")
@connection_options
@click.option(
    "--format", "output_format", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True
)
@click.option("--gate", is_flag=True, help=f"Exit {GATE_FROZEN} when a selected SLO is in a freezing stage.")
def budget(
    url: str,
    services: tuple[str, ...],
    output_format: str,
    gate: bool,
    **auth: object,
) -> None:
    """Error budget, burn rates, stage and action per SLO, read from Prometheus's recorded series."""
    connection = connect(url, **auth)  # type: ignore[arg-type]
    try:
        rows = collect(connection, services)
    except (PrometheusUnavailable, NoData) as exc:
        raise CheckFailed(f"error: {exc}") from None
    if output_format == "json":
        click.echo(as_json(rows), nl=False)
    elif output_format == "markdown":
        click.echo(as_markdown(rows), nl=False)
    else:
        wide = None if sys.stdout.isatty() else 200  # piped into a log: do not cut columns at 80
        Console(highlight=False, width=wide).print(as_table(rows))
    blind = without_data(rows)
    if blind:
        raise CheckFailed(
            *(
                f"error: no budget data for {row.service}/{row.slo} (no traffic in its window, or rules not loaded)"
                for row in blind
            )
        )
    frozen = [row for row in rows if row.freeze]
    if gate and frozen:
        names = ", ".join(f"{row.service}/{row.slo} ({row.stage})" for row in frozen)
        raise SloforgeError(f"gate: closed: {names} in a freezing stage", exit_code=GATE_FROZEN)


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


@click.command("report")
@connection_options
@click.option(
    "--out", "out_file", type=click.Path(path_type=Path, dir_okay=False), required=True, help="FILE.html or FILE.md"
)
@click.option("--period", default="7d", show_default=True, help="How far back stage times and fired alerts go.")
@click.option("--force", is_flag=True, help="Overwrite a file that is not an earlier sloforge report.")
def report(url: str, services: tuple[str, ...], out_file: Path, period: str, force: bool, **auth: object) -> None:
    """The weekly error-budget review as one self-contained HTML or Markdown file."""
    suffix = out_file.suffix.lower()
    if suffix not in (".html", ".htm", ".md"):
        raise UserInputError(f"error: --out must end in .html or .md, got {out_file}")
    try:
        seconds = parse_duration(period).seconds
    except DurationError:
        seconds = 0
    if not 3600 <= seconds <= 90 * 86400:
        raise UserInputError(f"error: --period must be a duration from 1h to 90d, such as 7d; got {period!r}")
    if out_file.is_symlink() or (out_file.exists() and not force and not _is_report(out_file)):
        raise UserInputError(
            f"error: {out_file} exists and is not a sloforge report; choose another path or pass --force"
        )
    connection = connect(url, **auth)  # type: ignore[arg-type]
    try:
        from generator.live.review_report import render_html, render_markdown
    except ModuleNotFoundError as exc:
        if exc.name != "matplotlib":
            raise
        raise UserInputError(
            "error: `sloforge report` draws charts with matplotlib: pip install 'sloforge[report]'"
        ) from None
    try:
        review = collect_review(connection, time.time(), period, services)
    except (PrometheusUnavailable, NoData) as exc:
        raise CheckFailed(f"error: {exc}") from None
    text = render_markdown(review) if suffix == ".md" else render_html(review)
    try:
        _write_atomically(out_file, text)
    except OSError as exc:
        raise WriteError(f"error: cannot write {out_file}: {exc.strerror or exc}") from None
    blind = without_data([slo.row for slo in review.slos])
    click.echo(
        f"wrote {out_file}: {len(review.slos)} SLO(s) over the last {period}"
        + (f", {len(blind)} without data" if blind else "")
    )
    if blind:
        raise CheckFailed()  # the line above counts the SLOs without data


def _is_report(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(len(REPORT_MARKER)) == REPORT_MARKER
    except OSError:
        return False


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.sloforge-tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
