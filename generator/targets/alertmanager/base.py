"""The hand-written Alertmanager config that full-mode renders merge into.

`slo_specs/alertmanager.base.yml` is read by the pipeline while it loads the
model, so its mistakes are reported like spec errors (file:line:col, exit 2,
nothing written). It is copied into rendered/, so literal secrets in it are
errors too. It lives with the Alertmanager renderer because the merge checks
the base against the names that renderer generates (docs/design.md, layers).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from generator.model.slo import Model
from generator.spec.errors import SpecError, SpecErrors
from generator.spec.load import NOT_SPEC_FILES, SpecSet, display_name
from generator.spec.schema import PolicyDoc, TeamsDoc
from generator.spec.secrets import base_config_errors
from generator.spec.yaml_source import Document, parse_documents, read_documents, read_text
from generator.targets.alertmanager.names import DEFAULT_RECEIVER, generated_names


def with_alertmanager_base(model: Model, root: Path) -> Model:
    """The model with the base config's text in its settings; raises SpecErrors for a bad base."""
    found = _base_files(root)
    if not found:
        return model
    display = display_name(found[0], root)
    if len(found) > 1:
        raise SpecErrors([SpecError(display, 1, 1, f"both {' and '.join(p.name for p in found)} exist; keep one")])
    text, read_error = read_text(found[0], display)
    if read_error:
        raise SpecErrors([read_error])
    assert text is not None
    if not text.strip():
        raise SpecErrors([SpecError(display, 1, 1, "the base config is empty; delete it or give at least `route:`")])
    documents, errors = parse_documents(text, display)
    if errors or len(documents) != 1:
        raise SpecErrors(
            errors or [SpecError(display, 1, 1, "expected exactly one YAML document (an Alertmanager config)")]
        )
    document = documents[0]
    errors = check_base(document, generated_names(model))
    if errors:
        raise SpecErrors(errors)
    source = f"{root.resolve().name}/{found[0].name}"  # like Service sources: independent of the working directory
    return replace(model, settings=replace(model.settings, alertmanager_base=text, alertmanager_base_source=source))


# Receiver fields Alertmanager falls back to `global:` for, and refuses the config when neither is set.
RECEIVER_GLOBALS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "slack": (("api_url_file", ("slack_api_url", "slack_api_url_file")),),
    "email": (("smarthost", ("smtp_smarthost",)), ("from_", ("smtp_from",))),
}


def receiver_global_errors(specs: SpecSet, _tiers: object = None) -> list[SpecError]:
    """Slack or email receivers missing a field that only a global could give, with no global to give it.

    In full mode the globals come from the base config (when present and
    readable; its own errors are reported when it is merged). In subtree mode
    sloforge cannot see the including config, so the receiver must set the field.
    """
    subtree = any(doc.model.settings.alertmanager_output == "subtree" for doc in specs.of_kind(PolicyDoc))
    globals_ = {} if subtree else _base_globals(specs.root)
    if globals_ is None:
        return []
    errors = []
    for doc in specs.of_kind(TeamsDoc):
        for team, spec in doc.model.teams.items():
            for notify in ("page", "ticket", "info"):
                receiver = getattr(spec, notify)
                for kind, fields in RECEIVER_GLOBALS.items():
                    if kind == "email" and (subtree or not _base_files(specs.root)):
                        continue  # no base config to check against: the including config may set smtp_*
                    config = getattr(receiver, kind, None) if receiver is not None else None
                    for field, global_keys in fields if config is not None else ():
                        if getattr(config, field) is not None or any(globals_.get(key) for key in global_keys):
                            continue
                        name = field.rstrip("_")
                        fallback = (
                            "sloforge cannot see your config's globals in subtree mode"
                            if subtree
                            else f"or {' or '.join(global_keys)} under `global:` in {NOT_SPEC_FILES[0]}"
                        )
                        errors.append(
                            doc.source.error(
                                ("teams", team, notify, kind),
                                f"{kind} receiver needs {name}, {fallback} (Alertmanager refuses the config otherwise)",
                                at_key=True,
                            )
                        )
    return errors


def _base_files(root: Path) -> list[Path]:
    """The base config files present, a dangling link included (reading it then says so)."""
    return [root / name for name in NOT_SPEC_FILES if os.path.lexists(root / name)]


def _base_globals(root: Path) -> dict | None:
    """`global:` of the base config ({} without a base); None when the base cannot be read."""
    found = _base_files(root)
    if not found:
        return {}
    documents, errors = read_documents(found[0], found[0].name)
    if errors or len(documents) != 1 or not isinstance(documents[0].data, dict):
        return None
    section = documents[0].data.get("global")
    return section if isinstance(section, dict) else {}


def check_base(document: Document, generated: dict[str, set[str]]) -> list[SpecError]:
    data = document.data
    if not isinstance(data, dict):
        return [document.error((), "an Alertmanager config must be a mapping (global, route, receivers, ...)")]
    errors = base_config_errors(document)
    route = data.get("route")
    if route is not None:
        if not isinstance(route, dict):
            errors.append(document.error(("route",), "route must be a mapping"))
        else:
            if not isinstance(route.get("receiver"), str):
                errors.append(document.error(("route",), "the root route needs a default `receiver`", at_key=True))
            if not isinstance(route.get("routes", []), list):
                errors.append(document.error(("route", "routes"), "routes must be a list of routes"))
    for key, kind in (("receivers", "receivers"), ("time_intervals", "time_intervals")):
        items = data.get(key, [])
        if not isinstance(items, list):
            errors.append(document.error((key,), f"{key} must be a list"))
            continue
        taken = generated[kind] | ({DEFAULT_RECEIVER} if key == "receivers" else set())
        for index, item in enumerate(items):
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                errors.append(document.error((key, index), f"{key}[{index}] needs a `name`"))
            elif name in taken:
                errors.append(
                    document.error(
                        (key, index, "name"),
                        f"{kind[:-1].replace('_', ' ')} name {name!r} is generated by sloforge from the Teams spec; "
                        "rename it in the base config",
                    )
                )
    for key in ("templates", "inhibit_rules"):
        if not isinstance(data.get(key, []), list):
            errors.append(document.error((key,), f"{key} must be a list"))
    return errors
