# The two commands of the README's Quick start, and the checks around them.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
# In CI (and by default here) a test whose server is missing fails instead of skipping.
export FLYSTORE_REQUIRE_SERVICES ?= 1

.PHONY: demo install install-dev provision test lint typecheck check bench
.PHONY: install-cli storage-link storage-test storage-cleanup storage-info storage-usage storage-backup

demo: install
	$(PYTHON) -m flystore demo

install:
	$(PIP) install --quiet --disable-pip-version-check -e .

install-dev:
	$(PIP) install --quiet --disable-pip-version-check -e ".[dev]"

provision:
	bash scripts/provision.sh

# Workers: one per core, at most 4 (each starts its own test servers); loadscope keeps a class's or a
# module's tests, and their class-scoped servers, on one worker.
TEST_WORKERS ?= auto
test: install-dev provision
	$(PYTHON) -m pytest --numprocesses=$(TEST_WORKERS) --maxprocesses=4 --dist=loadscope

lint:
	$(PYTHON) -m ruff check flystore tests benchmarks config

typecheck:
	$(PYTHON) -m mypy

check: lint typecheck test

bench: install-dev
	$(PYTHON) benchmarks/bench_core.py --quick

# The storage commands, through the flystore command line (docs/cli.md); they need the cli extra.
DISK ?= local
DAYS ?= 30
SOURCE ?= local://
DEST ?= backups
KEEP ?= 7
DISKS ?=

install-cli:
	$(PIP) install --quiet --disable-pip-version-check -e ".[cli]"

storage-link: install-cli
	$(PYTHON) -m flystore link

storage-test: install-cli
	$(PYTHON) -m flystore test $(DISKS)

storage-cleanup: install-cli
	$(PYTHON) -m flystore cleanup --disk $(DISK) --days $(DAYS)

storage-info: install-cli
	$(PYTHON) -m flystore info

storage-usage: install-cli
	$(PYTHON) -m flystore usage $(addsuffix ://,$(DISKS))

storage-backup: install-cli
	$(PYTHON) -m flystore backup $(SOURCE) $(DEST) --keep $(KEEP)
