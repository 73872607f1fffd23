# The project's verbs. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench install clean

$(STAMP): pyproject.toml sdk/pyproject.toml
	@test -x $(BIN)/python || { echo "==> creating virtualenv in $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing flagsite and its dependencies (first run takes a minute or two)"
	@$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip
	@PYTHONWARNINGS=ignore $(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -q -e ./sdk -e '.[dev]'
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

clean:
	rm -rf var .pytest_cache test-output
