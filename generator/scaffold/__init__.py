"""`sloforge init DIR`: a new SLO repository that renders and validates at once.

It only ever creates files: an existing file (or a symlink anywhere on the
way) stops it before anything is written, and every path stays inside DIR.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from generator.spec.json_schema import SCHEMA_FILE, spec_json_schema_text

# path in the new repository -> template in generator/scaffold/files/
TEMPLATES = {
    "slo_specs/example-api.yaml": "service.yaml.tmpl",
    "slo_specs/teams.yaml": "teams.yaml.tmpl",
    "Makefile": "Makefile.tmpl",
    ".github/workflows/slo.yaml": "github-workflow.yaml.tmpl",
    ".gitlab-ci.yml": "gitlab-ci.yaml.tmpl",
    ".pre-commit-config.yaml": "pre-commit-config.yaml.tmpl",
}


class ScaffoldError(Exception):
    """DIR cannot take the scaffold; nothing was written."""


def scaffold_files() -> dict[str, str]:
    files = {
        path: resources.files(__package__).joinpath("files", name).read_text("utf-8")
        for path, name in TEMPLATES.items()
    }
    files[f"slo_specs/{SCHEMA_FILE}"] = spec_json_schema_text()
    return dict(sorted(files.items()))


def _obstacles(root: Path, relative: str) -> list[str]:
    """Why `relative` cannot be created inside `root` without touching anything else."""
    found = []
    current = root
    parts = relative.split("/")
    for index, part in enumerate(parts):
        current = current / part
        shown = "/".join(parts[: index + 1])
        if current.is_symlink():
            found.append(f"{shown} is a symlink")
            break
        if index < len(parts) - 1 and current.exists() and not current.is_dir():
            found.append(f"{shown} exists and is not a directory")
            break
        if index == len(parts) - 1 and current.exists():
            found.append(f"{shown} exists")
    return found


def init_repository(directory: Path) -> list[str]:
    """Create the scaffold in `directory`; returns the created paths. Raises ScaffoldError."""
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise ScaffoldError(f"{directory} is not a directory")
    files = scaffold_files()
    if directory.exists():
        problems = [problem for relative in files for problem in _obstacles(directory, relative)]
        if problems:
            raise ScaffoldError("refusing to overwrite: " + "; ".join(problems))
    created: list[Path] = []
    try:
        for relative, text in files.items():
            target = directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            with os.fdopen(os.open(target, flags, 0o644), "w", encoding="utf-8", newline="\n") as handle:
                created.append(target)
                handle.write(text)
    except OSError as exc:
        for path in created:  # only files this call created
            path.unlink(missing_ok=True)
        raise ScaffoldError(
            f"cannot write {exc.filename or directory}: {exc.strerror or exc}; nothing was kept"
        ) from exc
    return list(files)
