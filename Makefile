# Beckon: `make run` sets everything up and serves on the embedded defaults;
# `make test` runs the whole suite. Both start from a clean clone.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= var

.PHONY: install run test lint format clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Beckon needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: install
	$(BIN)/beckon db upgrade
	$(BIN)/beckon seed demo --if-empty
	$(BIN)/beckon index build --if-missing
	@mkdir -p $(DATA)
	@test -s $(DATA)/demo-api-key || (umask 077 && $(BIN)/beckon api-key create local-demo > $(DATA)/demo-api-key)
	@echo "API key for local use (also in $(DATA)/demo-api-key): $$(cat $(DATA)/demo-api-key)"
	$(BIN)/beckon run

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
