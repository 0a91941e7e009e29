"""Notification templates: package data with label names filled in from `labels`.

The `.tmpl` file is Go template text; jinja2 with `[[ ]]` delimiters fills in
label and annotation names so the template never repeats them as literals.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import jinja2

from generator.targets import labels as L
from generator.targets.alertmanager.names import TEMPLATE_FILE
from generator.targets.alertmanager.routes import GROUP_BY

# Annotations the templates read. burn_rate and budget_consumed are optional:
# the templates fall back to the description and the dashboard without them.
ANNOTATIONS = {
    "summary": "summary",
    "description": "description",
    "runbook_url": "runbook_url",
    "dashboard_url": "dashboard_url",
    "burn_rate": "burn_rate",
    "budget_consumed": "budget_consumed",
}


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def template_source() -> str:
    return (resources.files("generator.targets") / "templates" / "alertmanager" / TEMPLATE_FILE).read_text("utf-8")


def render_templates() -> dict[str, str]:
    """{file name: Go template text} for `alertmanager/templates/`."""
    text = _environment().from_string(template_source()).render(L=L, group_by=", ".join(GROUP_BY), **ANNOTATIONS)
    return {TEMPLATE_FILE: text}
