# The README's two commands: `make demo` (set up + run the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint type test test-unit bench demo demo-repo demo-docker docs clean

install: $(STAMP)

# uv installs the project's own virtual environment in seconds, showing what it does; it is
# taken from PATH, else installed into the new .venv from PyPI. Where uv cannot be had (or
# INSTALLER=pip), pip does it, with its progress bars. Either way a line says which.
INSTALLER ?= uv
PIP := $(BIN)/python -m pip --disable-pip-version-check

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@uv=""; \
	if [ "$(INSTALLER)" = uv ]; then \
	  if command -v uv >/dev/null 2>&1; then uv=uv; \
	  else echo "==> getting uv (pip install uv)"; \
	    $(PIP) install --progress-bar on 'uv>=0.4' && uv=$(BIN)/uv; fi; \
	fi; \
	if [ -n "$$uv" ]; then \
	  echo "==> installing auto and its dev tools with uv"; \
	  $$uv pip install --python $(BIN)/python -e '.[dev]' && exit 0; \
	  echo "==> uv could not install them; trying pip"; \
	fi; \
	echo "==> installing auto and its dev tools with pip (a few minutes)"; \
	$(PIP) install --progress-bar on --upgrade pip && \
	$(PIP) install --progress-bar on -e '.[dev]'
	@touch $(STAMP)
	@echo "==> $(VENV) is ready: . $(BIN)/activate"

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
