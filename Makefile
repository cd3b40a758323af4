# The two commands of the README, plus the one that stops the stack.
PYTHON ?= python3
export PYTHON

.PHONY: install dev stop test lint prod-local prod-stop

install:
	bash scripts/install.sh

dev: install
	$(PYTHON) -m facade.cli stack up

stop:
	$(PYTHON) -m facade.cli stack down

# The production topology on this machine (PostgreSQL, Keycloak start mode, nginx, two facades).
prod-local: install
	$(PYTHON) -m facade.cli stack up --production

prod-stop:
	$(PYTHON) -m facade.cli stack down --production

test: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy
