"""`sloforge render --out` never destroys what sloforge did not write (issue 10, section 1).

Real directories, real symlinks, real processes: refused output directories,
in-place updates that keep inodes, modes and mtimes, the render lock, kill -9
at random moments, and forked workers that die with their parent.
"""

from __future__ import annotations

import fcntl
import os
import random
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.specs import mixed_specs, write_specs
from generator.cli import main
from generator.output import MARKER, TreeError, read_tree, write_tree
from generator.output_guard import MARKER_TEXT, TEMP_PREFIX
from generator.pipeline import render_specs

SLOFORGE = [sys.executable, "-m", "generator"]
REPO = Path(__file__).resolve().parent.parent


def fleet(root: Path, slos: int = 6, objective: str = "99.9", per_service: int = 3) -> Path:
    """A small spec set of our own (not slo_specs/): `slos` SLOs, `per_service` per service."""
    files = {
        name: text.replace("objective: 99.9", f"objective: {objective}")
        for name, text in mixed_specs(slos, per_service).items()
    }
    return write_specs(files, root)


def snapshot(root: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every entry under root, symlinks as links: what a refused render must leave alone."""
    found: dict[str, tuple[str, bytes | str]] = {}
    for directory, subdirectories, names in os.walk(root):
        for name in names + subdirectories:
            path = Path(directory) / name
            key = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[key] = ("link", os.readlink(path))
            elif path.is_file():
                found[key] = ("file", path.read_bytes())
            else:
                found[key] = ("dir", "")
    return found


def render(*args: str | Path):
    return CliRunner().invoke(main, ["render", *map(str, args)])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git-repo-like project as cwd, with a home directory of its own (never the real one)."""
    root = tmp_path / "project"
    fleet(root / "specs")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "README.md").write_text("# my project\n")
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("private key\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(root)
    return root


def _loop(project: Path) -> str:
    (project / "loop").symlink_to("loop")
    return "loop/rendered"


def _policy_dir(project: Path) -> str:
    (project / "conf").mkdir()
    (project / "conf" / "policy.yaml").write_text("apiVersion: sloforge/v1\nkind: Policy\n")
    return "conf"


REFUSED = [
    ("current dir", lambda p: ".", "it is the current directory"),
    ("specs dir", lambda p: "specs", "it is the specs directory"),
    ("specs dir via ..", lambda p: "specs/../specs", "it is the specs directory"),
    ("inside specs", lambda p: "specs/rendered", "it is inside the specs directory"),
    ("contains cwd and specs", lambda p: "..", "it contains the current directory"),
    ("home", lambda p: str(p.parent / "home"), "it is your home directory"),
    ("filesystem root", lambda p: "/", "it is the filesystem root"),
    ("git checkout root", lambda p: str(p.parent / "other-repo"), "it is the root of a git checkout"),
    ("inside .git", lambda p: ".git/rendered", "inside a .git directory"),
    ("symlink loop", _loop, "symbolic link loop"),
    ("policy file's dir", _policy_dir, "it contains the policy file"),
]


@pytest.mark.parametrize(("case", "out_of", "reason"), REFUSED, ids=[case[0] for case in REFUSED])
@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_dangerous_out_dirs_are_refused_even_with_force(project, case, out_of, reason, force):
    other_repo = project.parent / "other-repo"
    (other_repo / ".git").mkdir(parents=True)
    out = out_of(project)
    policy = ["--policy", "conf/policy.yaml"] if (project / "conf").exists() else []
    before = snapshot(project.parent)
    result = render("--specs", "specs", "--out", out, *policy, *(["--force"] if force else []))
    assert result.exit_code == 2, result.output
    assert reason in result.output and "refusing to write into" in result.output
    assert "cannot be used even with --force" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert snapshot(project.parent) == before


def test_symlinked_out_is_refused_and_its_target_untouched(project):
    target = project.parent / "elsewhere"
    render("--specs", "specs", "--out", target)  # even a directory sloforge owns
    (target / "mine.txt").write_text("precious\n")
    (project / "rendered").symlink_to(target)
    before = snapshot(target)
    for extra in ([], ["--force"]):
        result = render("--specs", "specs", "--out", "rendered", *extra)
        assert result.exit_code == 2, result.output
        assert "it is a symbolic link" in result.output
    assert snapshot(target) == before
    assert (project / "rendered").is_symlink()


def test_non_empty_dir_without_marker_needs_force(project):
    out = project / "shared"
    out.mkdir()
    (out / "notes.txt").write_text("not sloforge's\n")
    refused = render("--specs", "specs", "--out", out)
    assert refused.exit_code == 2, refused.output
    assert "has no .sloforge marker" in refused.output and "--force" in refused.output
    assert snapshot(out) == {"notes.txt": ("file", b"not sloforge's\n")}
    forced = render("--specs", "specs", "--out", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert (out / MARKER).read_text() == MARKER_TEXT
    assert not (out / "notes.txt").exists()  # --force hands the directory over, as documented
    assert read_tree(out) == render_specs(project / "specs")
    again = render("--specs", "specs", "--out", out)
    assert again.exit_code == 0 and "0 new, 0 changed, 0 removed" in again.output


def test_fresh_out_is_created_with_marker_and_normal_permissions(project):
    old_umask = os.umask(0o022)
    try:
        result = render("--specs", "specs", "--out", "build/rendered")
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0, result.output
    out = project / "build" / "rendered"
    assert (out / MARKER).read_text() == MARKER_TEXT
    assert MARKER not in read_tree(out) and read_tree(out) == render_specs(project / "specs")
    for path in [out, out.parent, *(p for p in out.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o755, path
    for path in (p for p in out.rglob("*") if p.is_file()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    assert sorted(p.name for p in (project / "build").iterdir()) == ["rendered"]  # no staging debris


def test_rerender_updates_files_in_place(project):
    """Modes, inodes (bind mounts, open directory handles) and unchanged files' mtimes survive."""
    out = project / "rendered"
    assert render("--specs", "specs", "--out", out).exit_code == 0
    rules = out / "prometheus" / "rules"
    changed, unchanged = rules / "svc-0000.yaml", rules / "svc-0001.yaml"
    os.chmod(out, 0o750)
    os.chmod(changed, 0o640)
    dir_inodes = {p: p.stat().st_ino for p in (out, rules)}
    unchanged_before = unchanged.stat()
    mounted = os.open(rules, os.O_RDONLY | os.O_DIRECTORY)  # what a bind mount of rules/ holds on to
    try:
        spec = project / "specs" / "svc-0000.yaml"
        spec.write_text(spec.read_text().replace("objective: 99.9", "objective: 99.5"))
        result = render("--specs", "specs", "--out", out)
        assert result.exit_code == 0, result.output
        assert sorted(os.listdir(mounted)) == sorted(os.listdir(rules)) != []
    finally:
        os.close(mounted)
    assert {p: p.stat().st_ino for p in (out, rules)} == dir_inodes
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    assert stat.S_IMODE(changed.stat().st_mode) == 0o640
    assert "99.5" in changed.read_text() or "0.005" in changed.read_text()
    assert (unchanged.stat().st_mtime_ns, unchanged.stat().st_ino) == (
        unchanged_before.st_mtime_ns,
        unchanged_before.st_ino,
    )
    assert read_tree(out) == render_specs(project / "specs")


def _bind(source: Path, target: Path) -> bool:
    target.mkdir()
    return subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True).returncode == 0


def test_bind_mounted_rules_folder_sees_the_new_files(project):
    """docker-compose mounts rendered/prometheus/rules into Prometheus: a re-render must show through."""
    out = project / "rendered"
    assert render("--specs", "specs", "--out", out).exit_code == 0
    mounted = project.parent / "container-rules"
    if not _bind(out / "prometheus" / "rules", mounted):
        pytest.skip("mount --bind needs root (CAP_SYS_ADMIN)")
    try:
        spec = project / "specs" / "svc-0000.yaml"
        spec.write_text(spec.read_text().replace("objective: 99.9", "objective: 99.5"))
        assert render("--specs", "specs", "--out", out).exit_code == 0
        expected = render_specs(project / "specs")
        seen = {p.name: p.read_text() for p in mounted.iterdir()}
        assert seen == {k.rpartition("/")[2]: v for k, v in expected.items() if k.startswith("prometheus/rules/")}
    finally:
        subprocess.run(["umount", str(mounted)], check=True)


def test_files_no_longer_rendered_are_removed_with_their_empty_folders(project):
    out = project / "rendered"
    assert render("--specs", "specs", "--out", out).exit_code == 0
    assert (out / "runbooks" / "svc-0001").is_dir()
    (project / "specs" / "svc-0001.yaml").unlink()
    (out / "runbooks" / "svc-0001" / f"{TEMP_PREFIX}left-by-a-killed-render").write_text("partial")
    result = render("--specs", "specs", "--out", out)
    assert result.exit_code == 0, result.output
    assert not (out / "runbooks" / "svc-0001").exists()
    assert read_tree(out) == render_specs(project / "specs")
    assert out.is_dir() and (out / MARKER).is_file()


def test_symlinked_file_inside_the_tree_is_replaced_not_written_through(project):
    out = project / "rendered"
    assert render("--specs", "specs", "--out", out).exit_code == 0
    outside = project.parent / "outside.yaml"
    outside.write_text("precious\n")
    rule = out / "prometheus" / "rules" / "svc-0000.yaml"
    stale = out / "prometheus" / "rules" / "stale.yaml"
    rule.unlink()
    rule.symlink_to(outside)
    stale.symlink_to(outside)
    assert read_tree(out)["prometheus/rules/svc-0000.yaml"] == f"<symlink to {outside}>"  # not followed
    result = render("--specs", "specs", "--out", out)
    assert result.exit_code == 0, result.output
    assert not rule.is_symlink() and not stale.exists() and not stale.is_symlink()
    assert outside.read_text() == "precious\n"
    assert read_tree(out) == render_specs(project / "specs")


def test_symlinked_folder_inside_the_tree_is_refused(project):
    out = project / "rendered"
    assert render("--specs", "specs", "--out", out).exit_code == 0
    elsewhere = project.parent / "dashboards-elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.json").write_text("{}")
    dashboards = out / "grafana" / "dashboards"
    for path in dashboards.iterdir():
        path.unlink()
    dashboards.rmdir()
    dashboards.symlink_to(elsewhere)
    assert not any("keep.json" in path for path in read_tree(out))  # read_tree does not follow it
    result = render("--specs", "specs", "--out", out)
    assert result.exit_code == 2, result.output
    assert "grafana/dashboards is a symbolic link" in result.output
    assert snapshot(elsewhere) == {"keep.json": ("file", b"{}")}


def test_check_ignores_the_marker_and_works_without_it(project):
    out = project / "rendered"
    assert render("--specs", "specs", "--out", out).exit_code == 0
    check = CliRunner().invoke(main, ["check", "--specs", "specs", "--out", str(out)])
    assert check.exit_code == 0, check.output
    (out / MARKER).unlink()
    check = CliRunner().invoke(main, ["check", "--specs", "specs", "--out", str(out)])
    assert check.exit_code == 0, check.output
    assert not (out / MARKER).exists()  # check only reads


def test_bad_tree_paths_are_rejected_before_anything_is_written(tmp_path):
    out = tmp_path / "out"
    write_tree({"a.txt": "old\n"}, out)
    for tree in (
        {"a.txt": "new\n", "b.txt": "x", "b.txt/c.txt": "both a file and a folder\n"},
        {"a.txt": "new\n", "../escape.txt": "x"},
        {"a.txt": "new\n", "/etc/passwd": "x"},
        {"a.txt": "new\n", MARKER: "x"},
    ):
        with pytest.raises(TreeError):
            write_tree(tree, out)
        assert read_tree(out) == {"a.txt": "old\n"}
    assert not (tmp_path / "escape.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failed_write_leaves_each_file_old_or_new_and_no_temp_files(tmp_path):
    out = tmp_path / "out"
    write_tree({"a.txt": "old\n", "z.txt": "old\n"}, out)
    with pytest.raises(OSError):
        write_tree({"a.txt": "new\n", "n" * 300: "name too long\n", "z.txt": "new\n"}, out)
    assert read_tree(out) == {"a.txt": "old\n", "z.txt": "old\n"}  # staged first: nothing was replaced
    assert not [p for p in out.rglob("*") if p.name.startswith(TEMP_PREFIX)]


# --- real processes ---------------------------------------------------------


def run_render(specs: Path, out: Path, *extra: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SLOFORGE, "render", "--specs", str(specs), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        **kwargs,
    )


HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()  # holds the lock until the test closes stdin, however loaded the machine is
"""


def test_a_second_render_waits_for_the_lock_or_fails_cleanly(tmp_path):
    specs = fleet(tmp_path / "specs")
    out = tmp_path / "out"
    started = time.monotonic()
    assert run_render(specs, out).returncode == 0
    first_render = time.monotonic() - started
    spec = specs / "svc-0000.yaml"
    spec.write_text(spec.read_text().replace("objective: 99.9", "objective: 99.5"))
    before = read_tree(out)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(out / MARKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdin is not None and holder.stdout is not None and holder.stdout.readline() == "locked\n"
        busy = run_render(specs, out, "--lock-timeout", "0.2")
        assert busy.returncode == 1, busy.stderr  # not bad input: the same command works once the lock is free
        assert "another sloforge render is writing" in busy.stderr and "Traceback" not in busy.stderr
        assert read_tree(out) == before
        waiting = subprocess.Popen(
            [*SLOFORGE, "render", "--specs", str(specs), "--out", str(out), "--lock-timeout", "600"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(max(1.0, 2 * first_render))  # long enough to reach the lock on this machine, as it is now
        assert waiting.poll() is None, waiting.communicate()
        assert read_tree(out) == before  # it waits: nothing written while the lock is held
        holder.stdin.close()  # let go
        _, stderr = waiting.communicate(timeout=600)
        assert waiting.returncode == 0, stderr
    finally:
        holder.kill()
        holder.wait()
    assert read_tree(out) == render_specs(specs)


def test_concurrent_renders_both_succeed_one_after_the_other(tmp_path):
    specs = fleet(tmp_path / "specs", slos=40, per_service=4)
    out = tmp_path / "out"
    renders = [
        subprocess.Popen(
            [*SLOFORGE, "render", "--specs", str(specs), "--out", str(out)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(proc.wait(timeout=120), proc.communicate()) for proc in renders]
    assert [code for code, _ in results] == [0, 0], results
    assert read_tree(out) == render_specs(specs)
    assert (out / MARKER).read_text() == MARKER_TEXT


def _state(out: Path, old: dict[str, str], new: dict[str, str]) -> str:
    """Assert every file is its old or new version (a file of both versions must exist); say which mix it is."""
    on_disk = read_tree(out)
    temps = [path for path in on_disk if path.rpartition("/")[2].startswith(TEMP_PREFIX)]
    for path in temps:
        del on_disk[path]
    assert set(on_disk) <= set(old) | set(new), sorted(set(on_disk) - set(old) - set(new))[:5]
    missing = sorted((set(old) & set(new)) - set(on_disk))
    assert not missing, f"files of both versions missing: {missing[:5]}"
    versions = Counter()
    for path, text in on_disk.items():
        assert text in (old.get(path), new.get(path)), f"{path} is neither old nor new (truncated?)"
        if old.get(path) != new.get(path):
            versions["new" if text == new.get(path) else "old"] += 1
    if temps or (versions["old"] and versions["new"]):
        return "mixed"
    return "new" if versions["new"] else "old"


@pytest.mark.slow
def test_kill_9_at_any_moment_leaves_every_file_old_or_new(tmp_path):
    """A 300-SLO fleet, re-rendered with changed objectives and services; kill -9 at adaptive random moments."""
    old_files = {name: text for name, text in mixed_specs(310).items() if name != "svc-0000.yaml"}
    new_files = {name: text.replace("objective: 99.9", "objective: 99.5") for name, text in mixed_specs(300).items()}
    old_specs, new_specs = write_specs(old_files, tmp_path / "old"), write_specs(new_files, tmp_path / "new")
    old, new = render_specs(old_specs), render_specs(new_specs)
    assert set(old) - set(new) and set(new) - set(old) and len(new) > 300
    out = tmp_path / "out"
    write_tree(old, out)
    started = time.monotonic()
    assert run_render(new_specs, out).returncode == 0
    full_run = time.monotonic() - started
    assert read_tree(out) == new
    # Odd attempts bisect the kill moment between "too early" (all old) and "too late" (all new); even ones
    # watch the rules folder and kill as soon as the render starts staging files there, plus a random
    # moment. Both home in on the short stretch where files are being written, whatever the machine's load.
    rng, outcomes = random.Random(10), Counter()
    early, late = 0.0, full_run * 1.5
    rules_dir = out / "prometheus" / "rules"
    for attempt in range(40):
        if attempt >= 12 and outcomes["mixed"] >= 2:
            break
        watch = attempt % 2 == 0
        delay = rng.uniform(early, late) if outcomes["mixed"] else (early + late) / 2
        write_tree(old, out)  # also deletes the temp files the killed render left
        assert read_tree(out) == old
        proc = subprocess.Popen(
            [*SLOFORGE, "render", "--specs", str(new_specs), "--out", str(out)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if watch:
            while proc.poll() is None and not any(p.name.startswith(TEMP_PREFIX) for p in rules_dir.iterdir()):
                time.sleep(0.001)
            time.sleep(rng.uniform(0, 0.02))
        else:
            time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = _state(out, old, new)
        outcomes[state] += 1
        if watch:
            continue
        if state == "old":
            early = delay
        elif state == "new":
            late = delay
    print(f"kill -9 outcomes over {sum(outcomes.values())} runs: {dict(outcomes)}; full render {full_run:.1f}s")
    assert outcomes["mixed"] >= 1, f"no kill landed while files were being written: {dict(outcomes)}"
    final = run_render(new_specs, out)
    assert final.returncode == 0, final.stderr
    assert read_tree(out) == new  # temp files are gone, nothing truncated
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "old", "out"]  # no .out.old-*/.out.new-*


STALLED_WORKER = """
import os, sys, time
from pathlib import Path
from generator import pipeline

def stall():
    time.sleep(600)
    return {}

pipeline.render_in_worker = stall
pipeline.PARALLEL_MIN_SLOS = 1
model = pipeline.load_model(Path(sys.argv[1]))
print(os.getpid(), flush=True)
pipeline.render_tree(model)
"""


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_forked_worker_dies_with_a_killed_parent(tmp_path):
    specs = fleet(tmp_path / "specs")
    parent = subprocess.Popen(
        [sys.executable, "-c", STALLED_WORKER, str(specs)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    workers: list[int] = []
    try:
        assert parent.stdout is not None and int(parent.stdout.readline()) == parent.pid
        deadline = time.monotonic() + 30
        while not workers and time.monotonic() < deadline:
            workers = _children(parent.pid)
            time.sleep(0.05)
        assert workers, "render_tree did not fork a worker"
        time.sleep(0.5)  # the worker is inside its (stalled) task
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 5
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, workers)), "the forked worker outlived its killed parent"
    finally:
        parent.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_lock_is_an_flock_on_the_marker(tmp_path):
    """The documented lock: other tools can serialise with sloforge by flocking OUT/.sloforge."""
    out = tmp_path / "out"
    write_tree({"a.txt": "x"}, out)
    fd = os.open(out / MARKER, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        from generator.output import LockBusy

        with pytest.raises(LockBusy):
            write_tree({"a.txt": "y"}, out, lock_timeout=0)
    finally:
        os.close(fd)
    assert read_tree(out) == {"a.txt": "x"}
