# Two commands matter (see README): `make demo` and `make test`.
# Both build their own virtual environments from the project's files, so a fresh
# machine needs only Python 3 (3.11-3.13) and make.
PYTHON ?= python3
VENV   := .venv/main
TOOLS  := .venv/tools
BIN    := $(VENV)/bin
TBIN   := $(TOOLS)/bin
ARGS   ?=

.PHONY: demo test lint typecheck unit terraform-check checkov e2e clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# checkov pins its own boto3, so it lives in a separate environment.
$(TOOLS)/.installed: requirements-tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TBIN)/python -m pip install --quiet --upgrade pip
	$(TBIN)/python -m pip install --quiet -r requirements-tools.txt
	touch $@

demo: $(VENV)/.installed
	$(BIN)/python -m sim.demo $(ARGS)

test: lint typecheck unit terraform-check checkov e2e

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

unit: $(VENV)/.installed
	$(BIN)/pytest $(ARGS)

terraform-check: $(VENV)/.installed
	$(BIN)/python -m tools.tfcheck terraform

checkov: $(TOOLS)/.installed
	$(TBIN)/checkov --directory terraform --quiet --compact --framework terraform --skip-download

# The module's whole lifecycle with the real AWS provider against moto's server (see
# terraform/README.md). Where Terraform or a provider mirror is absent it prints one line
# saying what was skipped and why.
e2e: $(VENV)/.installed
	$(BIN)/python -m tools.e2e

clean:
	rm -rf .venv layers/build .pytest_cache .mypy_cache .ruff_cache
