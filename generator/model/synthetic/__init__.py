"""Synthetic input series for an SLO's own SLI queries, and what the rules record from them.

The rule tests and the simulator feed promtool series that the SLO's queries
select, and predict with the burn-rate model (`generator.model.burn`) what
the rules make of them. By job:

- `label_values`: label values that satisfy the queries' matchers;
- `query_shapes`: the query shapes whose inputs can be synthesized;
- `plans`: which series feed an SLO and how its rules sample them;
- `scenarios`: phases of errors and traffic, the input series, the records;
- `values_text`: promtool's expanding notation for the samples;
- `shape_memo`: numbers shared by SLOs of one shape, for one render.
"""

from generator.model.synthetic.label_values import (
    Matcher,
    matcher_holds,
    regex_examples,
    selector_matches,
    solve_labels,
)
from generator.model.synthetic.plans import (
    InputPlan,
    SeriesSpec,
    by_metric,
    escape_label_value,
    feeds_selectors,
    input_interval,
    plan_inputs,
    sli_selectors,
)
from generator.model.synthetic.query_shapes import Unsupported, counter_rate_selector
from generator.model.synthetic.scenarios import Phase, Synthesis, phases_key, quantize, resolution, synthesize
from generator.model.synthetic.shape_memo import ShapeMemo

__all__ = [
    "InputPlan",
    "Matcher",
    "Phase",
    "SeriesSpec",
    "ShapeMemo",
    "Synthesis",
    "Unsupported",
    "by_metric",
    "counter_rate_selector",
    "escape_label_value",
    "feeds_selectors",
    "input_interval",
    "matcher_holds",
    "phases_key",
    "plan_inputs",
    "quantize",
    "regex_examples",
    "resolution",
    "selector_matches",
    "sli_selectors",
    "solve_labels",
    "synthesize",
]
