# Two commands: `make run` serves, `make test` checks. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Test processes (pytest-xdist); each has databases of its own on each server.
TEST_WORKERS ?= 2

.PHONY: run test lint typecheck migrate container-test bench bench-statements clean

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

# Load benchmarks with wrk against a real server: see docs/benchmarks.md.
# make bench BENCH_ARGS="--duration 5 --runs 3"; AUTHSVC_BENCH_POSTGRES_URL= skips PostgreSQL,
# AUTHSVC_BENCH_MARIADB_URL= skips MariaDB.
BENCH_ARGS ?=
AUTHSVC_BENCH_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test_bench
AUTHSVC_BENCH_MARIADB_URL ?= mysql+asyncmy://root@127.0.0.1:3306/test_bench

bench: $(VENV)/.installed-test
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	AUTHSVC_BENCH_POSTGRES_URL='$(AUTHSVC_BENCH_POSTGRES_URL)' \
	  AUTHSVC_BENCH_MARIADB_URL='$(AUTHSVC_BENCH_MARIADB_URL)' $(BIN)/python bench/run.py $(BENCH_ARGS)

bench-statements: $(VENV)/.installed-test  ## statements and round trips per operation
	AUTHSVC_BENCH_POSTGRES_URL='$(AUTHSVC_BENCH_POSTGRES_URL)' $(BIN)/python bench/count_statements.py

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
