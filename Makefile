# fastbridge: two commands for a newcomer (see README):
#   make        set up .venv with every dependency, then fine-tune the packaged MiniLM on SST-2 (the main job)
#   make test   run every notebook (nbdev_test), every lesson in a Jupyter kernel, and the pytest suite (the docs site in a headless Chromium included)
#   make docs   build the website into _docs/, offline (docs/build.py; open _docs/index.html)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
NB_DIRS := nbs course competitions
# The library's and the competition's notebooks run in nbdev's runner; the course's lessons run in a real Jupyter kernel
# (nbclient), as a student's Jupyter or Colab runs them, from tests/test_course.py, which also proves every exercise.
NB_TEST_DIRS := nbs competitions
RUN_DIR ?= runs/sst2-minilm

.PHONY: all setup main test test-fast export readme docs lessons bench bench-lm bench-behaviour bench-compress bench-fewshot bench-speed
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
	@# headless Chromium and its driver (Debian) run the docs site's browser tests; they skip, saying how to install, without
	{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } \
	  || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver; } \
	  || echo "warning: could not install chromium chromium-driver (apt-get install chromium chromium-driver); the docs site's browser tests will skip" >&2
	touch $@

setup: $(STAMP)

main: $(STAMP)
	$(BIN)/fastbridge-sst2 train --out $(RUN_DIR)

# nbdev_test runs notebooks in parallel: one torch thread each keeps them from fighting over the cores.
# The library in fastbridge/ must be exactly what the notebooks export; then every notebook runs as a test,
# then pytest, the lessons included (exit code 5, "no tests collected", is not a failure), in two processes of one
# torch thread each (pytest-xdist; a file's tests stay in one process, so its module fixtures are built once).
test: export HF_HUB_OFFLINE = 1
test: $(STAMP)
	$(BIN)/nbdev_export
	@git diff --quiet -- fastbridge || { echo "fastbridge/ differs from what nbs/ exports: run nbdev_export and commit" >&2; git diff --stat -- fastbridge >&2; exit 1; }
	for d in $(NB_TEST_DIRS); do OMP_NUM_THREADS=1 $(BIN)/nbdev_test --path $$d --flags slow --timing || exit 1; done
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests -ra --durations=15 -n 2 --dist loadfile; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

# The website: _quarto.yml declares it; nbdev's processors + Sphinx/myst-nb render it offline, failing on any warning.
# (tests/test_docs_site.py builds it the same way when _docs/ is older than its sources.)
docs: export HF_HUB_OFFLINE = 1
docs: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python docs/build.py

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
# Outputs on stderr (library warnings and logs, with the paths of the machine that ran it), live widgets (progress
# bars) and style sheets (fastprogress's; GitHub drops them) are left out, as on the website.
readme: $(STAMP)
	$(BIN)/python -c "import nbformat as f,sys; nb=f.read('nbs/index.ipynb',4); [c.update(outputs=[o for o in c.outputs if o.get('name')!='stderr' and 'application/vnd.jupyter.widget-view+json' not in o.get('data',{}) and not ''.join(o.get('data',{}).get('text/html','')).lstrip().startswith('<style')]) for c in nb.cells if c.cell_type=='code']; f.write(nb,sys.stdout)" \
	  | $(BIN)/jupyter nbconvert --log-level WARN --stdin --to markdown --output-dir . --output README

# Re-run every lesson top to bottom in a Jupyter kernel and save it with its outputs (commit them: they teach).
lessons: export HF_HUB_OFFLINE = 1
lessons: $(STAMP)
	for f in course/[0-9][0-9]_*.ipynb; do OMP_NUM_THREADS=1 $(BIN)/python -c "from fastbridge.course import run_lesson; run_lesson('$$f', prove_exercises=False, save_to='$$f')" || exit 1; $(BIN)/nbdev_clean --fname $$f; done

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python bench/throughput.py

# Masked-LM adaptation, then classifiers with/without the SiATL auxiliary loss (results in bench/results/)
bench-lm: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python bench/lm_adaptation.py
	HF_HUB_OFFLINE=1 $(BIN)/python bench/siatl.py

# Behavioural tests (fastbridge.behaviour) of MiniLM fine-tuned on 10% of SST-2 (results in bench/results/behaviour.md)
bench-behaviour: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python bench/behaviour.py

# int8 (torch, ONNX Runtime), ONNX and a distilled student against the float32 MiniLM (results in bench/results/compress.md)
bench-compress: $(STAMP)
	HF_HUB_OFFLINE=1 nice -n 10 $(BIN)/python bench/compress.py

# Few-shot SST-2 (k = 8, 16, 64 per class, 3 seeds): fastbridge's SetFit and frozen-embedding head vs. the setfit library
# (installs the `bench` extra of settings.ini, the pinned setfit, first: pip does nothing when it is there already)
bench-fewshot: $(STAMP)
	$(BIN)/python -m pip install -q $$(sed -n 's/^bench_requirements *= *//p' settings.ini)
	HF_HUB_OFFLINE=1 nice -n 10 $(BIN)/python bench/fewshot.py

# Issue 13: where a CPU training step goes (native, and float32 capped at AVX2), fastbridge vs the Trainer with
# group_by_length in both settings, and the time to 90% SST-2 validation accuracy (results in bench/results/)
bench-speed: $(STAMP)
	HF_HUB_OFFLINE=1 nice -n 10 $(BIN)/python bench/profile_step.py --tag bf16
	HF_HUB_OFFLINE=1 nice -n 10 $(BIN)/python bench/profile_step.py --isa avx2 --bf16 off --tag avx2
	HF_HUB_OFFLINE=1 nice -n 10 $(BIN)/python bench/throughput.py --engines fastbridge trainer-grouped --tag bf16
	HF_HUB_OFFLINE=1 nice -n 10 $(BIN)/python bench/throughput.py --engines fastbridge trainer-grouped --isa avx2 --bf16 off --tag avx2
	HF_HUB_OFFLINE=1 nice -n 10 $(BIN)/python bench/time_to_accuracy.py --tag bf16
	HF_HUB_OFFLINE=1 nice -n 10 $(BIN)/python bench/time_to_accuracy.py --isa avx2 --bf16 off --full-schedule --tag avx2
