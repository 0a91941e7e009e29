"""Budget rows as a rich table, JSON or Markdown (pure: rows in, text or renderable out)."""

from __future__ import annotations

import orjson
from rich.table import Table

from generator.live.budget import BudgetRow

COLUMNS = ("service", "slo", "objective", "window", "budget left", "burn 1h", "burn 1d", "stage", "action")


def cells(row: BudgetRow) -> tuple[str, ...]:
    return (
        row.service,
        row.slo,
        f"{row.objective}%" if row.objective else "–",
        row.window or "–",
        _percent(row.budget_remaining),
        _rate(row.burn_rate_1h),
        _rate(row.burn_rate_1d),
        (row.stage or "no data") + (" (freeze)" if row.freeze else ""),
        row.action or "–",
    )


def as_table(rows: list[BudgetRow]) -> Table:
    table = Table(title="Error budget by SLO", title_justify="left")
    for column in COLUMNS:
        table.add_column(
            column, justify="right" if column in ("objective", "budget left", "burn 1h", "burn 1d") else "left"
        )
    for row in rows:
        style = "red" if row.freeze else ("yellow" if row.stage is None else None)
        table.add_row(*cells(row), style=style)
    return table


def as_json(rows: list[BudgetRow]) -> str:
    return (
        orjson.dumps([row.as_dict() for row in rows], option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    )


def as_markdown(rows: list[BudgetRow]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(_md(cell) for cell in cells(row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}x"
