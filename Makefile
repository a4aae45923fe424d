# Two commands: `make run` serves, `make test` checks. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Test processes (pytest-xdist); each has databases of its own on each server.
TEST_WORKERS ?= 2

.PHONY: run test lint typecheck migrate container-test bench clean

run: $(VENV)/.installed-run  ## serve on http://$(HOST):$(PORT) (embedded SQLite by default)
	$(BIN)/authsvc serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test  ## lint, type-check and run the test suite
	$(BIN)/ruff check src tests alembic bench
	$(BIN)/ruff format --check src tests alembic bench
	$(BIN)/mypy
	$(BIN)/pytest -n $(TEST_WORKERS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests alembic bench
	$(BIN)/ruff format --check src tests alembic bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

migrate: $(VENV)/.installed-run
	$(BIN)/authsvc migrate

container-test:  ## build the image and run the compose stack with podman
	bash container/test.sh

bench: $(VENV)/.installed-test
	$(BIN)/python bench/login_timing.py

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "authsvc needs Python 3.11+; run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
