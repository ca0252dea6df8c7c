# Two set-up commands on a fresh machine: `make demo` and `make test`. Both share `make install`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export EMISSION_HOME ?= $(CURDIR)/.emission_home

.PHONY: install demo test ui bench validation clean

install: $(STAMP)

# Re-installs only when the pins or the package metadata change.
$(STAMP): setup.py constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/emission-tracker demo

test: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/python -m pytest -q -n 2 --dist worksteal emission_assets_tests

ui: install
	$(BIN)/emission-tracker ui

# Not a test: one full year of SMARD + Tibber through the lakehouse, against a DuckDB floor, then the growth table
# (1 week .. 5 years) and the walls of `make demo` / `make test` (docs/benchmarks.md; ~13 min on 2 cores).
# `make bench BENCH_ARGS=` runs the year alone.
BENCH_ARGS ?= --growth --with-make-times
bench: install
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

# Not a test: docs/validation.md regenerated from the bundled real SMARD export 2019-2023 (~1-3 min on 2 cores).
validation: install
	$(BIN)/python scripts/validate_merit_order.py

clean:
	rm -rf $(VENV) *.egg-info
