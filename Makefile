# sparserec: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-test
RUN_STAMP := $(VENV)/.installed
DEMO_OUT ?= results/demo

.PHONY: demo test test-all test-nojit lint-imports bench figures figures-smoke install clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUN_STAMP): $(VENV)/bin/python setup.cfg pyproject.toml
	$(PY) -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## demo: create .venv, install, run the quick phase-transition experiment (table + figures)
demo: $(RUN_STAMP)
	$(PY) -m experiments.phase_transition --out $(DEMO_OUT)

## test: create .venv, install .[test], check the layering contract, run the fast test suite
test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q -p no:cacheprovider tests/kernels

## lint-imports: check the layering contract alone (setup.cfg, [importlinter])
lint-imports: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache

## test-all: also run the tests marked slow
test-all: $(STAMP)
	$(PY) -m pytest -q -m "slow or not slow"

## test-nojit: the kernel tests with numba disabled (NumPy twins vs pure-Python kernels)
test-nojit: $(STAMP)
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q tests/kernels

## bench: ratio benchmarks (medians of side-by-side repeats)
bench: $(STAMP)
	$(PY) benchmarks/run.py

## figures: regenerate every committed figure under paper_figures/
figures: $(STAMP)
	$(PY) paper_figures/make_all.py

## figures-smoke: every figure script at tiny size (into a temporary directory)
figures-smoke: $(STAMP)
	$(PY) paper_figures/make_all.py --smoke $(if $(FIGURES_OUT),--out $(FIGURES_OUT))

clean:
	rm -rf build dist *.egg-info .pytest_cache results
	find . -name __pycache__ -prune -exec rm -rf {} +
