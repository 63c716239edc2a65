# modelyard — the two commands: `make up` runs the platform, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080

.PHONY: up test lint typecheck unit bench bench-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

up: $(VENV)/.installed  ## set up and run the platform with the bundled demo model
	$(BIN)/modelyard up --demo --port $(PORT)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

test: $(VENV)/.test-installed  ## install test dependencies, then ruff, mypy, import contracts and pytest
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q

unit: $(VENV)/.test-installed
	$(BIN)/pytest -q tests/unit

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

bench-deps:  ## load tools for the benchmarks (Debian packages)
	command -v wrk >/dev/null && command -v nginx >/dev/null || \
	  (apt-get update -q && apt-get install -y -q wrk nginx-light)

bench: $(VENV)/.test-installed bench-deps  ## every benchmark, one after the other
	$(BIN)/python -m benchmarks.batching
	test -d .bench-site/vllm_router || $(BIN)/pip install --quiet --target .bench-site vllm-router==0.1.17
	$(BIN)/python -m benchmarks.gateway
