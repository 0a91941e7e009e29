"""`sloforge import`: Sloth, OpenSLO and Pyrra specs in, sloforge specs out, with a summary.

Exit codes: 0 everything imported, 1 some SLOs skipped or a file could not be
written, 2 unreadable or invalid input or files in the way (then nothing is written).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from generator.errors import SloforgeError, UserInputError, WriteError, error_lines
from generator.importers.check import reject_unrenderable
from generator.importers.run import FORMATS, ImportRun, run_import
from generator.importers.writer import existing, planned_files, write_files

EXIT_SKIPPED = 1
err = Console(stderr=True, highlight=False, soft_wrap=True)


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="FILE_OR_DIR...")
@click.option("--from", "source_format", type=click.Choice(FORMATS), help="Source format (default: detected).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True, help="Directory for the specs.")
@click.option(
    "--team", default=None, help="Team of every imported service (default: from the source, else 'imported')."
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist in --out.")
def import_command(
    paths: tuple[Path, ...], source_format: str | None, out: Path, team: str | None, force: bool
) -> None:
    """Import Sloth, OpenSLO or Pyrra SLO specs as sloforge specs (one file per service)."""
    result = run_import(list(paths), source_format, team)
    if result.batch.errors:
        errors = sorted(set(result.batch.errors))
        raise UserInputError(*error_lines(errors, f"{len(errors)} error(s) in the input; nothing was written."))
    reject_unrenderable(result)
    files = planned_files(result)
    problems = [
        f"{path} is a symlink or not a regular file; refusing to write through it"
        for path in existing(out, files)
        if path.is_symlink() or not path.is_file()
    ]
    if not force:
        problems += [f"{path} already exists; use --force to overwrite it" for path in existing(out, files)]
    if problems:
        raise UserInputError(*(f"error {problem}" for problem in dict.fromkeys(problems)), "nothing was written.")
    try:
        write_files(out, files)
    except OSError as exc:
        raise WriteError(f"error cannot write to {out}: {exc.strerror or exc}") from None
    print_summary(result, out, files)
    if result.batch.skips or not result.batch.slos:
        raise SloforgeError(exit_code=EXIT_SKIPPED)  # the summary above names what was skipped


def print_summary(result: ImportRun, out: Path, files: dict[str, str]) -> None:
    """One line per SLO (never wrapped, so it greps): imported, approximated (each named), skipped (file:line)."""
    batch = result.batch
    for slo in batch.slos:
        status = "approximated" if slo.approximations else "imported"
        click.echo(f"{status:<13} {slo.name}  (from {slo.where})")
        for note in slo.approximations:
            click.echo(f"{'':<13}   ~ {note}")
    for skip in sorted(batch.skips, key=lambda s: (s.where, s.what)):
        click.echo(f"{'skipped':<13} {skip.where}: {skip.what}: {skip.construct}")
    for note in result.ignored:
        click.echo(f"{'ignored':<13} {note}")
    approximated = sum(1 for slo in batch.slos if slo.approximations)
    click.echo(
        f"imported {len(batch.slos) - approximated}, approximated {approximated}, skipped {len(batch.skips)}; "
        f"wrote {len(files)} file(s) to {out}/"
        + (" (teams.yaml is a stub: add receivers)" if "teams.yaml" in files else "")
    )
