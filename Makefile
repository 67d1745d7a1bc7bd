# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= build
DEMO_EXTRACT := $(OUT)/extracts/region_demo

.PHONY: demo test venv lint bench bench-national clean

venv: $(STAMP)

# Installed with uv (parallel downloads): on the 2-core CI-sized machine under
# load, 1 min 15 s against 7 min 26 s for pip, in the same minutes. If uv cannot
# be had or fails, pip does the same install. Bytecode is compiled at install
# (--compile-bytecode, as pip does): where PYTHONDONTWRITEBYTECODE=1 is set (as on
# this machine) nothing would otherwise cache it, and every `opspor` process the
# tests start compiled pandas, sklearn, mlflow... again (`opspor --help` 6.6 s
# against 2.4 s once compiled).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	{ $(BIN)/python -m pip install --quiet uv \
	  && $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]'; } \
	|| $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

OPSPOR := OPSPOR_OUTPUT_DIR=$(OUT) $(BIN)/opspor

WEEK ?= 2026-W48

# The whole main job on a generated synthetic region: every step is a plain
# `opspor` command, so the demo doubles as a worked example of the CLI.
demo: $(STAMP)
	$(OPSPOR) synth --profile region_demo --out $(DEMO_EXTRACT)
	$(OPSPOR) load $(DEMO_EXTRACT)
	$(OPSPOR) features catalogue
	$(OPSPOR) --json train diabetes_harm_365d > $(OUT)/train.json
	$(OPSPOR) weekly --programme diabetes_bus --week $(WEEK)
	$(OPSPOR) score --model diabetes_harm_365d --as-of $$($(BIN)/python -c 'import json; print(json.load(open("$(OUT)/train.json"))["test_date"])')
	$(OPSPOR) audit --programme diabetes_bus --model diabetes_harm_365d@champion
	$(OPSPOR) card --model diabetes_harm_365d@champion
	$(OPSPOR) governance-pack --programme diabetes_bus
	$(OPSPOR) --json train smi_somatic_365d > $(OUT)/train_smi.json
	$(OPSPOR) train smi_somatic_365d_rule
	$(OPSPOR) train smi_somatic_365d_gp
	$(OPSPOR) weekly --programme smi_somatic_screening --week $(WEEK)
	for m in smi_somatic_365d smi_somatic_365d_rule smi_somatic_365d_gp; do \
	  $(OPSPOR) score --model $$m --as-of $$($(BIN)/python -c 'import json; print(json.load(open("$(OUT)/train_smi.json"))["test_date"])') || exit 1; done
	$(OPSPOR) audit --programme smi_somatic_screening --model smi_somatic_365d@champion
	$(OPSPOR) card --model smi_somatic_365d@champion
	$(OPSPOR) governance-pack --programme smi_somatic_screening
	$(OPSPOR) users add-demo
	@echo
	@echo "Demo done. Weekly Diabetes Bus list: $(OUT)/lists/diabetes_bus/$(WEEK).{csv,xlsx,html}"
	@echo "SMI somatic screening list: $(OUT)/lists/smi_somatic_screening/$(WEEK).{csv,xlsx,html}"
	@echo "Fairness reports: $(OUT)/reports/diabetes_bus/, $(OUT)/reports/smi_somatic_screening/; model cards: $(OUT)/reports/models/"
	@echo "Web app: $(BIN)/opspor serve  (sign in as koordinator / demo-koordinator)"

# The linters run first: a lint failure stops the tests.
# Opspor's own modules are compiled first for the same reason (a few seconds).
test: $(STAMP) lint
	$(BIN)/python -m compileall -q -j 0 $(PACKAGES) >/dev/null
	$(BIN)/python -m pytest -q -n auto --dist loadfile --no-loadscope-reorder --durations=25

# ruff and mypy strict over the five packages (mypy's packages, strictness and
# cache dir .mypy_cache are in pyproject.toml), sqlfluff over their SQL (.sqlfluff).
# Measured on the 2-core CI-sized machine: ruff 0.3 s; mypy 25 s cold, 1 s with
# its cache; sqlfluff 15-21 s on one process (--processes 2 gained nothing).
PACKAGES := synthetic_data features models outreach reports
# mypy and sqlfluff each use one core: they run side by side (both must pass).
lint: $(STAMP)
	$(BIN)/ruff check $(PACKAGES)
	$(BIN)/mypy & mypy=$$!; \
	$(BIN)/sqlfluff lint features models outreach reports; fluff=$$?; \
	wait $$mypy && test $$fluff -eq 0

# Benchmarks are long (1,000,000 citizens each); results land in bench/results/*.json.
BENCHES := bench_synth bench_load bench_features bench_models bench_lists bench_web bench_monitor
bench: $(STAMP)
	for b in $(BENCHES); do $(BIN)/python -m bench.$$b || exit 1; done

# National scale (issue 18): 6,000,000 citizens against a 1,000,000 baseline in one
# session (hours on 2 cores; ~50 GB of disk at the peak, removed at the end).
bench-national: $(STAMP)
	$(BIN)/python -m bench.bench_national

clean:
	rm -rf $(OUT) $(VENV)
