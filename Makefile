# Two commands for a newcomer: `make book` and `make test`.  See README.md; `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS ?= $(sort $(wildcard chapters/*.ipynb))

# The Pythons that requirements.txt has wheels for on every supported platform: TensorFlow 2.21's
# 3.10–3.13. tests/platform resolves the requirements for each, and fails where this list is wrong.
SUPPORTED_PYTHONS := 3.10 3.11 3.12 3.13

# The Colab-like lane: Colab's library versions (requirements-colab.txt) in an environment of its own,
# on this machine's Python (TensorFlow 2.19 has wheels up to 3.12; the kernel pinned there needs 3.11).
COLAB_PYTHON ?= $(PYTHON)
COLAB_SUPPORTED_PYTHONS := 3.11 3.12
COLAB_VENV := .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed
COLAB_CHAPTERS ?= chapters

# Keras keeps its downloads (Fashion-MNIST) under $KERAS_HOME; keep them in this repository's cache.
export KERAS_HOME := $(CURDIR)/data/keras
export TF_CPP_MIN_LOG_LEVEL := 3
# oneDNN's custom operations: off, as TensorFlow already leaves them on most CPUs. On CPUs with
# AVX-512 VNNI/BF16 they are on by default and TensorFlow then prints two lines to stderr on import
# that TF_CPP_MIN_LOG_LEVEL does not silence; off, every CPU computes the same way, quietly.
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONUNBUFFERED := 1

# Refuses, with the reason and what to do instead, a Python or a machine that the pinned
# environment has no wheels for, before anything is installed or removed. Its argument is the list
# of supported versions. Written so that any Python, old ones too, can run it and print the message.
define CHECK_PYTHON
import platform, sys
version = "%d.%d" % sys.version_info[:2]
supported = sys.argv[1].split()
if sys.platform == "darwin" and platform.machine() == "x86_64":
    sys.exit("Intel Macs cannot build this environment: TensorFlow's last wheels for them are 2.16's, "
             "and this book needs 2.19 or later. Read the book online or run its chapters in Colab. "
             "(On an Apple-silicon Mac, use an arm64 Python, not one running under Rosetta.)")
if sys.platform.startswith("win") or sys.platform == "cygwin":
    sys.exit("make needs Linux or macOS: on Windows, run it in WSL (Ubuntu).")
if version not in supported:
    sys.exit("Python %s (%s) cannot build this environment: its pinned libraries have wheels for "
             "Python %s. Name one of those, e.g. make PYTHON=python%s" % (version, sys.executable,
             ", ".join(supported), supported[-1]))
endef
export CHECK_PYTHON

# The Python that $(1) runs on: the real path of its base interpreter and its version; empty when
# $(1) does not run. A virtual environment gives its base's, so the two can be compared.
python_id = $(shell $(1) -c 'import os, sys; print(os.path.realpath(sys._base_executable), "%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)

# $(call environment,DIR,PYTHON,REQUIREMENTS,SUPPORTED): the virtual environment DIR, built by PYTHON,
# with REQUIREMENTS installed. A venv cannot change its interpreter, so one that another Python built
# is removed and built anew; a venv that failed to build is not left behind.
define environment
@$(2) -c "$$CHECK_PYTHON" "$(4)"
@if [ -d $(1) ] && [ "$(call python_id,$(1)/bin/python)" != "$(call python_id,$(2))" ]; then \
	echo "$(1) runs on another Python than $(2): building it anew"; rm -rf $(1); fi
test -d $(1) || $(2) -m venv $(1) || { rm -rf $(1); exit 1; }
$(1)/bin/python -m pip install --quiet --upgrade pip
$(1)/bin/python -m pip install --quiet -r $(3)
touch $(1)/.installed
endef

# An environment that runs on another Python than the one asked for is out of date, whatever the
# file times say. (The Colab one is looked at only for a goal that needs it: each look starts Pythons.)
ifneq ($(call python_id,$(PYTHON)),$(call python_id,$(BIN)/python))
.PHONY: $(STAMP)
endif
ifneq ($(filter test-colab $(COLAB_STAMP),$(MAKECMDGOALS)),)
ifneq ($(call python_id,$(COLAB_PYTHON)),$(call python_id,$(COLAB_VENV)/bin/python))
.PHONY: $(COLAB_STAMP)
endif
endif

.PHONY: install features book test execute lab test-colab sync-repository-url clean distclean help

## Create .venv with PYTHON (anew when PYTHON is another interpreter) and install requirements.txt.
install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(call environment,$(VENV),$(PYTHON),requirements.txt,$(SUPPORTED_PYTHONS))

## Compute the EfficientNet-Lite0 features chapters 4–6 read, once per checkout (minutes), with progress.
features: install
	time $(BIN)/python -m helpers.features

## Build the HTML book from the notebooks' stored outputs (nothing is executed).
book: install
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Open _build/html/index.html"

## Every check: helpers unit tests, each chapter under nbval, freshness, book build, browser.
test: install
	$(BIN)/python -m pytest --nbval-lax

## Re-execute every notebook in place, one clean top-to-bottom run each, timed.
execute: install
	@for nb in $(NOTEBOOKS); do \
		echo "== $$nb"; \
		( time $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=900 --ExecutePreprocessor.record_timing=False \
			"$$nb" ) || exit 1; \
	done

## Open the chapters in JupyterLab (as root too, as in a Docker container, where Jupyter needs --allow-root).
lab: install
	$(BIN)/jupyter lab chapters $(if $(filter 0,$(shell id -u)),--allow-root)

$(COLAB_STAMP): requirements-colab.txt pyproject.toml
	$(call environment,$(COLAB_VENV),$(COLAB_PYTHON),requirements-colab.txt,$(COLAB_SUPPORTED_PYTHONS))

## The chapters under nbval on Colab's library versions (requirements-colab.txt, in .venv-colab); COLAB_CHAPTERS picks.
test-colab: $(COLAB_STAMP)
	$(COLAB_VENV)/bin/python -m pytest --nbval-lax --nbval-current-env $(COLAB_CHAPTERS)

## After a fork sets its repository url in _config.yml: point each chapter's Colab install cell at it.
sync-repository-url:
	@url=$$(awk '/^repository:/ {r = 1; next} r && /^[^ #]/ {r = 0} r && $$1 == "url:" {print $$2}' _config.yml); \
	test -n "$$url" || { echo "_config.yml names no repository url" >&2; exit 1; }; \
	sed -i.bak -E "s#git\+https?://[^\"\\\\]+#git+$$url#g" $(NOTEBOOKS) && rm -f $(addsuffix .bak,$(NOTEBOOKS)); \
	echo "The chapters' Colab install cells install from $$url"

## Remove the built book.
clean:
	rm -rf _build

## Remove everything make built: the book, both virtual environments, packaging leftovers (data/ stays).
distclean: clean
	rm -rf $(VENV) $(COLAB_VENV) build *.egg-info

## List these targets.
help:
	@awk '/^## / {doc = substr($$0, 4); next} /^[a-z][a-z-]*:/ && doc {sub(/:.*/, ""); printf "make %-20s %s\n", $$0, doc} {doc = ""}' $(firstword $(MAKEFILE_LIST))
