# The README's two commands: `make demo` and `make test`. Both create the venv
# on first use, from exact pins, and reuse it afterwards.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-full lint typecheck unit bench lock clean coverage-doc json-doc

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/smus-mesh demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Lint first (2 s); mypy (8-20 s of CPU on a fresh clone, no cache) runs beside the tests
# and fills the time their workers wait, its output shown and its failure counted at the end.
# Three workers on two cores: a worker waiting (on a subprocess, a timer, the emulator's
# latency) leaves its core to the others. Back to back on a quiet machine, -n 3 took
# 178 s and 200 s where -n 2 took 226 s (four, on a loaded machine, pushed reads past the
# emulator's first-read grace; ADR 33). Chunks of two tests, with the long flows collected
# first (tests/conftest.py), keep the workers finishing together.
test: lint
	@out=$$(mktemp); $(BIN)/mypy > $$out 2>&1 & mypy=$$!; \
	$(BIN)/pytest -n 3 --maxschedchunk 2 -q; tests=$$?; \
	wait $$mypy; typed=$$?; echo "$(BIN)/mypy"; cat $$out; rm -f $$out; \
	test $$tests = 0 && test $$typed = 0

# The reliability suite's full matrix (every crash point of up and down, the fault
# matrix at three seeds, SMUS_MESH_FUZZ_EXAMPLES fuzzed configs): minutes, not seconds.
test-full: $(STAMP)
	SMUS_MESH_FUZZ_EXAMPLES=$${SMUS_MESH_FUZZ_EXAMPLES:-500} \
		$(BIN)/pytest -n 2 -q -m full tests/reliability

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

bench: $(STAMP)
	$(BIN)/python bench/run.py

coverage-doc: $(STAMP)
	$(BIN)/python -m smus_mesh_emulator.coverage > docs/emulator-coverage.md

lock:
	$(BIN)/python -m pip freeze --all | grep -v '^-e\|^smus' | \
		sed '1i # Exact pins of every package in the project venv (pip freeze --all).\n# Regenerate with: make lock' > requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

# docs/json.md: the JSON output contract, generated from src/smus_mesh/contract.py
# (tests/cli/test_json_contract.py fails when it is stale).
json-doc: $(STAMP)
	$(BIN)/python -m smus_mesh.contract > docs/json.md
