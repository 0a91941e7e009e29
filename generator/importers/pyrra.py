"""Pyrra `pyrra.dev/v1alpha1` ServiceLevelObjective: ratio, latency, latencyNative, bool_gauge.

Pyrra has no service: the Kubernetes namespace is the service (`default`
without one), the object's name the SLO. `pyrra.dev/<label>` labels become
labels (Pyrra strips the prefix the same way); `pyrra.dev/team` names the team.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from generator.importers.common import (
    ImportBatch,
    ImportedSLO,
    Invalid,
    Skip,
    Unsupported,
    duration_text,
    mapping,
    optional_mapping,
    percent,
    position,
    renamed,
    sloforge_window,
    text,
    usable_labels,
)
from generator.spec.promql import parse_error, vector_selectors
from generator.spec.yaml_source import Document, PathKey

API_VERSION = "pyrra.dev/v1alpha1"
FORMAT = "Pyrra ServiceLevelObjective"
INDICATORS = ("ratio", "latency", "latencyNative", "bool_gauge")


def import_pyrra(document: Document) -> ImportBatch:
    batch = ImportBatch()
    data = document.data
    assert isinstance(data, dict)
    what = "?"
    try:
        if data.get("kind") != "ServiceLevelObjective":
            raise Invalid(("kind",), f"unknown Pyrra kind {data.get('kind')!r}; expected ServiceLevelObjective")
        metadata = optional_mapping(data, "metadata", ())
        raw_name = text(metadata, "name", ("metadata",))
        namespace = text(metadata, "namespace", ("metadata",), required=False) or "default"
        what = f"{namespace}/{raw_name}"
        approximations: list[str] = []
        labels = optional_mapping(metadata, "labels", ("metadata",))
        prefixed = {str(k).removeprefix("pyrra.dev/"): v for k, v in labels.items() if str(k).startswith("pyrra.dev/")}
        team_hint = str(prefixed.pop("team")) if prefixed.get("team") else None
        slo_labels = usable_labels(prefixed, "pyrra.dev/", approximations)
        spec = mapping(data.get("spec"), ("spec",), "spec")
        slo: dict = {"name": renamed(str(raw_name), "SLO", approximations)}
        description = text(spec, "description", ("spec",), required=False)
        if description:
            slo["description"] = description
        if "target" not in spec:
            raise Invalid(("spec",), "required field 'target' is missing")
        target = percent(spec["target"], ("spec", "target"))
        slo["objective"] = int(target) if target == target.to_integral_value() else float(target)
        window = text(spec, "window", ("spec",))
        assert window is not None
        slo["window"] = sloforge_window(window, ("spec", "window"))
        slo["sli"], grouping = _indicator(
            mapping(spec.get("indicator"), ("spec", "indicator"), "indicator"), approximations
        )
        if grouping:
            slo["grouping"] = list(grouping)
        if slo_labels:
            slo["labels"] = slo_labels
        alerting = optional_mapping(spec, "alerting", ("spec",))
        if alerting.get("disabled") is True or alerting.get("burnrates") is False:
            slo["alerting"] = {"page": {"enabled": False}, "ticket": {"enabled": False}}
        if alerting.get("name") or alerting.get("severities"):
            approximations.append("alerting name/severities not kept: sloforge names alerts and sets severity by tier")
        if spec.get("performanceOverAccuracy"):
            approximations.append("performanceOverAccuracy ignored: sloforge always records short windows")
        service = renamed(namespace, "namespace", approximations)
        batch.slos.append(ImportedSLO(FORMAT, position(document, ()), service, slo, {}, team_hint, approximations))
    except Unsupported as exc:
        batch.skips.append(Skip(position(document, exc.path), what, exc.construct))
    except Invalid as exc:
        batch.errors.append(document.error(exc.path, exc.message))
    return batch


def _indicator(indicator: dict, approximations: list[str]) -> tuple[dict, tuple[str, ...]]:
    """sloforge's `sli` block and the grouping labels (one SLO per value, docs/grouping.md)."""
    path: PathKey = ("spec", "indicator")
    given = [name for name in INDICATORS if name in indicator]
    if len(given) != 1:
        unknown = sorted(set(indicator) - set(INDICATORS))
        if unknown:
            raise Unsupported(path + (unknown[0],), f"Pyrra indicator {unknown[0]!r}")
        raise Invalid(path, f"an indicator needs exactly one of {', '.join(INDICATORS)}")
    kind = given[0]
    body = mapping(indicator[kind], path + (kind,), kind)
    path += (kind,)
    grouping = _grouping(body.get("grouping"), path + ("grouping",))
    if kind == "ratio":
        errors, total = _metric(body, "errors", path), _metric(body, "total", path)
        return {"events": {"errors": _rate(errors, grouping), "total": _rate(total, grouping)}}, grouping
    if kind == "bool_gauge":
        metric = text(body, "metric", path)
        assert metric is not None
        _check_selector(metric, path + ("metric",))
        approximations.append("bool_gauge counts samples (each scrape one event), as Pyrra's average does")
        return {"bool_gauge": {"metric": metric.strip()}}, grouping
    if kind == "latency":
        success, total = _metric(body, "success", path), _metric(body, "total", path)
        return _latency(success, total, path, approximations, grouping), grouping
    return _latency_native(body, path, approximations, grouping), grouping


LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _grouping(value: object, path: PathKey) -> tuple[str, ...]:
    """Pyrra's `grouping` labels, checked the way sloforge's spec checks them."""
    if value is None or value == []:
        return ()
    if not isinstance(value, list) or not all(isinstance(label, str) for label in value):
        raise Invalid(path, "grouping must be a list of label names")
    for index, label in enumerate(value):
        if not LABEL_NAME.fullmatch(label):
            raise Invalid(path + (index,), f"grouping label {label!r} is not a Prometheus label name")
        if label.startswith(("slo_", "__")) or label in ("le", "severity", "team", "alertname", "alertstate"):
            raise Unsupported(path + (index,), f"grouping by {label!r}, a label sloforge or Prometheus sets")
    return tuple(dict.fromkeys(value))


def _metric(body: dict, key: str, path: PathKey) -> str:
    block = mapping(body.get(key), path + (key,), key)
    metric = text(block, "metric", path + (key,))
    assert metric is not None
    _check_selector(metric, path + (key, "metric"))
    return metric.strip()


def _check_selector(metric: str, path: PathKey) -> None:
    problem = parse_error(metric)
    if problem:
        raise Invalid(path, f"PromQL does not parse: {problem}")
    if len(vector_selectors(metric)) != 1 or "(" in metric:
        raise Invalid(path, f"expected a series selector, got {metric!r}")


def _rate(selector: str, grouping: tuple[str, ...] = ()) -> str:
    return f"sum{_by(grouping)}(rate({selector}[{{{{.window}}}}]))"


def _by(grouping: tuple[str, ...]) -> str:
    return f" by ({', '.join(grouping)}) " if grouping else ""


def _latency(
    success: str, total: str, path: PathKey, approximations: list[str], grouping: tuple[str, ...] = ()
) -> dict:
    """`X_bucket{..., le="0.3"}` over `X_count{...}`: sloforge's latency kind when the matchers agree."""
    (bucket_name, bucket_matchers), (count_name, count_matchers) = (
        vector_selectors(success)[0],
        vector_selectors(total)[0],
    )
    le = [m for m in bucket_matchers if m[0] == "le"]
    if not bucket_name.endswith("_bucket") or len(le) != 1 or le[0][1] != "=":
        raise Unsupported(path + ("success",), f'latency success metric {success!r} without _bucket and le="..."')
    histogram = bucket_name.removesuffix("_bucket")
    others = sorted(m for m in bucket_matchers if m[0] != "le")
    try:
        threshold = duration_text(Decimal(le[0][2]))
    except (InvalidOperation, ValueError):
        raise Unsupported(path + ("success",), f"latency bound le={le[0][2]!r} is not a number of seconds") from None
    if count_name == f"{histogram}_count" and sorted(count_matchers) == others:
        selector = _selector_text(success)
        return {"latency": {"histogram": histogram, "selector": selector, "threshold": threshold}}
    approximations.append("latency as events (success and total matchers differ)")
    return {"events": {"good": _rate(success, grouping), "total": _rate(total, grouping)}}


def _selector_text(bucket_selector: str) -> str:
    """The `{...}` of a bucket selector without its `le` matcher, as written."""
    braces = re.search(r"\{(.*)\}", bucket_selector)
    if not braces:
        return ""
    parts = [p.strip() for p in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", braces.group(1)) if p.strip()]
    kept = [p for p in parts if not re.match(r"le\s*=", p)]
    return "{" + ",".join(kept) + "}" if kept else ""


def _latency_native(body: dict, path: PathKey, approximations: list[str], grouping: tuple[str, ...] = ()) -> dict:
    total = _metric(body, "total", path)
    latency = text(body, "latency", path)
    assert latency is not None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)(ms|s)\s*", latency)
    if not match:
        raise Unsupported(path + ("latency",), f"latencyNative latency {latency!r} (expected e.g. 200ms or 1s)")
    seconds = Decimal(match.group(1)) / (1000 if match.group(2) == "ms" else 1)
    bound = format(seconds.normalize(), "f")
    rate = f"rate({total}[{{{{.window}}}}])"
    approximations.append("latencyNative as events with histogram_fraction (no generated rule tests for it)")
    return {
        "events": {
            "good": f"sum{_by(grouping)}(histogram_fraction(0, {bound}, {rate}) * histogram_count({rate}))",
            "total": f"sum{_by(grouping)}(histogram_count({rate}))",
        }
    }
