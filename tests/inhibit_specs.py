"""Small spec sets for the inhibition and silent-page tests (independent of slo_specs/)."""

from __future__ import annotations

from pathlib import Path

TEAMS = """\
apiVersion: sloforge/v1
kind: Teams
teams:
  shop:
    page:
      pagerduty: {routing_key_file: /etc/alertmanager/secrets/shop-pd}
    ticket:
      slack: {channel: "#shop", api_url_file: /etc/alertmanager/secrets/slack}
"""

# api/availability: the default tiers; api/latency: page-fast looks back further than page-slow
# (so page-slow is the faster page there); api/batch: tickets only.
SERVICE = """\
apiVersion: sloforge/v1
kind: Service
service: api
team: shop
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        errors: sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))
        total: sum(rate(http_requests_total{job="api"}[{{.window}}]))
  - name: latency
    objective: 99
    sli:
      latency:
        histogram: http_request_duration_seconds
        selector: '{job="api"}'
        threshold: 300ms
    alerting:
      page-fast: {long_window: 12h}
  - name: batch
    objective: 99
    sli:
      raw:
        error_ratio: sum(rate(batch_failed_total[{{.window}}])) / sum(rate(batch_total[{{.window}}]))
    alerting:
      page: null
"""


def write_specs(root: Path, teams: str = TEAMS, service: str = SERVICE, extra: dict[str, str] | None = None) -> Path:
    specs = root / "slo_specs"
    specs.mkdir(parents=True, exist_ok=True)
    (specs / "teams.yaml").write_text(teams)
    (specs / "api.yaml").write_text(service)
    for name, text in (extra or {}).items():
        (specs / name).write_text(text)
    return specs
