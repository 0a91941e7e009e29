"""promtool unit tests proving every SLO's alerts fire when they should and stay silent otherwise.

For each SLO and enabled tier the tests feed synthetic series to the SLO's own
SLI queries (see `generator.model.synthetic`) and assert, at times predicted by the burn-rate
model (`generator.model.burn`), never copied from promtool:

- fires: a bit above the threshold the tier fires by the predicted evaluation
  plus one step of slack, and is not firing two steps before it;
- reset: once errors stop it stops firing, again within one step of the prediction;
- silent: a bit below the threshold it is never even pending over its long window;
- full outage: the fastest page tier fires within its predicted detection time;
- no data and zero traffic: no burn alert, and `SLOSLIMissing` fires only for absent SLIs;
- the recorded error ratios over every window equal the model's (traffic-weighted) values.

Where each check runs (which evaluation step, file and group) is `placement`'s job; its
docstring says why.

By job: `basics` (limits, the group, skips, helpers), `expected_text` (alert
text as Prometheus expands it), `firing_groups`, `low_traffic_groups` and
`service_groups` (what each kind of group checks), `placement` (steps and
groups per SLO), `service_files` (files per service and the entry points).
"""

from generator.targets.rule_tests.basics import TESTS_DIR, GroupKind, tests_path
from generator.targets.rule_tests.expected_text import alert_values, burn_alert
from generator.targets.rule_tests.firing_groups import fastest_page_tier
from generator.targets.rule_tests.service_files import (
    RuleTests,
    render_rule_tests,
    rule_tests,
    service_tests,
)

__all__ = [
    "TESTS_DIR",
    "GroupKind",
    "RuleTests",
    "alert_values",
    "burn_alert",
    "fastest_page_tier",
    "render_rule_tests",
    "rule_tests",
    "service_tests",
    "tests_path",
]
