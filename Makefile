# The project's verbs. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench install lock clean

# Installs exactly what the lock file says: the third-party packages pinned in
# requirements-dev.lock, then our two packages from this repository without resolving anything
# (--no-deps), so `flagsite-sdk` always comes from ./sdk and never from a package index.
# `make lock` updates the lock (docs/operations.md, "Dependencies").
LOCK := requirements-dev.lock
LOCK_FLAGS := --universal --python-version 3.11 --no-emit-package flagsite \
	--no-emit-package flagsite-sdk --custom-compile-command "make lock"

$(STAMP): pyproject.toml sdk/pyproject.toml $(LOCK)
	@test -x $(BIN)/python || { echo "==> creating virtualenv in $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing flagsite and its locked dependencies (first run takes a minute or two)"
	@$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip
	@PYTHONWARNINGS=ignore $(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -q -r $(LOCK)
	@PYTHONWARNINGS=ignore $(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -e ./sdk -e .
	@$(BIN)/python -m pip check --disable-pip-version-check -q
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@bash scripts/run.sh

test: $(STAMP)
	@bash scripts/test.sh $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# the django-stubs plugin imports this checkout's flagsite.settings (needs a SECRET_KEY)
	SECRET_KEY="$${SECRET_KEY:-mypy-only-not-a-secret}" PYTHONPATH="$(CURDIR):$(CURDIR)/sdk" $(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/engine.py

# Re-resolve the lock files from pyproject.toml (kept pins stay; LOCK_ARGS=--upgrade moves all,
# LOCK_ARGS="--upgrade-package django" one). Commit both files.
lock: $(STAMP)
	$(BIN)/uv pip compile requirements-dev.in $(LOCK_FLAGS) -o requirements-dev.lock $(LOCK_ARGS)
	$(BIN)/uv pip compile requirements.in $(LOCK_FLAGS) -c requirements-dev.lock -o requirements.lock

clean:
	rm -rf var .pytest_cache test-output
