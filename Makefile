# The two commands a newcomer needs: `make demo` and `make test`. Each sets itself up from scratch.
# PYTHON picks the interpreter a venv is made with; give another Python its own VENV (MIN_VENV for
# test-min): an existing venv is reused as it is. CI (.ci/run) runs the suite on the lowest and the
# highest Python declared, e.g. `make test PYTHON=python3.13 VENV=.venv-py3.13` and
# `make test-min PYTHON=python3.10 MIN_VENV=.venv-min-py3.10`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: test test-min demo e2e screenshots bench bench-quick clean

$(VENV)/.installed-%: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$*]'
	touch $@

# The suite runs in TEST_JOBS pytest-xdist workers, a test file to a worker (a notebook's cells share one kernel):
# most of its time is spent waiting (kernels starting and exiting, the pace tests keeping to Kiwoom's rates), so three
# workers take it from 15 minutes to about 7 even on 2 cores. TEST_JOBS=0 runs it in one process.
TEST_JOBS ?= 3
PYTEST_JOBS := -n $(TEST_JOBS) --dist loadfile

test: $(VENV)/.installed-test
	bash scripts/ensure-tmux.sh
	bash scripts/ensure-redis.sh
	$(PY) -m compileall -q kiwoom_nb
	$(PY) -m pytest $(PYTEST_JOBS) $(PYTEST_ARGS)

# Bytecode is compiled at install (uv does not by default) and for kiwoom_nb before each run: where
# PYTHONDONTWRITEBYTECODE is set (CI machines), every kernel the tests start would otherwise compile pandas and
# IPython again (2.6 s against 1 s per import on 3.10; test-min took 17 minutes).
#
# The same suite on the lowest versions pyproject.toml declares, in .venv-min: uv resolves the direct
# dependencies (runtime and test extra) to their lowest allowed versions (--resolution lowest-direct), and
# scripts/lowest-versions.py prints them and fails if one is not exactly its declared bound. uv comes from
# PyPI into .venv-uv.
UV_VENV  ?= .venv-uv
UV       := $(UV_VENV)/bin/uv
MIN_VENV ?= .venv-min
MIN_PY   := $(MIN_VENV)/bin/python

$(UV):
	test -x $(UV_VENV)/bin/python || $(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install -q 'uv>=0.5'

$(MIN_VENV)/.installed: pyproject.toml | $(UV)
	rm -rf $(MIN_VENV)
	UV_PYTHON_DOWNLOADS=never $(UV) venv -q --python $(PYTHON) $(MIN_VENV)
	$(UV) pip install -q --compile-bytecode --python $(MIN_PY) --resolution lowest-direct -e '.[test]'
	touch $@

# The guide check (tests/test_fids.py) reads Kiwoom's kwcli wheel, which uv cannot download and .venv-min has no pip
# for: it is fetched once into .cache/kwcli (ignored by git) with the uv venv's pip, where the test finds it.
KWCLI_DIR   ?= .cache/kwcli
KWCLI_WHEEL := $(KWCLI_DIR)/kwcli-1.0.3-py3-none-any.whl

$(KWCLI_WHEEL): | $(UV)
	$(UV_VENV)/bin/python -m pip download -q 'kwcli==1.0.3' --no-deps --only-binary=:all: --python-version 3.13 \
		-d $(KWCLI_DIR)

test-min: $(MIN_VENV)/.installed $(KWCLI_WHEEL)
	bash scripts/ensure-redis.sh
	$(MIN_PY) -m compileall -q kiwoom_nb
	$(MIN_PY) scripts/lowest-versions.py test
	KIWOOM_NB_KWCLI_WHEEL=$(abspath $(KWCLI_WHEEL)) $(MIN_PY) -m pytest $(PYTEST_JOBS) $(PYTEST_ARGS)

# The fake Kiwoom and JupyterLab on notebooks/quickstart.ipynb (and universe.ipynb, live.ipynb), on 127.0.0.1, until Ctrl-C (scripts/demo.py --help).
demo: $(VENV)/.installed-demo
	$(PY) scripts/demo.py $(DEMO_ARGS)

# Browser tests (e2e/, their own pytest.ini): Playwright drives Debian's Chromium against JupyterLab and Notebook 7.
# Their screenshots go to test-results/ (ignored by git); `make screenshots` runs the panel's tests to
# replace the tracked docs/panel-*.png the READMEs show.
CHROMIUM ?= /usr/bin/chromium
e2e: $(VENV)/.installed-e2e
	bash scripts/ensure-chromium.sh $(CHROMIUM)
	E2E_CHROMIUM=$(CHROMIUM) $(PY) -m pytest e2e $(E2E_ARGS)

screenshots: $(VENV)/.installed-e2e
	bash scripts/ensure-chromium.sh $(CHROMIUM)
	KIWOOM_NB_SCREENSHOTS=1 E2E_CHROMIUM=$(CHROMIUM) $(PY) -m pytest e2e/test_panel.py e2e/test_demo.py e2e/test_complete.py e2e/test_board.py e2e/test_voila_live.py $(E2E_ARGS)

# Benchmarks (BENCHMARKS.md) run in their own venv, so kiwoom-client (the comparison) never enters
# the project's env. `make bench` takes minutes; `make bench-quick` only checks the script still works.
BENCH_VENV ?= .venv-bench
BENCH_PY   := $(BENCH_VENV)/bin/python

$(BENCH_VENV)/.installed: pyproject.toml
	test -x $(BENCH_PY) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install -q --upgrade pip
	$(BENCH_PY) -m pip install -q -e '.[bench]' 'kiwoom-client==0.4.0'
	touch $@

bench: $(BENCH_VENV)/.installed
	$(BENCH_PY) bench/bench.py $(BENCH_ARGS)

bench-quick: $(BENCH_VENV)/.installed
	BENCH_QUICK=1 $(BENCH_PY) bench/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(MIN_VENV) $(UV_VENV) .venv-py3.* .venv-min-py3.* $(KWCLI_DIR) build dist *.egg-info
