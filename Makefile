# Two commands matter (see README): `make demo` and `make test`.
# Both build their own virtual environments from the project's lock files, so a fresh
# machine needs only Python 3 (3.11-3.13) and make.
#
# Every environment installs exact versions with hashes (--require-hashes):
#   requirements/uv.txt     uv, the installer: pip (the one `python3 -m venv` ships) puts it
#                           into .venv/uv, and uv installs every other lock
#   requirements/pip.txt    pip itself, installed into each environment beside its lock
#   requirements/dev.txt    the project's dependencies + the `dev` extra + the build backend
#   requirements/tools.txt  checkov and cfn-lint (checkov pins its own boto3, so they live in .venv/tools)
#   requirements/lock.txt   pip-tools, which writes all five: `make lock`
PYTHON ?= python3
VENV   := .venv/main
TOOLS  := .venv/tools
LOCKER := .venv/lock
UVENV  := .venv/uv
BIN    := $(VENV)/bin
TBIN   := $(TOOLS)/bin
LBIN   := $(LOCKER)/bin
ARGS   ?=
# Drains of the large chaos campaign (`make chaos`); `make test` runs >= 1,000 in pytest.
CHAOS_DRAINS ?= 10000
# `make lock` keeps every pin that still satisfies pyproject.toml and the *.in files (it
# only adds, removes or moves what changed); `make lock LOCK_ARGS=--upgrade` takes the
# newest versions the ranges allow.
LOCK_ARGS ?=

# pip only bootstraps uv; uv installs the environments. It reads no configuration file
# (--no-config: no uv.toml of the user's or the machine's, no [tool.uv] table), so every
# machine installs the same way. It compiles no bytecode at install: the two environments
# hold about 15,000 modules (about 40 s of CPU and 27 s of a fresh clone's 43 s of
# environment time), and the tests import about 6,400 of them. Python writes the bytecode
# of what it imports instead, once, so make lets every command it runs write it even where
# PYTHONDONTWRITEBYTECODE is set (there each of the many test processes would compile what
# it imports anew). __pycache__/ is git-ignored and the function package takes *.py only.
unexport PYTHONDONTWRITEBYTECODE
PIP_HASHED = -m pip install --require-hashes --no-input --disable-pip-version-check
UV_PIP     = $(UVENV)/bin/uv pip --no-config
UV_HASHED  = $(UV_PIP) install --require-hashes
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(LBIN)/pip-compile --quiet --generate-hashes \
  --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
  --no-emit-trusted-host $(LOCK_ARGS)

.PHONY: demo test checks envs lint typecheck unit terraform-check checkov checkov-terraform checkov-cloudformation cfn-lint chaos lock e2e e2e-accounts release release-check clean

# A changed lock rebuilds the environment from scratch (nothing stale survives); a changed
# pyproject.toml only re-installs the project itself, and `uv pip check` then fails loudly
# if pyproject.toml asks for a dependency the lock lacks (run `make lock`). uv is an
# order-only prerequisite: a new uv rebuilds .venv/uv, not what the locks put elsewhere.
$(UVENV)/.installed: requirements/uv.txt
	$(PYTHON) -m venv --clear $(UVENV)
	$(UVENV)/bin/python $(PIP_HASHED) -r requirements/uv.txt
	touch $@

$(VENV)/.locked: requirements/pip.txt requirements/dev.txt | $(UVENV)/.installed
	$(PYTHON) -m venv --clear --without-pip $(VENV)
	$(UV_HASHED) --python $(BIN)/python -r requirements/pip.txt -r requirements/dev.txt
	touch $@

$(VENV)/.installed: $(VENV)/.locked pyproject.toml VERSION
	$(UV_PIP) install --python $(BIN)/python --no-deps --no-build-isolation -e .
	$(UV_PIP) check --python $(BIN)/python
	touch $@

$(TOOLS)/.installed: requirements/pip.txt requirements/tools.txt | $(UVENV)/.installed
	$(PYTHON) -m venv --clear --without-pip $(TOOLS)
	$(UV_HASHED) --python $(TBIN)/python -r requirements/pip.txt -r requirements/tools.txt
	touch $@

$(LOCKER)/.installed: requirements/pip.txt requirements/lock.txt | $(UVENV)/.installed
	$(PYTHON) -m venv --clear --without-pip $(LOCKER)
	$(UV_HASHED) --python $(LBIN)/python -r requirements/pip.txt -r requirements/lock.txt
	touch $@

# Both test environments; `make -j2 envs` builds them side by side (.ci/run does), after
# .venv/uv.
envs: $(VENV)/.installed $(TOOLS)/.installed

demo: $(VENV)/.installed
	$(BIN)/python -m sim.demo $(ARGS)

# Static checks first (two at a time, each one's output whole when it ends), pytest last:
# its summary is the closing line of `make test`. pytest spreads the tests over the cores
# (pytest-xdist, a test file per worker at a time: the chaos campaign's module fixture
# then runs once, in a process of its own, two with more than 2 cores, while its worker
# waits) and runs the Terraform lifecycle of `make e2e`
# beside them: it mostly waits on Terraform, and tests/e2e/test_lifecycle.py reports it as
# one test. --no-loadscope-reorder keeps the files in tests/conftest.py's order (the
# campaign, most of the CPU, first); xdist's default hands out the largest files first,
# which started the campaign 70 s late and left it running alone at the end.
PYTEST_PARALLEL ?= -n auto --dist loadfile --no-loadscope-reorder
test: envs
	$(MAKE) --no-print-directory -j2 --output-sync=target checks
	$(BIN)/pytest $(PYTEST_PARALLEL) --lifecycle-in-background $(ARGS)

# The longest first, and checkov as two jobs: make -j2 then keeps both cores busy to the end.
# terraform-check is not among them: pytest runs the same two commands (tests/terraform:
# test_tfcheck.py and test_member_equivalence.py's drift check).
checks: checkov-terraform typecheck checkov-cloudformation cfn-lint lint

# Scale figures (docs/benchmarks.md): minutes per run, so not part of `make test`.
.PHONY: bench
bench: $(VENV)/.installed
	$(BIN)/python -m sim.bench $(or $(ARGS),--drains 1 50 1000)
	$(if $(ARGS),,$(BIN)/python -m sim.bench --drains 1000 --stoptask-on-draining ignored \
	  --stop-action stop-task exec ssm-signal stop-task-then-exec)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

unit: $(VENV)/.installed
	$(BIN)/pytest $(ARGS)

# The member's CloudFormation template must be what its sources (terraform/patterns/)
# generate: `python -m tools.member_template` rewrites it.
terraform-check: $(VENV)/.installed
	$(BIN)/python -m tools.tfcheck terraform
	$(BIN)/python -m tools.member_template --check

checkov: checkov-terraform checkov-cloudformation

checkov-terraform: $(TOOLS)/.installed
	$(TBIN)/checkov --directory terraform --quiet --compact --framework terraform --skip-download

checkov-cloudformation: $(TOOLS)/.installed
	$(TBIN)/checkov --file terraform/modules/member/cloudformation/member.json --quiet --compact \
	  --framework cloudformation --skip-download

# AWS's own linter over the member's CloudFormation (StackSets) template.
cfn-lint: $(TOOLS)/.installed
	$(TBIN)/cfn-lint terraform/modules/member/cloudformation/member.json

# The large campaign; `make test` keeps one of >= 1,000 drains (tests/sim/test_chaos.py).
chaos: $(VENV)/.installed
	$(BIN)/python -m sim.chaos --drains $(CHAOS_DRAINS) --stoptask-on-draining mixed $(ARGS)

# Re-resolve every lock file from pyproject.toml and requirements/*.in (needs the package
# indexes; commit the result). The locks are resolved for CPython 3.11 on Linux.
lock: $(LOCKER)/.installed
	$(PIP_COMPILE) -o requirements/uv.txt requirements/uv.in
	$(PIP_COMPILE) -o requirements/pip.txt requirements/pip.in
	$(PIP_COMPILE) -o requirements/lock.txt requirements/lock.in
	$(PIP_COMPILE) --extra dev --all-build-deps -o requirements/dev.txt pyproject.toml
	$(PIP_COMPILE) -o requirements/tools.txt requirements/tools.in

# Everything the targets above, the tests and Terraform's plan create.

# The module's whole lifecycle with the real AWS provider against moto's server (see
# terraform/README.md). Where Terraform or a provider mirror is absent it prints one line
# saying what was skipped and why.
# The single-account lifecycle (which `make test` also runs, in the background), then the
# hub and its two member accounts (`make e2e-accounts` alone); not part of `make test`.
e2e: $(VENV)/.installed
	$(BIN)/python -m tools.e2e
	$(BIN)/python -m tools.e2e.many_accounts

# A hub and two member accounts (terraform/examples/many-accounts) applied to moto's
# server, checked, re-planned and destroyed; skipped in one line like `make e2e`.
e2e-accounts: $(VENV)/.installed
	$(BIN)/python -m tools.e2e.many_accounts

# The release artifacts of the version in VERSION (CHANGELOG.md, terraform/README.md
# "Deploying a release"): the function zip per Lambda Python runtime, the layer zip per
# runtime and architecture, the CLI wheel and SHA256SUMS, into dist/. The layers need
# the package index. release-check builds everything twice and compares the checksums.
release: $(VENV)/.installed
	$(BIN)/python -m tools.release $(ARGS)

release-check: $(VENV)/.installed
	$(BIN)/python -m tools.release --check $(ARGS)

# The premise settled in YOUR account (it creates billable resources and destroys them):
# terraform/examples/premise applied, `verify` once per stop action, one table, destroyed.
# make premise ARGS="--region eu-west-1 [--ec2] [--keep] [--yes]"
premise: $(VENV)/.installed
	$(BIN)/python -m tools.premise $(ARGS)

clean:
	rm -rf .venv build dist *.egg-info layers/build .pytest_cache .mypy_cache .ruff_cache \
	  .hypothesis terraform/.terraform terraform/*/*/.terraform terraform/*/*/builds
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
