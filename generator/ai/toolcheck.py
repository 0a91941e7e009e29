"""promtool as the authority on drafted annotations, after the in-process checks.

The drafted texts go into a throwaway rule file that `promtool check rules`
parses (it compiles every annotation template). When the whole file fails,
each text is checked alone so only the offending items are rejected.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from generator.ai.checks import Verdict
from generator.targets.yaml_text import dump_yaml
from generator.tools.runner import promtool


def _passes(texts: dict[str, str]) -> tuple[bool, str]:
    rules = [
        {"alert": f"Draft{index}", "expr": "vector(1)", "annotations": {"text": text}}
        for index, text in enumerate(texts.values())
    ]
    with tempfile.TemporaryDirectory(prefix="sloforge-draft-") as folder:
        path = Path(folder) / "drafted.yaml"
        path.write_text(dump_yaml({"groups": [{"name": "drafted", "rules": rules}]}), encoding="utf-8")
        result = promtool(["check", "rules", str(path)], "promtool check rules (drafted annotations)")
    return result.ok, result.output


def promtool_problems(texts: dict[str, str]) -> dict[str, str]:
    """{item: promtool's complaint} for the annotation texts promtool rejects.

    Raises ToolNotFound when promtool is not available.
    """
    if not texts:
        return {}
    ok, _ = _passes(texts)
    if ok:
        return {}
    problems = {}
    for item, text in texts.items():
        ok, output = _passes({item: text})
        if not ok:
            lines = [line.strip() for line in output.splitlines() if line.strip()]
            last = lines[-1] if lines else "rejected the template"
            problems[item] = "promtool: " + (last[last.find("template:") :] if "template:" in last else last)
    return problems


def apply_promtool(verdict: Verdict) -> None:
    """Move alert texts promtool rejects from the accepted part of `verdict` to its rejections."""
    texts = {
        (tier, key): getattr(text, key)
        for tier, text in verdict.alerts.items()
        for key in ("summary", "description")
        if getattr(text, key) is not None
    }
    problems = promtool_problems({f"alerts.{tier}.{key}": value for (tier, key), value in texts.items()})
    for (tier, key), _ in texts.items():
        problem = problems.get(f"alerts.{tier}.{key}")
        if problem:
            setattr(verdict.alerts[tier], key, None)
            verdict.rejected.append(f"alerts.{tier}.{key}: {problem}")
    for tier in [tier for tier, text in verdict.alerts.items() if text.summary is None and text.description is None]:
        del verdict.alerts[tier]
