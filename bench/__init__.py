"""sloforge benchmarks: render throughput, rule-test time, and rule evaluation cost on a real Prometheus.

Run with `make bench` (= `python -m bench`); never part of `make test`. Working
data goes to bench/.work/ (git-ignored), results to bench/results/latest.md.
"""
