# ccbridge: `make demo` and `make test` do everything on a fresh machine.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
CONFIG ?= examples/ccbridge.yaml
PYTEST_ARGS ?=

.PHONY: install demo test lint services bench serve clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/ccbridge demo

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

services:
	bash scripts/ensure_services.sh

test: install services lint
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) || echo "bench: no wrk; using bench/loadgen.py"
	$(PY) bench/run_all.py

serve: install
	$(VENV)/bin/ccbridge serve --config $(CONFIG)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
