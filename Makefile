# kanal — two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make run: install, migrate, seed the demo (first run only), serve on SQLite at :8000
run: $(STAMP)
	$(BIN)/kanal migrate
	$(BIN)/kanal demo --if-missing
	$(BIN)/kanal serve

## make test: ruff, mypy (strict), the import-layer contract and the whole pytest suite
test: lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## make bench: the benchmarks in bench/, each beside its peer or floor
bench: $(STAMP)
	@for script in bench/[!_]*.py; do echo "== $$script"; PYTHONPATH=src $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
