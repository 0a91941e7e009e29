"""Numbers shared by SLOs of one input shape, remembered for one render.

What the burn-rate model predicts for an SLO depends on its input plan's
shape (how the rules sample it, its shortest window, the input interval), its
error budget, the tier and the phases: never on its metric names or labels.
A fleet has many SLOs of each shape, so a renderer computes each outcome once
per shape and remembers it here, on a key of exactly what determines it. One
memo belongs to one render: nothing is remembered across renders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from generator.model.synthetic.plans import InputPlan

_T = TypeVar("_T")

OUTCOMES_LIMIT = 1 << 17  # entries kept before the memo starts over (bounds memory on huge fleets)
INPUT_VALUES_LIMIT = 1 << 16


class ShapeMemo:
    """Outcomes by key for one render; exceptions of the `remembered` types are remembered and raised again."""

    def __init__(self, remembered: tuple[type[Exception], ...] = ()) -> None:
        self._remembered = remembered
        self._shape_ids: dict[InputPlan, int] = {}
        self._outcomes: dict[tuple, object] = {}
        self._input_values: dict[tuple, tuple[str, ...]] = {}

    def shape_id(self, plan: InputPlan) -> int:
        """A small number per shape, for keys that hash fast."""
        return self._shape_ids.setdefault(plan.shape, len(self._shape_ids))

    def outcome(self, key: tuple, compute: Callable[[], _T]) -> _T:
        """`compute()`, once per key; a remembered exception is raised again (a fresh one of its type)."""
        try:
            outcome = self._outcomes[key]
        except KeyError:
            try:
                outcome = compute()
            except self._remembered as exc:
                outcome = exc
            if len(self._outcomes) >= OUTCOMES_LIMIT:
                self._outcomes.clear()
            self._outcomes[key] = outcome
        if isinstance(outcome, self._remembered):
            raise type(outcome)(str(outcome))
        return cast(_T, outcome)

    def input_values(self, key: tuple, compute: Callable[[], tuple[str, ...]]) -> tuple[str, ...]:
        """The `values` lines of a shape's series, by (shape id, bits, phases, end, step)."""
        values = self._input_values.get(key)
        if values is None:
            values = compute()
            if len(self._input_values) >= INPUT_VALUES_LIMIT:
                self._input_values.clear()
            self._input_values[key] = values
        return values
