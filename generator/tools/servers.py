"""Start, probe and stop real Prometheus and Alertmanager binaries on 127.0.0.1.

Shared by the demo, the benchmarks and the end-to-end tests, so every local
server is started in its own session and stopped the same way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BINARIES = {
    # name: (environment override, candidates on PATH; Debian renames alertmanager)
    "prometheus": ("SLOFORGE_PROMETHEUS", ("prometheus",)),
    "alertmanager": ("SLOFORGE_ALERTMANAGER", ("prometheus-alertmanager", "alertmanager")),
}
INSTALL_HINT = "install it with `sudo apt-get install prometheus prometheus-alertmanager` or set {env}"


class ServerError(RuntimeError):
    """A server could not be found, started or reached; the message says what to look at."""


def find_binary(name: str) -> str:
    env, candidates = BINARIES[name]
    override = os.environ.get(env)
    if override:
        found = shutil.which(override)
        if not found:
            raise ServerError(f"{env}={override} is not an executable")
        return found
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    raise ServerError(f"{name} not found; " + INSTALL_HINT.format(env=env))


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1 (closed again for the child to bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path
    url: str

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(name: str, argv: list[str], log: Path, url: str) -> Process:
    """Run `argv` in its own session, output to `log`.

    Where util-linux `setpriv` exists, the child also gets SIGTERM when the
    demo process dies without cleaning up (SIGKILL), so nothing is left behind.
    """
    prefix = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []
    handle = open(log, "wb")  # noqa: SIM115 (closed with the process)
    try:
        popen = subprocess.Popen(
            prefix + argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    finally:
        handle.close()
    return Process(name, popen, log, url)


def wait_ready(process: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise ServerError(f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}")
        try:
            with urllib.request.urlopen(process.url + "/-/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise ServerError(f"{process.name} not ready after {timeout:g}s:\n{process.log_tail()}")


def stop(process: Process, grace: float = 5) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; the whole session, in case it forked."""
    if process.popen.poll() is not None:
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.popen.wait(grace)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.popen.wait(grace)


def _signal_group(process: Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.popen.pid, sig)
