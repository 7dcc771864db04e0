# The two set-up commands of the README:
#   make demo   creates .venv, installs multicam, processes the sample game with SAM 2.1 tiny
#   make test   creates .venv, installs multicam with test extras, runs the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
GAME ?= sample_data/demo_game/game.yaml
DEMO_ARGS ?=

.PHONY: demo test install install-test lint clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first (pinned: served from local disk on our build machines), then sam2 without build
# isolation (its isolated build would pull a second torch), then the package itself.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/pip install --quiet setuptools wheel
	SAM2_BUILD_CUDA=0 $(BIN)/pip install --quiet --no-build-isolation "sam2==1.1.0"
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(BIN)/multicam info $(GAME)
	$(BIN)/multicam process $(GAME) $(DEMO_ARGS)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

clean-venv:
	rm -rf $(VENV)
