"""`sloforge schema`: the committed JSON Schema matches the pydantic models, every
example spec points at it and passes it, and a broken document fails it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from fixture_paths import SPECS

from generator.cli import main
from generator.spec.json_schema import SCHEMA_COMMENT, SCHEMA_FILE, spec_json_schema, spec_json_schema_text

EXAMPLES = SPECS  # tests/fixtures/specs: a copy of the examples, schema file included
VALID_SERVICE = """\
apiVersion: sloforge/v1
kind: Service
service: shop
team: web
slos:
  - name: availability
    objective: 99.9
    sli:
      events: {errors: 'sum(rate(e[{{.window}}]))', total: 'sum(rate(t[{{.window}}]))'}
"""


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = spec_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def example_files() -> list[Path]:
    """Spec documents among the examples (not alertmanager.base.yml or drafts/)."""
    files = sorted(EXAMPLES.glob("*.yaml"))
    return [path for path in files if "kind:" in path.read_text()]


def test_committed_schema_is_the_generated_one():
    committed = (EXAMPLES / SCHEMA_FILE).read_text()
    assert committed == spec_json_schema_text(), "run `sloforge schema --out slo_specs/sloforge.schema.json`"


def test_schema_command_prints_and_writes_the_same_schema(tmp_path):
    runner = CliRunner()
    printed = runner.invoke(main, ["schema"])
    assert printed.exit_code == 0 and json.loads(printed.output) == spec_json_schema()
    target = tmp_path / SCHEMA_FILE
    assert runner.invoke(main, ["schema", "--out", str(target)]).exit_code == 0
    assert target.read_text() == spec_json_schema_text()
    unwritable = runner.invoke(main, ["schema", "--out", str(tmp_path / "missing" / "dir" / "x.json")])
    assert unwritable.exit_code == 1 and "cannot write" in unwritable.output  # an I/O failure, not bad input


def test_every_example_points_at_the_schema_and_passes_it(validator):
    files = example_files()
    assert files
    for path in files:
        assert path.read_text().splitlines()[0] == SCHEMA_COMMENT, path
        for document in yaml.safe_load_all(path.read_text()):
            errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(document)]
            assert errors == [], path


def test_the_valid_document_passes(validator):
    assert list(validator.iter_errors(yaml.safe_load(VALID_SERVICE))) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("objective: 99.9", "objectve: 99.9", "'objectve' was unexpected"),
        ("objective: 99.9", "objective: '99.9'", "is not of type 'number'"),
        ("objective: 99.9", "objective: 100", "100 is greater than or equal to the maximum of 100"),
        ("kind: Service", "kind: Servce", "'Servce' is not one of ['Policy', 'Service', 'Teams']"),
        ("service: shop", "service: Shop_1", "does not match"),
        ("team: web\n", "", "'team' is a required property"),
    ],
)
def test_a_broken_document_fails_the_schema(validator, old, new, expected):
    broken = yaml.safe_load(VALID_SERVICE.replace(old, new))
    messages = " | ".join(error.message for error in validator.iter_errors(broken))
    assert expected in messages
