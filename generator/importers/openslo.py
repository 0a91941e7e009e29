"""OpenSLO `openslo/v1` and `openslo/v1alpha` SLOs with Prometheus data sources.

Each objective becomes one sloforge SLO. `indicatorRef`, `metricSourceRef`
and alert policy / condition references resolve against the documents of the
same import. Constructs sloforge cannot express (other data sources,
calendar windows, timeslices, thresholdMetric) skip the SLO and say which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
    sloforge_name,
    sloforge_window,
    text,
    usable_labels,
    window_query,
)
from generator.model.policy import DEFAULT_TIERS
from generator.spec.yaml_source import Document, PathKey
from generator.units.durations import DurationError, parse_duration

VERSIONS = ("openslo/v1", "openslo/v1alpha")
UNIT_SUFFIX = {"day": "d", "week": "w", "hour": "h", "month": None, "quarter": None, "year": None}


@dataclass
class Catalog:
    """Referenced OpenSLO documents by kind and name, with their source."""

    by_kind: dict[str, dict[str, tuple[Document, PathKey, dict]]] = field(default_factory=dict)

    def add(self, document: Document, path: PathKey, data: dict) -> None:
        name = data.get("metadata", {}).get("name") if isinstance(data.get("metadata"), dict) else None
        if isinstance(name, str):
            self.by_kind.setdefault(str(data.get("kind")), {}).setdefault(name, (document, path, data))

    def get(self, kind: str, name: str) -> tuple[Document, PathKey, dict] | None:
        return self.by_kind.get(kind, {}).get(name)


def objects(document: Document) -> list[tuple[PathKey, dict]]:
    """The OpenSLO objects of a document: the mapping itself, or each item of a list."""
    data = document.data
    if isinstance(data, dict):
        return [((), data)]
    if isinstance(data, list):
        return [((index,), item) for index, item in enumerate(data) if isinstance(item, dict)]
    return []


def is_openslo(data: object) -> bool:
    return isinstance(data, dict) and str(data.get("apiVersion", "")).startswith(("openslo/", "openslo.com/"))


def import_openslo(documents: list[Document]) -> ImportBatch:
    batch = ImportBatch()
    catalog = Catalog()
    for document in documents:
        for path, data in objects(document):
            catalog.add(document, path, data)
    for document in documents:
        for path, data in objects(document):
            version = data.get("apiVersion")
            if version not in VERSIONS and data.get("kind") == "SLO":
                batch.skips.append(
                    Skip(position(document, path + ("apiVersion",)), _label(data), f"OpenSLO version {version!r}")
                )
                continue
            if version not in VERSIONS:
                continue
            try:
                _check_object(data, path)
            except Invalid as exc:
                batch.errors.append(document.error(exc.path, exc.message))
                continue
            if data.get("kind") != "SLO":
                continue  # SLI, DataSource, AlertPolicy, Service ...: read through references
            try:
                _slo(document, path, data, catalog, batch)
            except Invalid as exc:
                batch.errors.append(document.error(exc.path, exc.message))
            except Unsupported as exc:
                batch.skips.append(Skip(position(document, exc.path), _label(data), exc.construct))
    return batch


KINDS = ("SLO", "SLI", "Service", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget")
ALPHA_KINDS = ("SLO", "Service")


def _check_object(data: dict, path: PathKey) -> None:
    """The structure OpenSLO requires of every object, so invalid files fail loudly even when unused."""
    kind = data.get("kind")
    kinds = ALPHA_KINDS if data.get("apiVersion") == "openslo/v1alpha" else KINDS
    if kind not in kinds:
        raise Invalid(
            path + ("kind",), f"unknown {data.get('apiVersion')} kind {kind!r}; expected one of {', '.join(kinds)}"
        )
    metadata = mapping(data.get("metadata"), path + ("metadata",), "metadata")
    name = text(metadata, "name", path + ("metadata",))
    if not re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", str(name)):
        raise Invalid(
            path + ("metadata", "name"), f"metadata.name {name!r} is not a valid name (letters, digits, -._; no spaces)"
        )
    if kind == "Service" and data.get("spec") is None:
        return  # a Service needs no spec
    spec = mapping(data.get("spec"), path + ("spec",), "spec")
    sp = path + ("spec",)
    if kind == "SLI" and isinstance(spec.get("ratioMetric"), dict):
        ratio = spec["ratioMetric"]
        if "good" in ratio and "bad" in ratio:
            raise Invalid(sp + ("ratioMetric",), "ratioMetric takes good or bad, not both")
    if kind == "AlertPolicy":
        for index, condition in enumerate(items(spec, "conditions", sp)):
            if not isinstance(condition, dict) or not (
                "conditionRef" in condition or condition.get("kind") == "AlertCondition"
            ):
                raise Invalid(
                    sp + ("conditions", index), "a condition needs conditionRef or an inline kind: AlertCondition"
                )
        for index, target in enumerate(items(spec, "notificationTargets", sp)):
            if not isinstance(target, dict) or not (
                "targetRef" in target or target.get("kind") == "AlertNotificationTarget"
            ):
                raise Invalid(
                    sp + ("notificationTargets", index),
                    "a notification target needs targetRef or an inline kind: AlertNotificationTarget",
                )


def _label(data: dict) -> str:
    metadata = data.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    return f"{data.get('kind', '?')} {metadata.get('name', '?')}"


def _slo(document: Document, path: PathKey, data: dict, catalog: Catalog, batch: ImportBatch) -> None:
    alpha = data["apiVersion"] == "openslo/v1alpha"
    fmt = f"OpenSLO {data['apiVersion']}"
    metadata = mapping(data.get("metadata"), path + ("metadata",), "metadata")
    name = text(metadata, "name", path + ("metadata",))
    spec = mapping(data.get("spec"), path + ("spec",), "spec")
    sp = path + ("spec",)
    notes: list[str] = []
    service = renamed(str(text(spec, "service", sp)), "service", notes)
    budgeting = spec.get("budgetingMethod", "Occurrences")
    if budgeting != "Occurrences":
        raise Unsupported(sp + ("budgetingMethod",), f"budgetingMethod {budgeting} (sloforge counts occurrences)")
    window = _window(spec, sp, alpha, notes)
    labels, team_hint = _labels(metadata, notes)
    objectives = items(spec, "objectives", sp)
    if not objectives:
        raise Invalid(sp + ("objectives",), "an SLO needs at least one objective")
    for index, objective in enumerate(objectives):
        if isinstance(objective, dict) and "compositeWeight" in objective:
            raise Unsupported(
                sp + ("objectives", index, "compositeWeight"), "composite SLO (objectives with compositeWeight)"
            )
    indicator = None if alpha else _indicator(document, spec, sp, catalog)
    tiers = {} if alpha else _alert_tiers(document, spec, sp, catalog, window, notes)
    base_name = renamed(str(name), "SLO", notes)
    for index, objective in enumerate(objectives):
        op = sp + ("objectives", index)
        approximations = list(notes)
        try:
            objective = mapping(objective, op, "an objective")
            if alpha:
                sli = _alpha_sli(objective, op, approximations)
            else:
                assert indicator is not None
                sli = _sli(*indicator, approximations)
            slo: dict = {"name": base_name if len(objectives) == 1 else _objective_name(base_name, objective, index)}
            description = text(spec, "description", sp, required=False)
            if description:
                slo["description"] = description
            slo["objective"] = _objective(objective, op)
            slo["window"] = window
            slo["sli"] = sli
            if labels:
                slo["labels"] = labels
            if tiers:
                slo["alerting"] = tiers
        except Unsupported as exc:
            batch.skips.append(Skip(position(document, exc.path), f"{service}/{name} objective {index}", exc.construct))
            continue
        batch.slos.append(ImportedSLO(fmt, position(document, op), service, slo, {}, team_hint, approximations))


def _objective_name(base: str, objective: dict, index: int) -> str:
    display = objective.get("displayName") or objective.get("name")
    suffix = sloforge_name(str(display)) if display else str(index)  # Sloth's naming: <name>-<index>
    return f"{base}-{suffix}"


def _objective(objective: dict, path: PathKey) -> int | float:
    if "target" in objective:
        value = percent(objective["target"], path + ("target",), ratio=True)
    elif "targetPercent" in objective:
        value = percent(objective["targetPercent"], path + ("targetPercent",))
    else:
        raise Invalid(path, "an objective needs target (0..1) or targetPercent")
    if objective.get("timeSliceTarget") is not None or objective.get("timeSliceWindow") is not None:
        raise Unsupported(path + ("timeSliceTarget",), "timeslice objectives (timeSliceTarget/timeSliceWindow)")
    return int(value) if value == value.to_integral_value() else float(value)


def _window(spec: dict, path: PathKey, alpha: bool, notes: list[str]) -> str:
    key = "timeWindows" if alpha else "timeWindow"
    windows = items(spec, key, path)
    if not windows:
        return "30d"
    wp = path + (key, 0)
    window = mapping(windows[0], wp, "a time window")
    if len(windows) > 1:
        raise Unsupported(path + (key, 1), "several time windows")
    if window.get("calendar") is not None or window.get("isRolling") is False:
        raise Unsupported(wp, "calendar-aligned time window (sloforge windows roll)")
    if alpha:
        unit = str(window.get("unit", "")).lower()
        suffix = UNIT_SUFFIX.get(unit)
        if suffix is None:
            raise Unsupported(wp + ("unit",), f"time window unit {window.get('unit')!r}")
        return sloforge_window(f"{window.get('count')}{suffix}", wp)
    duration = str(text(window, "duration", wp)).strip()
    months = re.fullmatch(r"(\d+)M", duration)
    if months:
        notes.append(f"rolling window {duration} as {int(months.group(1)) * 30}d")
        duration = f"{int(months.group(1)) * 30}d"
    return sloforge_window(duration, wp + ("duration",))


def _labels(metadata: dict, notes: list[str]) -> tuple[dict[str, str], str | None]:
    raw = optional_mapping(metadata, "labels", ())
    flat = {k: ",".join(str(x) for x in v) if isinstance(v, list) else v for k, v in raw.items()}
    team = raw.get("team")
    team_hint = str(team[0] if isinstance(team, list) and team else team) if team else None
    return usable_labels({k: v for k, v in flat.items() if k != "team"}, "SLO", notes), team_hint


def _indicator(
    document: Document, spec: dict, path: PathKey, catalog: Catalog
) -> tuple[Document, PathKey, dict, Catalog]:
    if "indicator" in spec:
        indicator = mapping(spec["indicator"], path + ("indicator",), "indicator")
        return (
            document,
            path + ("indicator", "spec"),
            mapping(indicator.get("spec"), path + ("indicator",), "spec"),
            catalog,
        )
    ref = text(spec, "indicatorRef", path, required=False)
    if ref is None:
        raise Invalid(path, "an SLO needs indicator or indicatorRef")
    found = catalog.get("SLI", ref)
    if found is None:
        raise Invalid(path + ("indicatorRef",), f"indicatorRef {ref!r}: no SLI document of that name in the input")
    sli_document, sli_path, sli = found
    return sli_document, sli_path + ("spec",), mapping(sli.get("spec"), sli_path, "spec"), catalog


def _sli(document: Document, path: PathKey, spec: dict, catalog: Catalog, approximations: list[str]) -> dict:
    if "thresholdMetric" in spec:
        raise Unsupported(path + ("thresholdMetric",), "thresholdMetric SLI (sloforge needs good/bad/total events)")
    ratio = mapping(spec.get("ratioMetric"), path + ("ratioMetric",), "ratioMetric")
    rp = path + ("ratioMetric",)
    counter = ratio.get("counter") is True
    if "raw" in ratio:
        raw_type = ratio.get("rawType", "success")
        query = _query(ratio["raw"], rp + ("raw",), catalog)
        ratio_query = window_query(query, rp + ("raw",), approximations)
        if raw_type == "success":
            ratio_query = f"1 - ({ratio_query})"
        elif raw_type != "failure":
            raise Invalid(rp + ("rawType",), f"rawType {raw_type!r}; expected success or failure")
        return {"raw": {"error_ratio": ratio_query}}
    total = window_query(
        _query(ratio.get("total"), rp + ("total",), catalog), rp + ("total",), approximations, counter=counter
    )
    if "good" in ratio:
        good = _query(ratio["good"], rp + ("good",), catalog)
        return {"events": {"good": window_query(good, rp + ("good",), approximations, counter=counter), "total": total}}
    if "bad" in ratio:
        bad = _query(ratio["bad"], rp + ("bad",), catalog)
        return {"events": {"errors": window_query(bad, rp + ("bad",), approximations, counter=counter), "total": total}}
    raise Invalid(rp, "ratioMetric needs good or bad beside total")


def _query(block: object, path: PathKey, catalog: Catalog) -> str:
    block = mapping(block, path, "a metric")
    source = mapping(block.get("metricSource"), path + ("metricSource",), "metricSource")
    sp = path + ("metricSource",)
    kind = source.get("type")
    ref = source.get("metricSourceRef")
    if kind is None and ref is not None:
        found = catalog.get("DataSource", str(ref))
        kind = found[2].get("spec", {}).get("type") if found and isinstance(found[2].get("spec"), dict) else None
    if str(kind).lower() != "prometheus":
        raise Unsupported(sp + ("type",), f"data source type {kind!r} (sloforge reads Prometheus only)")
    spec = mapping(source.get("spec"), sp + ("spec",), "spec")
    query = spec.get("query", spec.get("promql"))
    if not isinstance(query, str):
        raise Invalid(sp + ("spec",), "a Prometheus metric source needs spec.query")
    return query


def _alpha_sli(objective: dict, path: PathKey, approximations: list[str]) -> dict:
    if "ratioMetrics" not in objective:
        raise Unsupported(path, "v1alpha objective without ratioMetrics (thresholdMetric)")
    ratio = mapping(objective["ratioMetrics"], path + ("ratioMetrics",), "ratioMetrics")
    rp = path + ("ratioMetrics",)
    counter = ratio.get("counter") is True or ratio.get("incremental") is True
    queries = {}
    for key in ("good", "bad", "total"):
        if key in ratio:
            block = mapping(ratio[key], rp + (key,), key)
            if str(block.get("source", "")).lower() != "prometheus":
                raise Unsupported(
                    rp + (key, "source"), f"data source {block.get('source')!r} (sloforge reads Prometheus only)"
                )
            query = text(block, "query", rp + (key,))
            queries[key] = window_query(str(query), rp + (key, "query"), approximations, counter=counter)
    if "total" not in queries or ("good" in queries) == ("bad" in queries):
        raise Invalid(rp, "ratioMetrics needs total and one of good or bad")
    if "good" in queries:
        return {"events": {"good": queries["good"], "total": queries["total"]}}
    return {"events": {"errors": queries["bad"], "total": queries["total"]}}


def _alert_tiers(
    document: Document, spec: dict, path: PathKey, catalog: Catalog, window: str, notes: list[str]
) -> dict:
    """Burn-rate conditions whose lookback window is a tier's long window tune that tier."""
    tiers: dict = {}
    slo_window = parse_duration(window)
    for index, policy in enumerate(items(spec, "alertPolicies", path)):
        pp = path + ("alertPolicies", index)
        ref_key = next((k for k in ("alertPolicyRef", "targetRef") if isinstance(policy, dict) and k in policy), None)
        if isinstance(policy, str) or ref_key:
            ref = policy if isinstance(policy, str) else str(policy[ref_key])
            found = catalog.get("AlertPolicy", ref)
            if found is None:
                notes.append(f"alert policy {ref!r} not in the input: sloforge's default tiers kept")
                continue
            policy = found[2]
        policy_spec = mapping(mapping(policy, pp, "an alert policy").get("spec", {}), pp, "spec")
        for condition in items(policy_spec, "conditions", pp):
            if isinstance(condition, dict) and "conditionRef" in condition:
                found = catalog.get("AlertCondition", str(condition["conditionRef"]))
                condition = found[2] if found else None
            body = condition.get("spec", {}).get("condition") if isinstance(condition, dict) else None
            if not isinstance(body, dict) or body.get("kind") != "burnrate":
                notes.append("alert condition that is not a resolvable burnrate condition: not mapped")
                continue
            try:
                lookback = parse_duration(str(body.get("lookbackWindow")))
                factor = float(body["threshold"])
            except (DurationError, KeyError, TypeError, ValueError):
                notes.append("burnrate condition without a valid lookbackWindow and threshold: not mapped")
                continue
            tier = next((t for t in DEFAULT_TIERS if t.long_window == lookback), None)
            if tier is None:
                notes.append(
                    f"burnrate condition over {body.get('lookbackWindow')} not mapped: no tier has that long window"
                )
                continue
            share = factor * lookback.millis / slo_window.millis
            if not 0 < share <= 1:
                notes.append(f"burnrate condition x{factor} over {lookback} not mapped: budget share {share:g}")
                continue
            fields: dict = {"budget_share": round(share, 6)}
            if body.get("alertAfter"):
                fields["for"] = str(body["alertAfter"])
            tiers[tier.name] = fields
            notes.append(f"burnrate x{factor:g} over {lookback} mapped to tier {tier.name}")
    return tiers
