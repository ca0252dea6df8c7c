# Two set-up commands on a fresh machine: `make demo` and `make test`. Both share `make install`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export EMISSION_HOME ?= $(CURDIR)/.emission_home

.PHONY: install demo test ui clean

install: $(STAMP)

# Re-installs only when the pins or the package metadata change.
$(STAMP): setup.py constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/emission-tracker demo

test: install
	$(BIN)/python -m pytest -q emission_assets_tests

ui: install
	$(BIN)/emission-tracker ui

clean:
	rm -rf $(VENV) *.egg-info
