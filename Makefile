# sloforge — the two commands a newcomer needs: `make render` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPECS ?= slo_specs
OUT ?= rendered
APT_PACKAGES := prometheus prometheus-alertmanager docker-compose

.PHONY: render test ci check validate lint pytest goldens tools bench demo up down clean help

help:
	@echo "make render    render $(SPECS)/ into $(OUT)/ (creates .venv on first use)"
	@echo "make test      set everything up, then lint, drift check, validate with promtool/amtool, and pytest"
	@echo "make check     fail when $(OUT)/ differs from a fresh render of $(SPECS)/"
	@echo "make ci        your specs' CI loop: drift check of $(OUT)/ against $(SPECS)/ and validate (docs/ci.md)"
	@echo "make validate  promtool and amtool over $(OUT)/"
	@echo "make lint      ruff (lint and format check) and mypy (generator/, bench/)"
	@echo "make pytest    the test suite only"
	@echo "make goldens   rewrite tests/cases/*/expected/ after an intended output change (review the diff)"
	@echo "make tools     install promtool/amtool (apt-get as root), or say how"
	@echo "make bench     benchmarks (not part of make test; see bench/README.md)"
	@echo "make demo      local end-to-end demo without docker"
	@echo "make up/down   docker-compose stack: Prometheus, Alertmanager, Grafana, demo workload"
	@echo "make clean     remove the venv and caches"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

render: $(STAMP)
	$(BIN)/sloforge render --specs $(SPECS) --out $(OUT)

# promtool, amtool (and docker-compose for `config` checks): from PATH, else
# apt-get when we are root on Debian/Ubuntu, else a docker engine, else advice.
tools:
	@missing=""; \
	for t in promtool amtool prometheus prometheus-alertmanager; do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing="$$missing docker-compose"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing$$missing with apt-get"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	elif [ -n "$${SLOFORGE_PROMTOOL:-}" ] && [ -n "$${SLOFORGE_AMTOOL:-}" ]; then exit 0; \
	elif docker info >/dev/null 2>&1; then echo "using docker images for$$missing"; \
	else echo "missing:$$missing. Install with: sudo apt-get install $(APT_PACKAGES)" >&2; exit 1; fi
	@# Optional: headless Chromium checks the `sloforge report` page as a person sees it (the test skips without it).
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& echo "installing chromium with apt-get (for the report's browser test)" \
		&& export DEBIAN_FRONTEND=noninteractive && apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
		|| echo "chromium not found: the report's browser test will skip"

lint: $(STAMP)
	$(BIN)/ruff check generator tests bench
	$(BIN)/ruff format --check generator tests bench
	$(BIN)/mypy

validate: $(STAMP) tools
	$(BIN)/sloforge validate --out $(OUT)

check: $(STAMP)
	$(BIN)/sloforge check --specs $(SPECS) --out $(OUT)

# One worker per core (pytest-xdist); a test module stays on one worker so its fixtures are built once.
pytest: $(STAMP) tools
	$(BIN)/pytest -q -n auto --dist loadfile

goldens: $(STAMP)
	$(BIN)/pytest -q tests/test_cases.py --update-goldens

# Your specs' CI loop (docs/ci.md): the only part of `make test` that reads $(SPECS)/ and $(OUT)/.
ci: $(STAMP) tools check validate

# The project's own tests: pytest reads tests/fixtures/specs/, never $(SPECS)/ or $(OUT)/.
test: $(STAMP) tools lint ci pytest

bench: $(STAMP) tools
	$(BIN)/python -m bench

# Fault -> SLI drop -> pending -> firing -> webhook notification, with the real
# prometheus and alertmanager binaries on 127.0.0.1; no docker needed.
demo: $(STAMP) tools
	$(BIN)/python -m generator.demo

# docker-compose.yml: Prometheus, Alertmanager, Grafana and the demo workload.
# `docker compose` (plugin) when present, else Debian's docker-compose.
COMPOSE = $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)

up: render
	$(COMPOSE) up -d
	@echo "Grafana http://localhost:3000  Prometheus http://localhost:9090  Alertmanager http://localhost:9093"
	@echo "inject a fault: curl -X POST localhost:9100/fault/error-spike   (none, latency-spike, outage, probe-failure)"

down:
	$(COMPOSE) down

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
