"""The review as one self-contained file: HTML with inline SVG charts, or Markdown with data-URI charts.

Charts come from matplotlib (the `report` extra), drawn to SVG in memory.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from generator.live.budget_format import cells
from generator.live.review import REPORT_MARKER, Review, SLOReview
from generator.units.durations import human_duration

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html.j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
BAND_COLORS = ["#2e9e44", "#e0b400", "#f07b0e", "#d62728"]  # best to worst; more stages reuse orange


def budget_chart(review: SLOReview) -> str:
    """Budget remaining over the SLO window as SVG, the policy's stages as bands behind the line."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 2.6), dpi=100)
    try:
        values = [v * 100 for _, v in review.budget_points]
        low = min([0.0, *values]) - 5
        top = max([100.0, *values]) + 5
        _bands(axes, review.stage_bounds, low, top)
        start, end = (dt.datetime.fromtimestamp(t, tz=dt.UTC) for t in review.window_range)
        if review.budget_points:
            times = [dt.datetime.fromtimestamp(t, tz=dt.UTC) for t, _ in review.budget_points]
            marker = "o" if len(times) < 3 else None  # a young series: show the points it has
            # matplotlib converts datetimes through its units registry; its stubs accept floats only.
            axes.plot(times, values, color="#1f3b73", linewidth=2, marker=marker, label="budget remaining")  # type: ignore[arg-type]
        else:
            axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes)
        axes.set_xlim(start, end)  # type: ignore[arg-type]  # datetimes, as above
        axes.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=8))
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
        axes.set_ylim(low, top)
        axes.set_ylabel("budget left (%)")
        axes.axhline(0, color="#444", linewidth=0.8)
        axes.grid(axis="y", alpha=0.3)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        figure.autofmt_xdate()
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    finally:
        plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _bands(axes: Axes, bounds: tuple[tuple[str, float | None], ...], low: float, top: float) -> None:
    upper = top
    for index, (name, minimum) in enumerate(bounds):
        lower = low if minimum is None else minimum * 100
        color = BAND_COLORS[min(index, len(BAND_COLORS) - 2)] if minimum is not None else BAND_COLORS[-1]
        axes.axhspan(lower, upper, color=color, alpha=0.12, linewidth=0)
        axes.text(1.0, (lower + upper) / 2, f" {name}", va="center", fontsize=8, transform=axes.get_yaxis_transform())
        upper = lower


def _context(review: Review) -> dict[str, object]:
    def when(seconds: float) -> str:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

    return {
        "marker": REPORT_MARKER,
        "start": when(review.start),
        "end": when(review.end),
        "period": review.period,
        "frozen": [r for r in review.slos if r.row.freeze],
        "slos": [
            {
                "review": slo,
                "cells": cells(slo.row),
                "chart": budget_chart(slo),
                "stages": [(name, human_duration(seconds) if seconds else "–") for name, seconds in slo.stage_seconds],
                "alerts": [
                    {
                        "name": span.alertname,
                        "severity": span.severity,
                        "start": when(span.start),
                        "lasted": human_duration(span.seconds) if span.seconds else "one evaluation",
                        "still": span.still_firing,
                    }
                    for span in slo.alerts
                ],
            }
            for slo in review.slos
        ],
    }


def render_html(review: Review) -> str:
    return _ENV.get_template("report.html.j2").render(**_context(review))


def render_markdown(review: Review) -> str:
    context = _context(review)
    for slo in context["slos"]:  # type: ignore[attr-defined]
        slo["chart_uri"] = "data:image/svg+xml;base64," + base64.b64encode(slo["chart"].encode()).decode()
    return _ENV.get_template("report.md.j2").render(**context, escape=_md)


def _md(text: object) -> str:
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")
