# ccbridge: `make demo` and `make test` do everything on a fresh machine.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
CONFIG ?= examples/ccbridge.yaml
PYTEST_ARGS ?=

.PHONY: install demo test lint services bench soak serve clean screenshots

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

# issue 15's table needs PostgreSQL and RabbitMQ (services); BENCH_SECONDS=2 BENCH_ROUNDS=1 for a short run
bench: install services
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) || echo "bench: no wrk; using bench/loadgen.py"
	$(PY) bench/run_all.py

# mixed load with faults (kill -9 rounds, failing and hanging endpoints); SOAK_MINUTES=1 for a short run
SOAK_MINUTES ?= 60
soak: install services
	SOAK_MINUTES=$(SOAK_MINUTES) $(PY) bench/soak.py
	KILL9_ROUNDS=5 $(PY) -m pytest -q -s -p no:cacheprovider tests/e2e/test_kill9.py
	FUZZ_EXAMPLES=500 $(PY) -m pytest -q -p no:cacheprovider tests/e2e/test_openapi_fuzz.py

# the dashboard's screenshots in docs/screenshots (README "Dashboard"), taken by the browser tests
screenshots: install services
	SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -q -p no:cacheprovider tests/browser

serve: install
	$(VENV)/bin/ccbridge serve --config $(CONFIG)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
