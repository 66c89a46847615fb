# ecredit — the two commands of the README: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,spark]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/ecredit demo

lint: setup
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

# Tests marked `spark` run in a pytest process of their own, without xdist: one Spark JVM, one session
# (xdist would start one per worker; its --dist loadgroup does not group with pytest 9.2's node ids).
# They run with the SQLite store only: they read the lake manifest the way the DuckDB tests do on both stores.
test: setup lint
	@echo "== ecredit test suite on SQLite (embedded store) =="
	env -u ECREDIT_TEST_DATABASE_URL $(BIN)/pytest -n 2 -m "not spark"
	@echo "== the Spark tests (one process, one Spark session) =="
	env -u ECREDIT_TEST_DATABASE_URL $(BIN)/pytest -m spark
	@if [ -n "$$ECREDIT_TEST_DATABASE_URL" ]; then \
		echo "== ecredit test suite on PostgreSQL ($$ECREDIT_TEST_DATABASE_URL), without the Spark tests =="; \
		$(BIN)/pytest -n 2 -m "not spark"; \
	else \
		echo "== PostgreSQL run not requested: set ECREDIT_TEST_DATABASE_URL to run the suite on PostgreSQL too =="; \
	fi

bench: setup
	$(BIN)/python bench/registry.py

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
