# Polis — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export POLIS_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: run test check bench install demo db-upgrade clean lock

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create the virtual environment and install Polis with its pinned dependencies

run: $(STAMP) ## migrate the embedded database, load the demo data, start the server
	$(BIN)/polis db upgrade
	$(BIN)/polis demo
	POLIS_LOG_FORMAT=$${POLIS_LOG_FORMAT:-console} $(BIN)/polis serve

test: $(STAMP) ## run the whole test suite
	$(BIN)/python -m pytest -n $${POLIS_TEST_WORKERS:-2} $(PYTEST_ARGS)

check: $(STAMP) ## format, lint and type gates (also run in CI)
	bash scripts/check

bench: $(STAMP) ## run the benchmarks and write docs/benchmarks.md
	command -v wrk >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null \
		|| echo "wrk not installed: the activation benchmark uses its httpx client"
	$(BIN)/python -m bench

lock: ## re-pin every dependency (after editing pyproject.toml)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
