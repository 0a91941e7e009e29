"""Spec text inside Markdown: runbooks and Grafana text panels show it as written, never as markup.

A description is free text from a spec; placed raw into Markdown, a `|` splits a
table row, a newline ends it, `<script>` or `[x](javascript:...)` becomes markup
and a leading `#` a heading. These helpers make such text inert.
"""

from __future__ import annotations

import html
import re

# Characters CommonMark/GFM (and GitHub's $math$) give a meaning inline; a backslash makes each literal.
_INLINE = re.compile(r"([\\`*_\[\]|~$])")
# What starts a block (heading, quote, list, setext line) when text opens a line.
_LINE_START = re.compile(r"^(?:([#>+=-])|(\d+)([.)]))")
_WHITESPACE = re.compile(r"\s+")


def md_inline(text: str) -> str:
    """One line of literal text for Markdown prose or a table cell."""
    flat = _WHITESPACE.sub(" ", text).strip()
    escaped = _INLINE.sub(r"\\\1", html.escape(flat, quote=False))
    return _LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", escaped)


def md_code(text: str) -> str:
    """A code span holding `text` literally, safe in a table cell (backticks and pipes inside are fine)."""
    flat = _WHITESPACE.sub(" ", text).strip()
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat.replace('|', chr(92) + '|')}{pad}{fence}"


def md_item(text: str) -> str:
    """Checked Markdown prose (drafted items) on one line, so it stays inside its list item."""
    return _WHITESPACE.sub(" ", text).strip()
