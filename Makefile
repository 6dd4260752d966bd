# Two commands for users: `make run` and `make test`. Both set everything up first
# (system packages when root, uv, the locked virtual environment) and are quick when done.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON     ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION ?= 0.13.9
STAMPS     := .make
VENV       := .venv
BIN        := $(VENV)/bin
# System packages: venv support for bootstrapping uv; Chromium (kaleido figures, browser tests);
# Pango and HarfBuzz subsetting (WeasyPrint), fonts; poppler (pdftotext in tests); wrk (load).
APT_PACKAGES := python3-venv python3-pip ca-certificates chromium libpango-1.0-0 \
	libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-liberation poppler-utils wrk

export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
# Prefect's offline settings are defaulted by the CLI, volpred.flows and tests/conftest.py themselves.
# One OpenMP thread: gradient boosting on 2 cores is ~10x slower with two.
export OMP_NUM_THREADS ?= 1

UV := $(shell command -v uv 2>/dev/null || echo $(STAMPS)/tools/bin/uv)

.PHONY: help setup run test test-unit test-integration lint serve stop benchmark-ingest

help:
	@echo "make run    set up, then run the whole pipeline on the offline sample source"
	@echo "make test   set up, then run unit and integration tests"
	@echo "make serve  local Prefect server + work pool + deployment + worker (UI :4200)"
	@echo "make stop   stop everything volpred started in the background"
	@echo "make lint   ruff"

$(STAMPS)/apt.stamp: Makefile
	@mkdir -p $(STAMPS)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			echo "apt-get install $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		fi; \
	else \
		echo "not root (or no apt-get): assuming system packages are present: $(APT_PACKAGES)"; \
	fi
	@touch $@

$(STAMPS)/tools/bin/uv: $(STAMPS)/apt.stamp
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 not found (install python3.11)"; exit 1; }
	$(PYTHON) -m venv $(STAMPS)/tools
	$(STAMPS)/tools/bin/pip install -q "uv==$(UV_VERSION)"

$(STAMPS)/venv.stamp: pyproject.toml uv.lock $(STAMPS)/apt.stamp | $(UV)
	$(UV) sync --frozen --compile-bytecode
	@touch $@

setup: $(STAMPS)/venv.stamp

run: setup
	$(BIN)/volpred run

test: setup
	$(BIN)/ruff check src flows tests benchmarks
	$(BIN)/pytest

test-unit: setup
	$(BIN)/pytest -m "not integration"

test-integration: setup
	$(BIN)/pytest -m integration

serve: setup
	$(BIN)/volpred serve

stop:
	@if [ -x $(BIN)/volpred ]; then $(BIN)/volpred stop; fi

lint: setup
	$(BIN)/ruff check src flows tests benchmarks
	$(BIN)/ruff format --check src flows tests benchmarks

benchmark-ingest: setup
	$(BIN)/python benchmarks/ingest_clean.py $(ARGS)
