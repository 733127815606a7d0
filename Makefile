# Two commands a new machine needs: `make demo` and `make test`.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTHON ?= python3

.PHONY: install browser java demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Only the browser tests need a browser: Debian's Chromium alone (no recommended packages,
# no browser download), installed once when missing; sudo only for a user who is not root.
browser:
	@command -v chromium >/dev/null || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium; }

# Entity resolution on Spark (its tests in local mode) needs a Java runtime: Debian's 17,
# headless, installed once when missing.
java:
	@command -v java >/dev/null || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends openjdk-17-jre-headless; }

demo: install
	$(BIN)/tamis demo

# On both cores (not --dist loadfile: the API fuzz test's operations share one test id, and
# grouped by file only the first of them would run).
test: install browser java
	$(BIN)/python -m pytest -q -n 2

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	for b in startup ingest assess valuation learn web intel transit documents social load; do $(BIN)/python bench/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) demo tamis.db tamis.db-wal tamis.db-shm test-artifacts
