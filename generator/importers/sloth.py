"""Sloth specs: `prometheus/v1`, the `sloth.slok.dev/v1` PrometheusServiceLevel CRD, and AlertWindows.

Sloth's page alert is its two page windows (quick and slow) as one alert;
sloforge has a tier for each, so Sloth's page maps to sloforge's `page` class
(page-fast + page-slow), ticket likewise. Alert names stay sloforge's.
"""

from __future__ import annotations

import re
from decimal import Decimal

from generator.importers.common import (
    ImportBatch,
    ImportedSLO,
    Invalid,
    Skip,
    Unsupported,
    items,
    mapping,
    optional_mapping,
    percent,
    position,
    renamed,
    sloforge_window,
    text,
    usable_labels,
    window_query,
)
from generator.spec.yaml_source import Document, PathKey

PLAIN_VERSION = "prometheus/v1"
CRD_API_VERSION = "sloth.slok.dev/v1"
# SLO plugins whose effect sloforge already has (or that change nothing it renders).
HARMLESS_SLO_PLUGINS = {
    "sloth.dev/core/debug/v1": "",  # only logs: nothing to approximate
    "sloth.dev/contrib/denominator_corrected_rules/v1": (
        "denominator-corrected plugin dropped: sloforge's long windows are already traffic weighted"
    ),
}
SLOTH_TIERS = {("page", "quick"): "page-fast", ("page", "slow"): "page-slow"}
SLOTH_TIERS |= {("ticket", "quick"): "ticket-fast", ("ticket", "slow"): "ticket-slow"}


def is_sloth(data: dict) -> bool:
    return "version" in data and "apiVersion" not in data or data.get("apiVersion") == CRD_API_VERSION


def import_sloth(document: Document) -> ImportBatch:
    batch = ImportBatch()
    data = document.data
    assert isinstance(data, dict)
    try:
        if "version" in data and "apiVersion" not in data:
            if data.get("version") != PLAIN_VERSION:
                raise Invalid(("version",), f"unknown Sloth version {data.get('version')!r}; expected {PLAIN_VERSION}")
            _service(document, data, (), "Sloth prometheus/v1", camel=False, batch=batch)
        elif data.get("kind") == "PrometheusServiceLevel":
            spec = mapping(data.get("spec"), ("spec",), "spec")
            _service(document, spec, ("spec",), "Sloth PrometheusServiceLevel", camel=True, batch=batch)
        elif data.get("kind") == "AlertWindows":
            try:
                _alert_windows(document, data, batch)
            except Unsupported as exc:
                raise Invalid(exc.path, f"AlertWindows: {exc.construct}") from None
        else:
            raise Invalid(
                ("kind",), f"unknown Sloth kind {data.get('kind')!r}; expected PrometheusServiceLevel or AlertWindows"
            )
    except Invalid as exc:
        batch.errors.append(document.error(exc.path, exc.message))
    return batch


def _key(camel: bool, snake: str) -> str:
    if not camel:
        return snake
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def _service(document: Document, spec: dict, base: PathKey, fmt: str, *, camel: bool, batch: ImportBatch) -> None:
    raw_service = text(spec, "service", base)
    assert raw_service is not None
    notes: list[str] = []
    service = renamed(raw_service, "service", notes)
    raw_labels = optional_mapping(spec, "labels", base)
    team_hint = next((str(raw_labels[k]) for k in ("team", "owner") if raw_labels.get(k)), None)
    service_labels = usable_labels({k: v for k, v in raw_labels.items() if k != "team"}, "service", notes)
    service_plugins = _plugin_chain(spec, _key(camel, "slo_plugins"), base)
    slos = items(spec, "slos", base)
    if not slos:
        raise Invalid(base + ("slos",), "a Sloth spec needs at least one SLO under slos:")
    for index, item in enumerate(slos):
        path = base + ("slos", index)
        approximations = list(notes)
        try:
            slo_data = mapping(item, path, "an SLO")
            name = text(slo_data, "name", path)
            assert name is not None
            plugins = service_plugins + _plugin_chain(slo_data, "plugins", path)
            slo = _slo(slo_data, path, name, camel, approximations)
            for plugin_path, plugin_id in plugins:
                if plugin_id not in HARMLESS_SLO_PLUGINS:
                    raise Unsupported(plugin_path, f"Sloth SLO plugin {plugin_id!r}")
                if HARMLESS_SLO_PLUGINS[plugin_id]:
                    approximations.append(HARMLESS_SLO_PLUGINS[plugin_id])
        except Unsupported as exc:
            what = f"{raw_service}/{item.get('name', index) if isinstance(item, dict) else index}"
            batch.skips.append(Skip(position(document, exc.path), what, exc.construct))
            continue
        except Invalid as exc:
            batch.errors.append(document.error(exc.path, exc.message))
            continue
        batch.slos.append(
            ImportedSLO(fmt, position(document, path), service, slo, service_labels, team_hint, approximations)
        )
        hints = _routing_hints(slo_data, camel)
        if hints:
            batch.routing_hints.setdefault(team_hint or "", []).extend(
                h for h in hints if h not in batch.routing_hints.get(team_hint or "", [])
            )


def _plugin_chain(parent: dict, key: str, path: PathKey) -> list[tuple[PathKey, str]]:
    block = parent.get(key)
    if block is None:
        return []
    block = mapping(block, path + (key,), key)
    found = []
    for index, plugin in enumerate(items(block, "chain", path + (key,))):
        plugin_path = path + (key, "chain", index)
        plugin_id = text(mapping(plugin, plugin_path, "a plugin"), "id", plugin_path)
        found.append((plugin_path, str(plugin_id)))
    return found


def _slo(data: dict, path: PathKey, name: str, camel: bool, approximations: list[str]) -> dict:
    slo: dict = {"name": renamed(name, "SLO", approximations)}
    description = text(data, "description", path, required=False)
    if description:
        slo["description"] = description
    if "objective" not in data:
        raise Invalid(path, "required field 'objective' is missing")
    slo["objective"] = _number(percent(data["objective"], path + ("objective",)))
    slo["window"] = "30d"
    slo["sli"] = _sli(mapping(data.get("sli"), path + ("sli",), "sli"), path + ("sli",), camel, approximations)
    labels = usable_labels(optional_mapping(data, "labels", path), "SLO", approximations)
    alerting = optional_mapping(data, "alerting", path)
    alert_path = path + ("alerting",)
    if alerting.get("name"):
        approximations.append(
            f"alert name {alerting['name']!r} not kept: sloforge names alerts by tier (SLOBurnRatePageFast, ...)"
        )
    alert_labels = usable_labels(optional_mapping(alerting, "labels", alert_path), "alert", approximations)
    annotations = _annotations(optional_mapping(alerting, "annotations", alert_path), approximations)
    tiers: dict = {}
    for kind in ("page", "ticket"):
        block = optional_mapping(alerting, _key(camel, f"{kind}_alert"), alert_path)
        if block.get("disable") is True:
            tiers[kind] = {"enabled": False}
            continue
        block_path = alert_path + (_key(camel, f"{kind}_alert"),)
        raw_tier_labels = {**alert_labels, **optional_mapping(block, "labels", block_path)}
        tier: dict = {}  # Sloth's alerts have no `for`; neither have sloforge's default tiers
        severity = raw_tier_labels.get("severity")
        if isinstance(severity, str) and re.fullmatch(r"[a-z][a-z0-9_-]*", severity):
            tier["severity"] = raw_tier_labels.pop("severity")  # sloforge's tiers carry their own severity
        tier_labels = usable_labels(raw_tier_labels, f"{kind} alert", approximations)
        for key, value in _annotations(optional_mapping(block, "annotations", block_path), approximations).items():
            if annotations.get(key, value) != value:
                approximations.append(f"{kind} alert annotation {key!r} dropped: differs from the other alert's")
            else:
                annotations[key] = value
        if tier_labels:
            tier["labels"] = tier_labels
        tiers[kind] = tier
    if labels:
        slo["labels"] = labels
    if annotations:
        slo["annotations"] = annotations
    if tiers:
        slo["alerting"] = tiers
    return slo


def _annotations(raw: dict, approximations: list[str]) -> dict[str, str]:
    kept = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key.replace("_", "a").isalnum():
            approximations.append(f"annotation {key!r} dropped: not a valid annotation name")
            continue
        kept[key] = "" if value is None else str(value)
    return kept


def _sli(sli: dict, path: PathKey, camel: bool, approximations: list[str]) -> dict:
    if "plugin" in sli:
        plugin = mapping(sli["plugin"], path + ("plugin",), "plugin")
        raise Unsupported(path + ("plugin",), f"Sloth SLI plugin {plugin.get('id')!r}")
    if "events" in sli:
        events = mapping(sli["events"], path + ("events",), "events")
        ep = path + ("events",)
        error_key, total_key = _key(camel, "error_query"), _key(camel, "total_query")
        errors, total = text(events, error_key, ep), text(events, total_key, ep)
        assert errors is not None and total is not None
        return {
            "events": {
                "errors": window_query(errors, ep + (error_key,), approximations),
                "total": window_query(total, ep + (total_key,), approximations),
            }
        }
    if "raw" in sli:
        raw = mapping(sli["raw"], path + ("raw",), "raw")
        key = _key(camel, "error_ratio_query")
        query = text(raw, key, path + ("raw",))
        assert query is not None
        return {"raw": {"error_ratio": window_query(query, path + ("raw", key), approximations)}}
    raise Invalid(path, "an SLI needs one of events, raw or plugin")


def _routing_hints(slo: dict, camel: bool) -> list[str]:
    alerting = slo.get("alerting") if isinstance(slo.get("alerting"), dict) else {}
    hints = []
    for kind in ("page", "ticket"):
        block = alerting.get(_key(camel, f"{kind}_alert")) if isinstance(alerting, dict) else None
        labels = block.get("labels") if isinstance(block, dict) else None
        if isinstance(labels, dict):
            hints += [f"{kind}: {key}={value}" for key, value in sorted(labels.items(), key=str) if key != "severity"]
    return hints


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _alert_windows(document: Document, data: dict, batch: ImportBatch) -> None:
    """Sloth AlertWindows -> Policy tiers (budget shares are window independent in sloforge)."""
    spec = mapping(data.get("spec"), ("spec",), "spec")
    period = text(spec, "sloPeriod", ("spec",))
    batch.sloth_periods.append(sloforge_window(str(period), ("spec", "sloPeriod")))
    for kind in ("page", "ticket"):
        block = mapping(spec.get(kind), ("spec", kind), kind)
        for speed in ("quick", "slow"):
            path = ("spec", kind, speed)
            window = mapping(block.get(speed), path, speed)
            share = percent(window.get("errorBudgetPercent"), path + ("errorBudgetPercent",))
            batch.policy_tiers[SLOTH_TIERS[(kind, speed)]] = {
                "long_window": text(window, "longWindow", path),
                "short_window": text(window, "shortWindow", path),
                "budget_share": _number(share / 100),
            }
    batch.policy_notes.append(
        f"tiers from Sloth AlertWindows {document.file} (sloPeriod {period}); "
        "Sloth picks these windows by SLO period, sloforge applies them to every SLO"
    )
