# Beckon: `make run` sets everything up and serves on the embedded defaults;
# `make test` runs the whole suite. Both start from a clean clone.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= var

.PHONY: install run test test-fast lint format clean bot-install bot-encoder bot-model

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Beckon needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: install bot-install
	$(BIN)/beckon db upgrade
	$(BIN)/beckon seed demo --if-empty
	$(BIN)/beckon index build --if-missing
	@mkdir -p $(DATA)
	@test -s $(DATA)/demo-api-key || (umask 077 && $(BIN)/beckon api-key create local-demo --scope read,book,admin > $(DATA)/demo-api-key)
	@echo "API key for local use (also in $(DATA)/demo-api-key): $$(cat $(DATA)/demo-api-key)"
	$(BIN)/beckon run

# The Rasa assistant lives in its own environment (Rasa 3.6 pins its own
# SQLAlchemy, numpy and TensorFlow); bot/requirements.lock is that environment.
bot-install: bot/.venv/.installed

bot/.venv/.installed: bot/requirements.lock
	$(PYTHON) -m venv bot/.venv
	bot/.venv/bin/pip install --quiet --upgrade pip
	bot/.venv/bin/pip install --quiet --no-deps --ignore-requires-python rasa==3.6.21 rasa-sdk==3.6.2
	bot/.venv/bin/pip install --quiet -r bot/requirements.lock
	touch $@

# The sentence encoder the assistant's pipeline reads (bot/encoder/, git-ignored):
# the packaged all-MiniLM-L6-v2 exported to ONNX with this environment's torch,
# which the bot's has not; kept while the model is the same.
bot-encoder: install
	$(BIN)/python bot/tools/export_encoder.py

# trains only when config, domain, data, components or the encoder changed
# (models are named by their hash)
bot-model: bot-install bot-encoder
	bot/.venv/bin/python bot/tools/train.py

# the assistant's tests train its model on first use (a few minutes), then reuse it
test: install bot-install
	$(BIN)/python -m pytest

# unit tests only, on SQLite: no PostgreSQL, broker, Rasa or browser (well under
# a minute); `make test` runs them too, with the rest
test-fast: install
	$(BIN)/python -m pytest tests/unit -q -m "not postgres and not bot and not assistant and not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
