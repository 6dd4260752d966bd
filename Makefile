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

.PHONY: help setup run test test-unit test-integration lint serve stop benchmark-ingest \
	setup-containers image serve-docker compose-up compose-down test-container

help:
	@echo "make run    set up, then run the whole pipeline on the offline sample source"
	@echo "make test   set up, then run unit and integration tests"
	@echo "make serve  local Prefect server + work pool + deployment + worker (UI :4200)"
	@echo "make stop   stop everything volpred started in the background"
	@echo "make image  build localhost/volpred:latest with Podman (no registry needed)"
	@echo "make serve-docker  like serve, each flow run a container (pool volpred-docker)"
	@echo "make compose-up / compose-down  server on PostgreSQL, worker, API, dashboard"
	@echo "make test-container  build the image, run it, the docker pool and compose"
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
	$(BIN)/pytest -m "not integration and not container"

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

# Containers: Podman (installed as root on Debian; the project's containers.conf), the
# prefect-docker worker and podman-compose (the `docker` dependency group, not needed by
# `make test`). Docker Compose is used instead of podman-compose where a Docker daemon runs.
export CONTAINERS_CONF ?= $(CURDIR)/deployments/podman/containers.conf
COMPOSE_FILE := deployments/docker-compose.yml
POSTGRES_IMAGE ?= localhost/volpred-postgres:15
COMPOSE = $(shell if docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; \
	then echo docker compose; else echo $(BIN)/podman-compose; fi)

$(STAMPS)/containers.stamp: $(STAMPS)/venv.stamp deployments/podman/env.sh
	@bash -c '. deployments/podman/env.sh && install_podman_tools'
	$(UV) sync --frozen --inexact --group docker
	@touch $@

setup-containers: $(STAMPS)/containers.stamp

image: setup-containers
	deployments/podman/build-image.sh

serve-docker: image
	$(BIN)/volpred serve --pool docker

compose-up: image
	@podman image exists $(POSTGRES_IMAGE) || \
		podman build --format docker -t $(POSTGRES_IMAGE) deployments/postgres
	$(COMPOSE) -f $(COMPOSE_FILE) up -d
	@echo "Prefect UI http://127.0.0.1:$${VOLPRED_COMPOSE_PREFECT_PORT:-4200}," \
		"API http://127.0.0.1:$${VOLPRED_COMPOSE_API_PORT:-5000}/docs," \
		"dashboard http://127.0.0.1:$${VOLPRED_COMPOSE_DASHBOARD_PORT:-8501}"

compose-down: setup-containers
	$(COMPOSE) -f $(COMPOSE_FILE) down $(ARGS)

test-container: setup-containers
	$(BIN)/pytest -m container tests/containers
