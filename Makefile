# The two commands of the README, plus the one that stops the stack.
PYTHON ?= python3
export PYTHON

.PHONY: install dev stop test lint

install:
	bash scripts/install.sh

dev: install
	$(PYTHON) -m facade.cli stack up

stop:
	$(PYTHON) -m facade.cli stack down

test: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy
