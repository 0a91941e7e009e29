"""Find promtool and amtool: env override, then PATH, then a docker image."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache

INSTALL_HINT = (
    "install it with `apt-get install prometheus prometheus-alertmanager` (Debian/Ubuntu), "
    "set {env} to the binary, or run a docker engine so sloforge can use {image}"
)


class ToolNotFound(RuntimeError):
    pass


@dataclass(frozen=True)
class Tool:
    name: str
    env: str
    image: str
    entrypoint: str


PROMTOOL = Tool("promtool", "SLOFORGE_PROMTOOL", "prom/prometheus", "/bin/promtool")
AMTOOL = Tool("amtool", "SLOFORGE_AMTOOL", "prom/alertmanager", "/bin/amtool")


@cache
def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def command_for(tool: Tool, workdir: str | None = None) -> list[str]:
    """argv prefix that runs `tool`; raises ToolNotFound with install advice."""
    override = os.environ.get(tool.env)
    if override:
        if shutil.which(override):
            return [shutil.which(override) or override]
        raise ToolNotFound(f"{tool.env}={override} is not an executable file")
    found = shutil.which(tool.name)
    if found:
        return [found]
    if _docker_answers():
        mount = workdir or os.getcwd()
        return [
            "docker",
            "run",
            "--rm",
            "-v",
            f"{mount}:{mount}",
            "-w",
            mount,
            "--entrypoint",
            tool.entrypoint,
            tool.image,
        ]
    raise ToolNotFound(f"{tool.name} not found; " + INSTALL_HINT.format(env=tool.env, image=tool.image))
