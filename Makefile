# The README's two commands: `make demo` (set up + run the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint type test test-unit bench demo demo-repo demo-docker docs clean

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

# Only the demo's model repository (.auto-demo/churn-repo), for the README's Quick start.
demo-repo: install
	$(BIN)/python examples/demo/run_demo.py --repo

demo-docker: install
	AUTO_BUILDER=docker $(BIN)/python examples/demo/run_demo.py

docs: install
	cp schemas/automation.schema.json qwak_auto/data/automation.schema.json
	$(BIN)/python -m qwak_auto.docgen.schema_ref docs
	$(BIN)/python -m qwak_auto.docgen.cli_ref docs

clean:
	rm -rf $(VENV) .auto .auto-demo .pytest_cache .mypy_cache .ruff_cache
