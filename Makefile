# The two commands of the README's Quick start, and the checks around them.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
# In CI (and by default here) a test whose server is missing fails instead of skipping.
export FLYSTORE_REQUIRE_SERVICES ?= 1

.PHONY: demo install install-dev provision test lint typecheck check bench

demo: install
	$(PYTHON) -m flystore demo

install:
	$(PIP) install --quiet --disable-pip-version-check -e .

install-dev:
	$(PIP) install --quiet --disable-pip-version-check -e ".[dev]"

provision:
	bash scripts/provision.sh

test: install-dev provision
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check flystore tests benchmarks config

typecheck:
	$(PYTHON) -m mypy

check: lint typecheck test

bench: install-dev
	$(PYTHON) benchmarks/bench_core.py --quick
