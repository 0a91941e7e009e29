"""The text Prometheus prints for an alert annotation, for the template subset sloforge emits.

promtool compares `exp_annotations` exactly, so the rule tests need the
expanded text: `{{ $value | humanize }}` with the alert's value, escaped
braces, and the small set of functions drafted annotations may use
(`generator.ai.gotemplate` admits nothing else). Anything outside that subset
raises TemplateUnsupported, and the caller reports it instead of guessing.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|`[^`]*`)
    | (?P<variable>\$[A-Za-z_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)
    | (?P<number>[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)
    | (?P<function>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<symbol>[|()])
    )""",
    re.VERBOSE,
)


class TemplateUnsupported(ValueError):
    """The template uses something the expansion here does not implement."""


def go_g(value: float, precision: int = 4) -> str:
    """Go's fmt `%.<precision>g` (same rules as C's, which Python follows)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"%.{precision}g" % value


def go_value(value: float) -> str:
    """Go's `%v` of a float64 (strconv 'g', shortest): exponent below 1e-4 or from 1e6."""
    if math.isnan(value) or math.isinf(value):
        return go_g(value)
    if value == 0:
        return "0"
    digits = Decimal(repr(value))
    exponent = digits.adjusted()
    if -4 <= exponent < 6:
        text = format(digits, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa = format(digits.scaleb(-exponent).normalize(), "f")
    return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def humanize(value: float) -> str:
    """Prometheus' `humanize`: 4 significant digits with an SI prefix (k, M, ... / m, u, ...)."""
    if value == 0 or math.isnan(value) or math.isinf(value):
        return go_g(value)
    if abs(value) >= 1:
        prefix = ""
        for candidate in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(value) < 1000:
                break
            prefix = candidate
            value /= 1000
        return go_g(value) + prefix
    prefix = ""
    for candidate in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix = candidate
        value *= 1000
    return go_g(value) + prefix


def humanize1024(value: float) -> str:
    if abs(value) <= 1 or math.isnan(value) or math.isinf(value):
        return go_g(value)
    prefix = ""
    for candidate in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(value) < 1024:
            break
        prefix = candidate
        value /= 1024
    return go_g(value) + prefix


def humanize_duration(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return go_g(value)
    if value == 0:
        return go_g(value) + "s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        value = abs(value)
        whole = int(value)
        seconds, minutes, hours, days = whole % 60, whole // 60 % 60, whole // 3600 % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{go_g(value)}s"
    prefix = ""
    for candidate in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix = candidate
        value *= 1000
    return f"{go_g(value)}{prefix}s"


def humanize_percentage(value: float) -> str:
    return go_g(value * 100) + "%"


FUNCTIONS = {
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizeDuration": humanize_duration,
    "humanizePercentage": humanize_percentage,
}


def expand(text: str, value: float, labels: dict[str, str]) -> str:
    """`text` as Prometheus prints it for an alert with this value and these (expression) labels."""
    out: list[str] = []
    position = 0
    while (start := text.find("{{", position)) >= 0:
        literal = text[position:start]
        inner_start = start + 2
        if text.startswith("-", inner_start) and text[inner_start + 1 : inner_start + 2].isspace():
            literal = literal.rstrip()
            inner_start += 1
        end = _action_end(text, inner_start)
        if end < 0:
            raise TemplateUnsupported("unclosed `{{`")
        inner = text[inner_start:end]
        position = end + 2
        if inner.endswith("-") and inner[-2:-1].isspace():
            inner = inner[:-1]
            while position < len(text) and text[position].isspace():
                position += 1
        out.append(literal)
        out.append(_print(_Pipeline(inner, value, labels).run()))
    out.append(text[position:])
    return "".join(out)


def _action_end(text: str, index: int) -> int:
    """Index of the `}}` closing an action, skipping quoted strings."""
    while index < len(text):
        char = text[index]
        if char in '"`':
            close = text.find(char, index + 1)
            while char == '"' and close > 0 and text[close - 1] == "\\":
                close = text.find(char, close + 1)
            if close < 0:
                return -1
            index = close + 1
        elif text.startswith("}}", index):
            return index
        else:
            index += 1
    return -1


def _print(result: object) -> str:
    if isinstance(result, float):
        return go_value(result)
    return str(result)


class _Pipeline:
    def __init__(self, source: str, value: float, labels: dict[str, str]):
        self.tokens = self._lex(source)
        self.index = 0
        self.value, self.labels = value, labels

    @staticmethod
    def _lex(source: str) -> list[tuple[str, str]]:
        tokens, position = [], 0
        while position < len(source):
            if source[position:].strip() == "":
                break
            match = _TOKEN.match(source, position)
            if not match or match.end() == position:
                raise TemplateUnsupported(f"cannot read `{source.strip()}`")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            position = match.end()
        return tokens

    def run(self) -> object:
        result = self.pipeline()
        if self.index != len(self.tokens):
            raise TemplateUnsupported(f"unexpected `{self.tokens[self.index][1]}`")
        return result

    def pipeline(self) -> object:
        result = self.command(None)
        while self.peek() == ("symbol", "|"):
            self.index += 1
            result = self.command(result)
        return result

    def command(self, piped: object) -> object:
        kind, text = self.next()
        if kind == "function":
            if text not in FUNCTIONS:
                raise TemplateUnsupported(f"function `{text}`")
            args = []
            while self.peek() is not None and self.peek() not in (("symbol", "|"), ("symbol", ")")):
                args.append(self.operand())
            if piped is not None:
                args.append(piped)
            if len(args) != 1:
                raise TemplateUnsupported(f"`{text}` takes one argument")
            return FUNCTIONS[text](_to_float(args[0]))
        if piped is not None:
            raise TemplateUnsupported("only a function can follow `|`")
        self.index -= 1
        return self.operand()

    def operand(self) -> object:
        kind, text = self.next()
        if kind == "symbol" and text == "(":
            result = self.pipeline()
            if self.next() != ("symbol", ")"):
                raise TemplateUnsupported("unclosed `(`")
            return result
        if kind == "variable":
            if text == "$value":
                return self.value
            if text.startswith("$labels."):
                return self.labels.get(text.split(".", 1)[1], "")  # $labels is a map[string]string: ""
            raise TemplateUnsupported(f"variable `{text}`")
        if kind == "string":
            return text[1:-1] if text.startswith("`") else _unquote(text)
        if kind == "number":
            return int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
        raise TemplateUnsupported(f"`{text}`")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise TemplateUnsupported("incomplete action")
        self.index += 1
        return token


def _unquote(text: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
    out, index, body = [], 0, text[1:-1]
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            if body[index + 1] not in escapes:
                raise TemplateUnsupported(f"escape `\\{body[index + 1]}`")
            out.append(escapes[body[index + 1]])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _to_float(value: object) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError as exc:
            raise TemplateUnsupported(f"cannot convert {value!r} to a number") from exc
    return float(value)  # type: ignore[arg-type]
