"""Hostile or careless input: a clear file:line:col error, exit 2, nothing runs and nothing is written.

Each YAML input (specs, --policy, drafts, the Alertmanager base config,
simulate scenarios) goes through one bounded reader; these tests feed it
files built to hang, exhaust memory or crash the process.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from generator.output import read_tree

REPO = Path(__file__).resolve().parent.parent
TEAMS = textwrap.dedent(
    """\
    apiVersion: sloforge/v1
    kind: Teams
    teams:
      payments:
        page: {pagerduty: {routing_key_file: /etc/alertmanager/secrets/pd}}
    """
)
SERVICE = textwrap.dedent(
    """\
    apiVersion: sloforge/v1
    kind: Service
    service: checkout
    team: payments
    slos:
      - name: availability
        objective: 99.9
        sli:
          events:
            errors: sum(rate(req_total{code=~"5.."}[{{.window}}]))
            total: sum(rate(req_total[{{.window}}]))
    """
)
MEMORY_LIMIT = 1 << 30  # a bounded read needs far less; an alias bomb needs far more

# ~350 bytes that expand to 10^9 nodes.
BILLION_LAUGHS = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)
DEEP = "a: " + "[" * 500 + "]" * 500 + "\n"


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        preexec_fn=_limits,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """Specs with one good service and team, and a previous render."""
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "teams.yaml").write_text(TEAMS)
    (specs / "checkout.yaml").write_text(SERVICE)
    out = tmp_path / "out"
    (out / "prometheus").mkdir(parents=True)
    (out / "prometheus" / "old.yaml").write_text("previous render\n")
    yield tmp_path
    for path in tmp_path.rglob("*"):  # let pytest clean up what the test made unreadable
        if not path.is_symlink():
            path.chmod(0o777)


def assert_bad_input(result: subprocess.CompletedProcess[str], where: str, fragment: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert where in result.stderr, result.stderr
    assert fragment in result.stderr, result.stderr


# --- YAML bounds: every input -------------------------------------------------------------------

# (case, YAML text, "line:col" of the offending node, message fragment)
BOUNDS = [
    ("billion laughs", BILLION_LAUGHS, "5:17", "more than 50000 values, lists and mappings"),
    ("50,001 values", "a: [" + ",".join(["1"] * 50_001) + "]\n", "1:99999", "more than 50000 values"),
    ("500 levels of nesting", DEEP, "1:67", "nested deeper than 64 levels"),
    ("alias inside its own anchor", "a: &x [1, *x]\n", "1:11", "refers to a node that contains it"),
    ("too many aliases", "a: &x 1\nb: [" + ", ".join(["*x"] * 101) + "]\n", "2:405", "more than 100 aliases"),
    ("long string", "a: " + "x" * (64 * 1024 + 1) + "\n", "1:4", "longer than 65536 characters"),
    ("file over 1 MiB", "# " + "x" * (1 << 20) + "\n", "1:1", "larger than 1024 KiB"),
]

# Where a YAML file is read: (name, relative path under the work dir, extra CLI args).
INPUTS = [
    ("spec", "specs/bad.yaml", ("render", "--specs", "specs", "--out", "out")),
    ("policy", "policy.yaml", ("render", "--specs", "specs", "--out", "out", "--policy", "policy.yaml")),
    ("draft", "specs/drafts/checkout.yaml", ("render", "--specs", "specs", "--out", "out")),
    ("alertmanager base", "specs/alertmanager.base.yml", ("render", "--specs", "specs", "--out", "out")),
    (
        "simulate scenario",
        "scenario.yaml",
        ("simulate", "--specs", "specs", "checkout/availability", "--scenario", "scenario.yaml"),
    ),
]


@pytest.mark.parametrize(("case", "text", "position", "fragment"), BOUNDS, ids=[c[0] for c in BOUNDS])
def test_yaml_bombs_fail_fast_in_little_memory(tmp_path: Path, case, text, position, fragment):
    import tracemalloc

    from generator.spec.yaml_source import read_documents

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    tracemalloc.start()
    started = time.monotonic()
    documents, errors = read_documents(path, "bad.yaml")
    elapsed = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert documents == []
    assert [(f"{e.line}:{e.column}", fragment in e.message) for e in errors] == [(position, True)], errors
    assert elapsed < 5, f"{case} took {elapsed:.2f}s"  # well under 0.1 s on an idle machine
    assert peak < 50 * 1024 * 1024, f"{case} used {peak // 1024 // 1024} MiB"


@pytest.mark.parametrize(("case", "text", "position", "fragment"), BOUNDS, ids=[c[0] for c in BOUNDS])
def test_yaml_bombs_are_spec_errors_in_the_cli(workdir: Path, case, text, position, fragment):
    (workdir / "specs" / "bad.yaml").write_text(text)
    before = read_tree(workdir / "out")
    result = run_cli("render", "--specs", "specs", "--out", "out", cwd=workdir, timeout=30)
    assert_bad_input(result, f"specs/bad.yaml:{position}: ", fragment)
    assert read_tree(workdir / "out") == before


@pytest.mark.parametrize(("name", "relative", "args"), INPUTS, ids=[i[0] for i in INPUTS])
@pytest.mark.parametrize("bomb", ["billion laughs", "500 levels of nesting"])
def test_every_yaml_input_is_bounded(workdir: Path, name: str, relative: str, args: tuple[str, ...], bomb: str):
    case = next(c for c in BOUNDS if c[0] == bomb)
    target = workdir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(case[1])
    before = read_tree(workdir / "out")
    result = run_cli(*args, cwd=workdir, timeout=30)  # a hang or a memory blow-up fails here
    assert_bad_input(result, f"{relative}:{case[2]}: ", case[3])
    assert read_tree(workdir / "out") == before


def test_bounded_reader_accepts_reasonable_aliases(tmp_path: Path):
    from generator.spec.yaml_source import read_documents

    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {x: 1, y: [1, 2]}\none: *b\ntwo: {<<: *b, z: 3}\n")
    documents, errors = read_documents(path, "ok.yaml")
    assert errors == []
    assert documents[0].data == {
        "base": {"x": 1, "y": [1, 2]},
        "one": {"x": 1, "y": [1, 2]},
        "two": {"x": 1, "y": [1, 2], "z": 3},
    }


# --- files that cannot be read -------------------------------------------------------------------


@pytest.fixture
def deny(monkeypatch) -> Callable[[Path], None]:
    """chmod 000; as root (who reads anyway) the OS calls answer EACCES for that path as they would for a user."""
    denied: set[str] = set()

    def deny_path(path: Path) -> None:
        path.chmod(0o000)
        denied.add(os.path.abspath(path))

    if os.geteuid() == 0:
        real_scandir, real_open = os.scandir, Path.open

        def scandir(path=".", *args):
            if os.path.abspath(path) in denied:
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return real_scandir(path, *args)

        def path_open(self, *args, **kwargs):
            if os.path.abspath(self) in denied:
                raise PermissionError(13, "Permission denied", os.fspath(self))
            return real_open(self, *args, **kwargs)

        real_listdir = os.listdir

        def listdir(path="."):
            if os.path.abspath(path) in denied:
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return real_listdir(path)

        monkeypatch.setattr(os, "scandir", scandir)
        monkeypatch.setattr(os, "listdir", listdir)
        monkeypatch.setattr(Path, "open", path_open)
    return deny_path


def run_in_process(workdir: Path, monkeypatch, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in this process (so `deny` applies), as a CompletedProcess; a traceback is kept in stderr."""
    from click.testing import CliRunner

    from generator.cli import main

    monkeypatch.chdir(workdir)
    result = CliRunner().invoke(main, list(args))
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback: " + repr(result.exception)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, stderr)


def test_unreadable_spec_file_is_an_error(workdir: Path, deny, monkeypatch):
    deny(workdir / "specs" / "checkout.yaml")
    result = run_in_process(workdir, monkeypatch, "render", "--specs", "specs", "--out", "out")
    assert_bad_input(result, "specs/checkout.yaml:1:1: ", "cannot read the file: Permission denied")


def test_unreadable_folder_under_specs_is_an_error_not_a_silent_skip(workdir: Path, deny, monkeypatch):
    folder = workdir / "specs" / "more"
    folder.mkdir()
    (workdir / "specs" / "checkout.yaml").rename(folder / "checkout.yaml")
    deny(folder)
    result = run_in_process(workdir, monkeypatch, "render", "--specs", "specs", "--out", "out")
    assert_bad_input(result, "specs/more:1:1: ", "cannot list this folder: Permission denied")


def test_unreadable_policy_and_scenario_files(workdir: Path, deny, monkeypatch):
    (workdir / "policy.yaml").write_text("apiVersion: sloforge/v1\nkind: Policy\n")
    deny(workdir / "policy.yaml")
    result = run_in_process(
        workdir, monkeypatch, "render", "--specs", "specs", "--out", "out", "--policy", "policy.yaml"
    )
    assert_bad_input(result, "policy.yaml:1:1: ", "Permission denied")

    (workdir / "scenario.yaml").write_text("phases: [{for: 1h, error_ratio: 0}]\n")
    deny(workdir / "scenario.yaml")
    result = run_in_process(
        workdir, monkeypatch, "simulate", "--specs", "specs", "checkout/availability", "--scenario", "scenario.yaml"
    )
    assert_bad_input(result, "scenario.yaml:1:1: ", "Permission denied")


def test_unreadable_or_dangling_alertmanager_base(workdir: Path, deny, monkeypatch):
    base = workdir / "specs" / "alertmanager.base.yml"
    base.write_text("route: {receiver: x}\nreceivers: [{name: x}]\n")
    deny(base)
    result = run_in_process(workdir, monkeypatch, "render", "--specs", "specs", "--out", "out")
    assert_bad_input(result, "specs/alertmanager.base.yml:1:1: ", "Permission denied")
    base.unlink()

    base.symlink_to(workdir / "nowhere.yml")
    result = run_cli("render", "--specs", "specs", "--out", "out", cwd=workdir)
    assert_bad_input(result, "specs/alertmanager.base.yml:1:1: ", "dangling symbolic link")


def test_unreadable_drafts_folder_or_dangling_draft_is_an_error(workdir: Path, deny, monkeypatch):
    drafts = workdir / "specs" / "drafts"
    drafts.mkdir()
    (drafts / "checkout.yaml").symlink_to(workdir / "nowhere.yaml")
    result = run_in_process(workdir, monkeypatch, "render", "--specs", "specs", "--out", "out")
    assert_bad_input(result, "specs/drafts/checkout.yaml:1:1: ", "dangling symbolic link")

    deny(drafts)
    result = run_in_process(workdir, monkeypatch, "render", "--specs", "specs", "--out", "out")
    assert_bad_input(result, "specs/drafts:1:1: ", "cannot list this folder: Permission denied")


def test_dangling_symlink_spec_is_an_error_not_a_silent_removal(workdir: Path):
    (workdir / "specs" / "checkout.yaml").unlink()
    (workdir / "specs" / "checkout.yaml").symlink_to(workdir / "moved-away.yaml")
    result = run_cli("render", "--specs", "specs", "--out", "out", cwd=workdir)
    assert_bad_input(result, "specs/checkout.yaml:1:1: ", "dangling symbolic link")


def test_fifo_spec_does_not_block(workdir: Path):
    os.mkfifo(workdir / "specs" / "pipe.yaml")
    result = run_cli("render", "--specs", "specs", "--out", "out", cwd=workdir, timeout=20)
    assert_bad_input(result, "specs/pipe.yaml:1:1: ", "is not a regular file")


# --- careless or hostile values: reported together, each at its node ---------------------------


def spec_errors(tmp_path: Path, text: str) -> list[str]:
    """`file:line:col: message` of every error loading specs = teams + `text` (empty when it loads)."""
    from generator.pipeline import load_model
    from generator.spec import SpecErrors

    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    (specs / "teams.yaml").write_text(TEAMS)
    (specs / "s.yaml").write_text(textwrap.dedent(text))
    try:
        load_model(specs)
    except SpecErrors as exc:
        return [f"{Path(e.file).name}:{e.line}:{e.column}: {e.message}" for e in exc.errors]
    return []


def slo(name: str, sli: str, extra: str = "") -> str:
    return f"  - name: {name}\n    objective: 99\n    sli: {sli}\n{extra}"


HEAD = "apiVersion: sloforge/v1\nkind: Service\nservice: checkout\nteam: payments\n"
RAW = "{raw: {error_ratio: 'x[{{.window}}]'}}"

# (case, spec text, "line:col", fragment)
CARELESS = [
    (
        "label runs a query",
        HEAD + "labels: {note: '{{ with query \"up\" }}x{{ end }}'}\nslos:\n" + slo("a", RAW),
        "5:16",
        "Prometheus would run it as a Go template",
    ),
    ("label breaks the template", HEAD + "labels: {n: '1 {{ oops'}\nslos:\n" + slo("a", RAW), "5:13", "'{{'"),
    ("label closes a template", HEAD + "labels: {n: 'a }} b'}\nslos:\n" + slo("a", RAW), "5:13", "'}}'"),
    ("empty label value", HEAD + "labels: {n: ''}\nslos:\n" + slo("a", RAW), "5:13", "empty label value"),
    ("Prometheus label name", HEAD + "labels: {__x: a}\nslos:\n" + slo("a", RAW), "5:10", "set by Prometheus"),
    (
        "name too long for a file name",
        HEAD.replace("checkout", "c" * 300) + "slos:\n" + slo("a", RAW),
        "3:10",
        "at most 63 characters",
    ),
    ("objective as a ratio", HEAD + "slos:\n" + slo("a", RAW).replace("99", "0.999"), "7:16", "did you mean 99.9?"),
    (
        "bool_gauge comparison",
        HEAD + "slos:\n" + slo("a", "{bool_gauge: {metric: 'x < bool 200'}}"),
        "8:32",
        "not a series selector",
    ),
    (
        "bool_gauge or vector(0)",
        HEAD + "slos:\n" + slo("a", "{bool_gauge: {metric: 'up{job=\"a\"} or vector(0)'}}"),
        "8:32",
        "not a series selector",
    ),
    (
        "bool_gauge range",
        HEAD + "slos:\n" + slo("a", "{bool_gauge: {metric: 'up[5m]'}}"),
        "8:32",
        "range selector",
    ),
    (
        "latency selector with or",
        HEAD + "slos:\n" + slo("a", '{latency: {histogram: h, selector: \'{a="1"} or {b="2"}\', threshold: 1s}}'),
        "8:45",
        "not a series selector",
    ),
    (
        "latency selector or vector(0)",
        HEAD + "slos:\n" + slo("a", "{latency: {histogram: h, selector: '{a=\"1\"} or vector(0)', threshold: 1s}}"),
        "8:45",
        "label matchers in braces",
    ),
    (
        "histogram with _bucket",
        HEAD + "slos:\n" + slo("a", "{latency: {histogram: h_bucket, threshold: 1s}}"),
        "8:32",
        "did you mean 'h'?",
    ),
    (
        "policy base URL without scheme",
        HEAD + "slos:\n" + slo("a", RAW) + "---\napiVersion: sloforge/v1\nkind: Policy\n"
        "settings: {runbook_base_url: runbooks.example.com}\n",
        "12:30",
        "not an http(s) URL with a host",
    ),
    (
        "policy base URL template",
        HEAD + "slos:\n" + slo("a", RAW) + "---\napiVersion: sloforge/v1\nkind: Policy\n"
        "settings: {dashboard_base_url: 'https://g.example.com/{{ with query \"up\" }}{{ end }}'}\n",
        "12:32",
        "Go template",
    ),
    (
        "evaluation interval 1ms",
        HEAD + "slos:\n" + slo("a", RAW) + "---\napiVersion: sloforge/v1\nkind: Policy\n"
        "settings: {evaluation_interval: 1ms}\n",
        "12:33",
        "outside 1s..5m",
    ),
    (
        "evaluation interval 2d",
        HEAD + "slos:\n" + slo("a", RAW) + "---\napiVersion: sloforge/v1\nkind: Policy\n"
        "settings: {evaluation_interval: 2d}\n",
        "12:33",
        "outside 1s..5m",
    ),
    (
        "policy short window 1s",
        HEAD + "slos:\n" + slo("a", RAW) + "---\napiVersion: sloforge/v1\nkind: Policy\n"
        "tiers: {page-fast: {short_window: 1s}}\n",
        "12:35",
        "short_window 1s is shorter than 1m",
    ),
    (
        "short window under 10s even with a 1s evaluation interval",
        HEAD
        + "slos:\n"
        + slo("a", RAW, "    alerting: {page-fast: {short_window: 5s}}\n")
        + "---\napiVersion: sloforge/v1\nkind: Policy\nsettings: {evaluation_interval: 1s}\n",
        "9:42",
        "short_window 5s is shorter than 10s",
    ),
    (
        "SLO short window under the evaluation interval",
        HEAD
        + "slos:\n"
        + slo("a", RAW, "    alerting: {page-slow: {short_window: 2m}}\n")
        + "---\napiVersion: sloforge/v1\nkind: Policy\nsettings: {evaluation_interval: 3m}\n",
        "9:42",
        "evaluation interval (3m)",
    ),
]


def test_receiver_fields_alertmanager_would_template_are_spec_errors(tmp_path: Path):
    teams = (
        "apiVersion: sloforge/v1\nkind: Teams\nteams:\n  web:\n"
        "    page: {slack: {channel: '#x {{ oops', api_url_file: /etc/alertmanager/secrets/x}}\n"
        "    ticket: {email: {to: '{{ .CommonLabels.team }}@example.com', smarthost: 'mx:25', from: a@example.com}}\n---\n"
    )
    errors = spec_errors(tmp_path, teams + HEAD + "slos:\n" + slo("a", RAW))
    assert errors == [
        "s.yaml:5:29: channel: contains '{{': Alertmanager would run it as a Go template for every alert; "
        "this field must be plain text",
        "s.yaml:6:26: to: contains '{{' and '}}': Alertmanager would run it as a Go template for every alert; "
        "this field must be plain text",
    ]


@pytest.mark.parametrize(("case", "text", "position", "fragment"), CARELESS, ids=[c[0] for c in CARELESS])
def test_careless_values_are_spec_errors(tmp_path: Path, case: str, text: str, position: str, fragment: str):
    errors = spec_errors(tmp_path, text)
    assert any(e.startswith(f"s.yaml:{position}: ") and fragment in e for e in errors), errors


def test_careless_mistakes_are_reported_together(tmp_path: Path):
    text = (
        HEAD
        + "labels: {n: '{{ oops'}\nslos:\n"
        + slo("a", RAW).replace("99", "0.99")
        + slo("b", "{latency: {histogram: h_bucket, threshold: 1s}}")
    )
    errors = spec_errors(tmp_path, text)
    assert len(errors) == 3, errors


@pytest.mark.parametrize(
    ("flag", "value", "fragment"),
    [
        ("--runbook-base-url", '{{ with query "up" }}{{ end }}', "Go template"),
        ("--dashboard-base-url", "grafana.example.com", "http(s) URL"),
        ("--runbook-base-url", "https://x.example.com/a b", "whitespace"),
    ],
)
def test_bad_base_url_flags_are_usage_errors(workdir: Path, monkeypatch, flag: str, value: str, fragment: str):
    before = read_tree(workdir / "out")
    result = run_in_process(workdir, monkeypatch, "render", "--specs", "specs", "--out", "out", flag, value)
    assert_bad_input(result, f"Invalid value for '{flag}'", fragment)
    assert read_tree(workdir / "out") == before


def _service(name: str) -> str:
    return f"---\napiVersion: sloforge/v1\nkind: Service\nservice: {name}\nteam: payments\nslos:\n" + slo("a", RAW)


NEW_TIER = "{notify: page, severity: critical, long_window: 1h, short_window: 5m, budget_share: 0.02, for: 2m}"


def test_colliding_output_names_are_reported_together_with_positions(tmp_path: Path):
    from generator.targets.links import dashboard_uid

    hashed = "a-very-long-service-name-that-is-hashed-beyond-forty"
    text = (
        _service("slo-overview")  # its dashboard file gets a -service suffix ...
        + _service("slo-overview-service")  # ... which is this service's file
        + _service(hashed)
        + _service(dashboard_uid(hashed).removeprefix("slo-"))  # a short name equal to the hashed uid
        + "---\napiVersion: sloforge/v1\nkind: Policy\ntiers:\n"
        + f"  page-1h: {NEW_TIER}\n  page1h: {NEW_TIER}\n  missing-sli: {NEW_TIER}\n"
    )
    errors = spec_errors(tmp_path, text)
    assert any(
        e.startswith("s.yaml:13:10: ") and "same dashboard file (grafana/dashboards/slo-overview-service.json)" in e
        for e in errors
    ), errors
    assert any(e.startswith("s.yaml:31:10: ") and "same Grafana dashboard uid" in e for e in errors), errors
    assert any(e.startswith("s.yaml:42:3: ") and "SLOBurnRatePage1h" in e for e in errors), errors
    assert any(e.startswith("s.yaml:43:3: ") and "'missing-sli' is reserved" in e for e in errors), errors
    assert len(errors) == 4, errors


# --- what renders must pass the real tools ------------------------------------------------------

HOSTILE_PROSE = '{{ with query "up" }}{{ . }}{{ end }} 1 {{ oops }} `x` {{- "y" -}} }} {{'
TRICKY_SPECS = textwrap.dedent(
    """\
    apiVersion: sloforge/v1
    kind: Service
    service: checkout
    team: payments
    description: 'PROSE'
    labels: {tier: "1", quote: 'say "hi" \\\\ $value ${x} %s', unicode: "ünï ✓"}
    slos:
      - name: availability
        description: 'PROSE'
        objective: 99.999
        window: 4w
        sli:
          events:
            good: sum(rate(req_total{code!~"5..", path=~"/a\\\\.b|/c"}[{{.window}}]))
            total: sum(rate(req_total[{{ .window }}]))
      - name: latency
        description: 'PROSE'
        objective: 95
        window: 7d
        sli:
          latency: {histogram: "http:duration_seconds", selector: '{ job="a" , le!="x" }', threshold: 250ms}
      - name: probe
        objective: 99.5
        sli:
          bool_gauge: {metric: '{__name__="probe_success", job=~"blackbox|bb"}'}
      - name: ratio
        objective: 90
        sli:
          raw: {error_ratio: '1 - avg_over_time(up{job="x"}[{{.window}}])'}
    ---
    apiVersion: sloforge/v1
    kind: Service
    service: a-very-long-service-name-that-is-hashed-beyond-forty
    team: payments
    slos:
      - name: x
        objective: 99.9
        window: 90d
        sli:
          bool_gauge: {metric: probe_success}
    ---
    apiVersion: sloforge/v1
    kind: Policy
    settings:
      evaluation_interval: 30s
      runbook_base_url: https://runbooks.example.com/a%20b/
      dashboard_base_url: http://grafana:3000
    tiers:
      page-1h: {notify: page, severity: critical, long_window: 1h, short_window: 1m, budget_share: 0.02, for: 1m}
    """
).replace("PROSE", HOSTILE_PROSE.replace("'", "''"))
SLOFORGE_TEMPLATES = (
    '{{ "{{" }}',
    "{{ $value | humanize }}",
    "{{ $value | humanizePercentage }}",
)  # the only actions sloforge writes


def test_hostile_prose_and_tricky_valid_specs_render_and_pass_promtool_and_amtool(tmp_path: Path):
    import yaml

    from generator.output import write_tree
    from generator.pipeline import load_model, render_tree
    from generator.tools.validate import validate_tree

    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "teams.yaml").write_text(
        TEAMS
        + "    ticket: {slack: {channel: '#a', api_url_file: /etc/alertmanager/secrets/slack}, email: {to: a@example.com}}\n"
    )
    (specs / "s.yaml").write_text(TRICKY_SPECS)
    (specs / "alertmanager.base.yml").write_text(
        "global: {smtp_smarthost: 'localhost:25', smtp_from: a@example.com}\nroute: {receiver: x}\nreceivers: [{name: x}]\n"
    )
    out = tmp_path / "out"
    write_tree(render_tree(load_model(specs)).files, out)

    failed = [f"{r.what}\n{r.output}" for r in validate_tree(out) if not r.ok]
    assert not failed, "\n".join(failed)
    rules = yaml.safe_load((out / "prometheus" / "rules" / "checkout.yaml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]
    assert alerts
    for alert in alerts:
        for text in [*alert["labels"].values(), *alert["annotations"].values()]:
            for ours in SLOFORGE_TEMPLATES:
                text = text.replace(ours, "")
            assert "{{" not in text, (alert["alert"], text)
    described = [a for a in alerts if a["labels"]["slo_name"] == "availability" and "SLOBurnRate" in a["alert"]]
    assert '{{ "{{" }} with query "up" }}' in described[0]["annotations"]["description"]


def test_slack_receiver_without_any_webhook_url_is_a_spec_error(tmp_path: Path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "teams.yaml").write_text(TEAMS + "    ticket: {slack: {channel: '#a'}}\n")
    (specs / "s.yaml").write_text(SERVICE)
    from generator.pipeline import load_model
    from generator.spec import SpecErrors

    with pytest.raises(SpecErrors) as raised:
        load_model(specs)
    assert [str(e).split("specs/", 1)[1] for e in raised.value.errors] == [
        "teams.yaml:6:14: slack receiver needs api_url_file, or slack_api_url or slack_api_url_file under "
        "`global:` in alertmanager.base.yml (Alertmanager refuses the config otherwise)"
    ]
    (specs / "alertmanager.base.yml").write_text(
        "global: {slack_api_url_file: /etc/alertmanager/secrets/slack}\nroute: {receiver: x}\nreceivers: [{name: x}]\n"
    )
    assert load_model(specs).teams  # a global webhook file is enough


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("a: " + "9" * 5000 + "\n", "1:4", "Exceeds the limit (4300 digits)"),
        ("---\n" * 1001, "1001:1", "more than 1000 YAML documents"),
    ],
    ids=["5000-digit number", "1001 documents"],
)
def test_values_python_refuses_are_marked_errors(tmp_path: Path, text: str, position: str, fragment: str):
    from generator.spec.yaml_source import read_documents

    path = tmp_path / "bad.yaml"
    path.write_text(text)
    documents, errors = read_documents(path, "bad.yaml")
    assert documents == []
    assert [(f"{e.line}:{e.column}", fragment in e.message) for e in errors] == [(position, True)], errors


def test_a_flood_of_errors_is_cut_short(workdir: Path, monkeypatch):
    (workdir / "specs" / "bad.yaml").write_text("---\n[]\n" * 300)
    result = run_in_process(workdir, monkeypatch, "render", "--specs", "specs", "--out", "out")
    assert_bad_input(result, "... and 100 more", "300 error(s) in specs")
    assert result.stderr.count("must be a mapping") == 200


def test_email_receiver_without_smarthost_or_from_and_no_global_is_a_spec_error(tmp_path: Path):
    """amtool refuses such a config ("no global SMTP smarthost set"): render must say so first, at the receiver."""
    teams = (
        "apiVersion: sloforge/v1\nkind: Teams\nteams:\n  web:\n"
        "    page: {pagerduty: {routing_key_file: /etc/alertmanager/secrets/pd}}\n"
        "    ticket: {email: {to: web@example.com}}\n---\n"
    )
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "alertmanager.base.yml").write_text("route: {receiver: x}\nreceivers: [{name: x}]\n")
    errors = spec_errors(tmp_path, teams + HEAD + "slos:\n" + slo("a", RAW))
    assert errors == [
        "s.yaml:6:14: email receiver needs from, or smtp_from under `global:` in alertmanager.base.yml "
        "(Alertmanager refuses the config otherwise)",
        "s.yaml:6:14: email receiver needs smarthost, or smtp_smarthost under `global:` in alertmanager.base.yml "
        "(Alertmanager refuses the config otherwise)",
    ]
