"""Deterministic YAML text: insertion order kept, multi-line strings as blocks.

Rendering 5,000 SLOs spends most of its time in PyYAML's representer, so the
plain shapes we emit (mappings, lists, strings, numbers) are written by a
small emitter here; any scalar it is not sure about is quoted by PyYAML
itself. `tests/test_yaml_text.py` holds it to byte-identical output.
"""

from __future__ import annotations

import re
from functools import lru_cache

import yaml
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

_Base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_RESOLVER = Resolver()
_STR_TAG = "tag:yaml.org,2002:str"
# Plain scalars: no indicator first, no ": " or " #", printable ASCII only.
_PLAIN = re.compile(r"[A-Za-z0-9_/(.$\\+=~^<;][\x20-\x7e]*")
_UNSAFE_INSIDE = (": ", " #", "\t")


class _Dumper(_Base):  # type: ignore[valid-type,misc]
    def ignore_aliases(self, data: object) -> bool:
        return True  # no &id001 anchors: every block reads on its own


def go_reads_as_number(value: str) -> bool:
    """Text that Go's YAML decoders (kubectl's sigs.k8s.io/yaml, yaml.v3) resolve to a number.

    PyYAML follows YAML 1.1, where `1e3`, `0o17` or `+inf` stay strings, so it
    would write them plain; kubectl would turn a PrometheusRule label `1e3`
    into the number 1000 and the API server refuse it.
    """
    if not value or value[0] not in "0123456789+-.":
        return False
    text = value.replace("_", "")
    try:
        float(text)
        return True
    except ValueError:
        pass
    try:
        int(text, 0)
        return True
    except ValueError:
        pass
    if text.lstrip("+-").lower().startswith("0x"):
        try:
            float.fromhex(text)
            return True
        except ValueError:
            return False
    return False


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else ("'" if go_reads_as_number(value) else None)
    return dumper.represent_scalar(_STR_TAG, value, style=style)


_Dumper.add_representer(str, _represent_str)


def pyyaml_dump(data: object) -> str:
    """The reference emitter (slow, exact); also the fallback for odd scalars."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 30, default_flow_style=False)


@lru_cache(maxsize=65536)
def _quoted(value: str) -> str:
    text = pyyaml_dump(value)
    return text[: -len("\n...\n")] if text.endswith("\n...\n") else text.rstrip("\n")


def _is_plain(value: str) -> bool:
    return (
        bool(_PLAIN.fullmatch(value))
        and not value.endswith((" ", ":"))
        and not any(bad in value for bad in _UNSAFE_INSIDE)
        and not go_reads_as_number(value)
        and _RESOLVER.resolve(ScalarNode, value, (True, False)) == _STR_TAG
    )


@lru_cache(maxsize=1 << 16)
def _scalar_str(value: str) -> str:
    return value if _is_plain(value) else _quoted(value)


def _scalar(value: object) -> str:
    if isinstance(value, str):
        return _scalar_str(value)
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return _quoted(value)
    raise TypeError(f"cannot emit {type(value).__name__} as YAML")


def _block(value: str, indent: str) -> str | None:
    """`|` / `|-` block for multi-line text, or None when PyYAML should decide."""
    body = value[:-1] if value.endswith("\n") else value
    if (
        not body
        or body.endswith("\n")
        or body[0] == " "
        or any(line != line.rstrip() or not line.isprintable() for line in body.split("\n"))
    ):
        return None
    header = "|" if value.endswith("\n") else "|-"
    return header + "".join(f"\n{indent}{line}" if line else "\n" for line in body.split("\n"))


def _emit(data: object, indent: str, out: list[str]) -> None:
    """Append block-style lines; lists under a key sit at the key's indent (libyaml style)."""
    if isinstance(data, dict):
        for key, value in data.items():
            prefix = f"{indent}{_scalar(key)}:"
            if isinstance(value, dict) and value:
                out.append(prefix)
                _emit(value, indent + "  ", out)
            elif isinstance(value, list) and value:
                out.append(prefix)
                _emit(value, indent, out)
            else:
                out.append(f"{prefix} {_value(value, indent + '  ')}")
        return
    for item in data:  # type: ignore[attr-defined]
        if isinstance(item, dict) and item:
            lines: list[str] = []
            _emit(item, indent + "  ", lines)
            out.append(f"{indent}- {lines[0][len(indent) + 2 :]}")
            out.extend(lines[1:])
        elif isinstance(item, list) and item:
            raise TypeError("nested lists are emitted by PyYAML")
        else:
            out.append(f"{indent}- {_value(item, indent + '  ')}")


def _value(value: object, block_indent: str) -> str:
    if isinstance(value, dict | list):
        if value:
            raise TypeError("unexpected collection")
        return "{}" if isinstance(value, dict) else "[]"
    if isinstance(value, str) and "\n" in value:
        block = _block(value, block_indent)
        if block is None:
            raise TypeError("odd multi-line text is emitted by PyYAML")
        return block
    return _scalar(value)


def fast_dump(data: object) -> str:
    out: list[str] = []
    _emit(data, "", out)
    return "\n".join(out) + "\n"


def dump_yaml(data: object, header: str = "") -> str:
    try:
        body = fast_dump(data) if isinstance(data, dict | list) and data else pyyaml_dump(data)
    except TypeError:
        body = pyyaml_dump(data)
    comments = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comments + body
