# Two commands for a newcomer: `make book` and `make test`.  See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS ?= $(sort $(wildcard chapters/*.ipynb))

# Keras keeps its downloads (Fashion-MNIST) under $KERAS_HOME; keep them in this repository's cache.
export KERAS_HOME := $(CURDIR)/data/keras
export TF_CPP_MIN_LOG_LEVEL := 3
# oneDNN's custom operations: off, as TensorFlow already leaves them on most CPUs. On CPUs with
# AVX-512 VNNI/BF16 they are on by default and TensorFlow then prints two lines to stderr on import
# that TF_CPP_MIN_LOG_LEVEL does not silence; off, every CPU computes the same way, quietly.
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONUNBUFFERED := 1

.PHONY: install book test execute lab clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

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

clean:
	rm -rf _build
