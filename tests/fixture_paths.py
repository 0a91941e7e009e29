"""Where the project's own test specs live: tests/fixtures/specs/, never the user's slo_specs/.

`slo_specs/` is the user's to edit (the README's "add an SLO" steps); the suite
must pass whatever is in it. The fixtures started as a copy of the examples
and only change with the tests that rely on them.
"""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SPECS = FIXTURES / "specs"
TEAMS = SPECS / "teams.yaml"
