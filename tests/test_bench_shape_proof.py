"""The shape-proof prototype cuts a service's tests down to one SLO without losing or borrowing anything."""

from __future__ import annotations

from bench.shape_proof import leaf_test, one_slo_tests, owns

DOCUMENT = {
    "rule_files": ["../rules/svc-0000.yaml"],
    "evaluation_interval": "1m",
    "tests": [
        {
            "name": "svc-0000 full outage: page-fast fires",
            "interval": "1m",
            "input_series": [
                {"series": 'http_requests_total{code="500",job="j0"}', "values": "0+0x59 0+4800x2"},
                {"series": 'http_requests_total{code="500",job="j10"}', "values": "0+0x59"},
                {"series": 'probe_success{job="blackbox",target="t3"}', "values": "1x60"},
            ],
            "alert_rule_test": [
                {
                    "eval_time": "59m",
                    "alertname": "SLOBurnRatePageFast",
                    "exp_alerts": [
                        {"exp_labels": {"slo_name": "slo-0", "slo_service": "svc-0000"}},
                        {"exp_labels": {"slo_name": "slo-3", "slo_service": "svc-0000"}},
                    ],
                }
            ],
            "promql_expr_test": [
                {"expr": 'slo:sli_error:ratio_rate1h{slo_name="slo-0"}', "eval_time": "1h", "exp_samples": []},
                {"expr": 'slo:sli_error:ratio_rate1h{slo_name="slo-3"}', "eval_time": "1h", "exp_samples": []},
            ],
        }
    ],
}


def test_a_cut_keeps_exactly_one_slos_inputs_and_expectations_and_points_at_its_own_rules():
    cut = one_slo_tests(DOCUMENT, 0, "../rules/one-0.rules")
    (test,) = cut["tests"]
    assert cut["rule_files"] == ["../rules/one-0.rules"]
    assert [s["series"] for s in test["input_series"]] == ['http_requests_total{code="500",job="j0"}']  # not j10
    assert [a["exp_labels"]["slo_name"] for a in test["alert_rule_test"][0]["exp_alerts"]] == ["slo-0"]
    assert [c["expr"] for c in test["promql_expr_test"]] == ['slo:sli_error:ratio_rate1h{slo_name="slo-0"}']
    assert len(DOCUMENT["tests"][0]["input_series"]) == 3  # the original is left as it was


def test_ownership_reads_the_bench_labels_whole():
    assert owns('probe_success{job="blackbox",target="t3"}', 3)
    assert not owns('http_requests_total{job="j10"}', 1)
    assert owns('slo:period_error_budget_remaining:ratio{slo_name="slo-7"}', 7)


def test_the_raw_read_scenario_keeps_the_inputs_and_checks_every_slo():
    leaf = leaf_test(DOCUMENT, 10)
    (test,) = leaf["tests"]
    assert test["input_series"] == DOCUMENT["tests"][0]["input_series"]
    assert "alert_rule_test" not in test
    assert test["promql_expr_test"][0]["exp_samples"] == [{"labels": "{}", "value": 10}]
    assert leaf["rule_files"] == DOCUMENT["rule_files"]
