# The two commands: `make demo` and `make test`. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/swarm demo

lint: $(STAMP)
	$(BIN)/ruff check swarm agents tests

# two workers, one test file each at a time (each starts its own nats-server, Ray and Postgres)
WORKERS ?= 2

test: $(STAMP) lint
	$(BIN)/python -m pytest -q -n $(WORKERS) --dist loadfile --durations=25 tests

clean:
	rm -rf $(VENV) .pytest_cache
