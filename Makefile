# The two commands of the README: `make demo` and `make test`. Both set up everything
# they need on a fresh machine (a virtual environment in .venv with the project installed).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Build the demo home (.scorecard) and serve the scorecard on http://127.0.0.1:8501/
demo: install
	$(BIN)/scorecard demo

## Lint, type-check and run the whole test suite
test: install lint
	$(BIN)/pytest

## Ingest throughput against an in-run ceiling (not a test; a few minutes; docs/operations.md)
bench: install
	PYTHONPATH=. $(BIN)/python bench/ingest_throughput.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .scorecard .pytest_cache .mypy_cache .ruff_cache test-output
