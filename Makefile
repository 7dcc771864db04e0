# The two set-up commands of the README:
#   make demo   creates .venv, installs multicam, processes the sample game with SAM 2.1 tiny
#   make test   creates .venv, installs multicam with the dev extras, runs lint, builds the docs, runs the tests
# Exact versions come from constraints.txt; pyproject.toml carries only ranges.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet -c constraints.txt
GAME ?= sample_data/demo_game/game.yaml
DEMO_ARGS ?=
PYTEST_ARGS ?= -q

.PHONY: demo test install install-test lint docs docs-serve clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first (served from local disk on our build machines), then sam2 without build isolation (its
# isolated build would pull a second torch), then the package itself.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) torch torchvision
	$(PIP) setuptools wheel
	SAM2_BUILD_CUDA=0 $(PIP) --no-build-isolation sam2
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(BIN)/multicam info $(GAME)
	$(BIN)/multicam process $(GAME) $(DEMO_ARGS)

# Style, import contracts ([tool.importlinter] in pyproject.toml) and declared dependencies.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/deptry .

# The documentation site (mkdocs.yml, docs/) into site/; warnings are errors.
docs: $(VENV)/.installed-test
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

docs-serve: $(VENV)/.installed-test
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

test: $(VENV)/.installed-test
	$(MAKE) lint
	$(MAKE) docs
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
