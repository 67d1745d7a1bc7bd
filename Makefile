# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= build
DEMO_EXTRACT := $(OUT)/extracts/region_demo

.PHONY: demo test venv lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

OPSPOR := OPSPOR_OUTPUT_DIR=$(OUT) $(BIN)/opspor

demo: $(STAMP)
	$(OPSPOR) synth --profile region_demo --out $(DEMO_EXTRACT)
	$(OPSPOR) load $(DEMO_EXTRACT)
	@echo "Demo done: extract in $(DEMO_EXTRACT), warehouse in $(OUT)/opspor.duckdb"

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check synthetic_data features models outreach reports tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(OUT) $(VENV)
