"""A strict checker for the Go-template subset allowed in drafted annotations.

Prometheus expands annotations as Go templates with access to queries and
arbitrary functions; drafted text may only print `$value` and `$labels.<name>`
through the `humanize*` functions. This parses every `{{ ... }}` action and
rejects anything else; promtool then checks the rendered rules as the authority.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NoReturn

ALLOWED_FUNCTIONS = frozenset(
    {"humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp"}
)
ALLOWED_VARIABLES = frozenset({"$value", "$labels"})
KEYWORDS = frozenset(
    {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "nil", "true", "false"}
)

_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VARIABLE = re.compile(r"\$[A-Za-z0-9_]*((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_FIELD = re.compile(r"\.(?:[A-Za-z_][A-Za-z0-9_]*)?(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_RAW_STRING = re.compile(r"`[^`]*`")
_CHAR = re.compile(r"'(?:[^'\\\n]|\\.)+'")


class TemplateProblem(ValueError):
    """The text is not an acceptable annotation template; the message says why and where."""


@dataclass(frozen=True)
class _Token:
    kind: str  # var | field | string | number | ident | pipe | open | close | declare | comma
    text: str
    offset: int


def check_template(text: str, label_names: set[str] | frozenset[str] = frozenset()) -> None:
    """Raise TemplateProblem unless every action in `text` is in the allowed subset.

    `label_names` are the labels `$labels.<name>` may read (the alert's labels).
    """
    position = 0
    while True:
        start = text.find("{{", position)
        if start < 0:
            return
        tokens, position = _lex_action(text, start)
        _Parser(text, tokens, start, label_names).action()


def _lex_action(text: str, start: int) -> tuple[list[_Token], int]:
    i = start + 2
    if text.startswith("- ", i) or text.startswith("-\t", i) or text.startswith("-\n", i):
        i += 1
    tokens: list[_Token] = []
    while True:
        if i >= len(text):
            raise TemplateProblem(f"character {start + 1}: unclosed action: `{{{{` without a matching `}}}}`")
        if text.startswith("}}", i):
            return tokens, i + 2
        space = _SPACE.match(text, i)
        if space:
            i = space.end()
            if text.startswith("-}}", i):
                return tokens, i + 3
            continue
        if text.startswith("/*", i):
            raise TemplateProblem(f"character {i + 1}: template comments are not allowed")
        token = _next_token(text, i)
        tokens.append(token)
        i = token.offset + len(token.text)


def _next_token(text: str, i: int) -> _Token:
    char = text[i]
    singles = {"|": "pipe", "(": "open", ")": "close", ",": "comma", "=": "declare"}
    if text.startswith(":=", i):
        return _Token("declare", ":=", i)
    if char in singles:
        return _Token(singles[char], char, i)
    for kind, pattern in (
        ("var", _VARIABLE),
        ("string", _STRING),
        ("string", _RAW_STRING),
        ("string", _CHAR),
        ("number", _NUMBER),
        ("field", _FIELD),
        ("ident", _IDENT),
    ):
        if char == "." and kind == "number" and not text[i + 1 : i + 2].isdigit():
            continue
        match = pattern.match(text, i)
        if match and match.end() > i:
            return _Token(kind, match.group(0), i)
    if char in "\"'`":
        raise TemplateProblem(f"character {i + 1}: unterminated quoted string")
    raise TemplateProblem(f"character {i + 1}: unexpected character {char!r} in action")


class _Parser:
    def __init__(self, text: str, tokens: list[_Token], start: int, label_names: set[str] | frozenset[str]):
        self.text, self.tokens, self.start, self.labels = text, tokens, start, label_names
        self.index = 0

    def action(self) -> None:
        if not self.tokens:
            raise TemplateProblem(f"character {self.start + 1}: empty action `{{{{ }}}}`")
        self.pipeline()
        if self.index < len(self.tokens):
            self.fail(self.tokens[self.index], "unexpected")

    def pipeline(self) -> None:
        stage = 0
        while True:
            self.command(stage)
            token = self.peek()
            if token is None or token.kind != "pipe":
                return
            self.index += 1
            stage += 1

    def command(self, stage: int) -> None:
        first = self.peek()
        if first is None or first.kind in ("pipe", "close"):
            raise TemplateProblem(f"character {self._column(first)}: missing command in pipeline")
        if first.kind == "ident":
            self.index += 1
            self.function(first)
            args = self.operands()
            piped = 1 if stage else 0
            if args + piped != 1:
                self.fail(first, f"takes exactly one argument, got {args + piped}")
            return
        if stage:
            self.fail(first, "cannot receive a pipeline; only a function (humanize, ...) can follow `|`")
        if self.operands() != 1:
            self.fail(first, "is followed by extra operands; write `{{ $value | humanize }}`")

    def operands(self) -> int:
        count = 0
        while (token := self.peek()) is not None and token.kind not in ("pipe", "close"):
            self.index += 1
            if token.kind == "open":
                self.pipeline()
                closing = self.peek()
                if closing is None or closing.kind != "close":
                    raise TemplateProblem(f"character {token.offset + 1}: unclosed parenthesis")
                self.index += 1
            elif token.kind == "var":
                self.variable(token)
            elif token.kind == "ident":
                self.function(token)
                self.fail(token, "must be the first word of a command or follow `|`")
            elif token.kind in ("declare", "comma"):
                self.fail(token, "variable declarations are not allowed")
            elif token.kind == "field":
                self.fail(token, "is not available; use $value or $labels.<name>")
            count += 1
        return count

    def function(self, token: _Token) -> None:
        if token.text in KEYWORDS:
            self.fail(token, "control structures are not allowed in drafted annotations")
        if token.text not in ALLOWED_FUNCTIONS:
            self.fail(token, f"is not an allowed function; use one of {', '.join(sorted(ALLOWED_FUNCTIONS))}")

    def variable(self, token: _Token) -> None:
        root, _, rest = token.text.partition(".")
        if root not in ALLOWED_VARIABLES:
            self.fail(token, "is not available; only $value and $labels may be used")
        if root == "$value" and rest:
            self.fail(token, "$value has no fields")
        if root == "$labels" and rest:
            if "." in rest:
                self.fail(token, "label values have no fields")
            if self.labels and rest not in self.labels:
                self.fail(token, f"reads a label the alert does not have; known: {', '.join(sorted(self.labels))}")

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def fail(self, token: _Token, message: str) -> NoReturn:
        raise TemplateProblem(f"character {token.offset + 1}: `{token.text}` {message}")

    def _column(self, token: _Token | None) -> int:
        return (token.offset if token else self.start) + 1
