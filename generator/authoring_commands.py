"""`sloforge schema` and `sloforge init`: help for people writing specs and starting a repository."""

from __future__ import annotations

from pathlib import Path

import click

from generator.cli_common import out_console
from generator.errors import UserInputError, WriteError


@click.command()
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
        raise WriteError(f"error: cannot write {schema_out}: {exc.strerror or exc}") from None
    out_console.print(f"wrote {schema_out}")


@click.command()
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
        raise UserInputError(f"error: {exc}") from None
    for path in created:
        out_console.print(f"created {directory / path}", markup=False)
    out_console.print(
        f"next: cd {directory} && make render && make ci   (install, CI and wiring: sloforge docs/deploy.md)"
    )
