# The README's two commands: `make demo` (set up + run the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint type test test-unit bench demo demo-docker docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check qwak_auto tests benchmarks
	$(BIN)/ruff format --check qwak_auto tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

type: install
	$(BIN)/mypy

test: install
	$(BIN)/python -m pytest

test-unit: install
	$(BIN)/python -m pytest tests/unit -q

bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

demo: install
	$(BIN)/python examples/demo/run_demo.py

demo-docker: install
	AUTO_BUILDER=docker $(BIN)/python examples/demo/run_demo.py

docs: install
	cp schemas/automation.schema.json qwak_auto/data/automation.schema.json
	$(BIN)/python -m qwak_auto.docgen.schema_ref docs
	$(BIN)/python -m qwak_auto.docgen.cli_ref docs

clean:
	rm -rf $(VENV) .auto .pytest_cache .mypy_cache .ruff_cache
