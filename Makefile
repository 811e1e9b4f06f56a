# The README's two commands: `make demo` (set up + run the main job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint type test test-unit bench demo demo-repo demo-docker image docs clean

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
	$(BIN)/lint-imports

type: install
	$(BIN)/mypy

test: install
	$(BIN)/python -m pytest

test-unit: install
	$(BIN)/python -m pytest tests/unit -q

# Each benchmark makes its peer's environment itself (the `bench` extra: check-jsonschema,
# MLflow) under benchmarks/.work/: full MLflow in .venv would downgrade gunicorn there.
bench: install
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

demo: install
	$(BIN)/python examples/demo/run_demo.py

# Only the demo's model repository (.auto-demo/churn-repo), for the README's Quick start.
demo-repo: install
	$(BIN)/python examples/demo/run_demo.py --repo

demo-docker: install
	AUTO_BUILDER=docker $(BIN)/python examples/demo/run_demo.py

# The image of auto itself (Dockerfile): the runner of `auto render --runner`. Its wheels are
# made here first (build/wheelhouse), with this machine's pip settings; the image installs
# from them without an index.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE ?= auto/runner:$(VERSION)
BASE_IMAGE ?= python:3.11-slim-bookworm
WHEEL_PYTHON ?= $(BIN)/python
image:
	@test -x $(WHEEL_PYTHON) || { echo "$(WHEEL_PYTHON) is missing: run make install first"; exit 2; }
	rm -rf build/wheelhouse
	$(WHEEL_PYTHON) -m pip --disable-pip-version-check wheel --progress-bar on \
	  --wheel-dir build/wheelhouse '.[aws]'
	docker build --network host --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(IMAGE) .
	@echo "==> built $(IMAGE); push it with: docker push $(IMAGE)"

docs: install
	cp schemas/automation.schema.json qwak_auto/data/automation.schema.json
	$(BIN)/python -m qwak_auto.docgen.schema_ref docs
	$(BIN)/python -m qwak_auto.docgen.cli_ref docs

clean:
	rm -rf $(VENV) .auto .auto-demo .pytest_cache .mypy_cache .ruff_cache
