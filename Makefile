# MiniQuantDesk V4 — the two commands a user needs: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11

PACKAGES := mqk-schemas mqk-config mqk-integrity mqk-strategy mqk-portfolio mqk-risk \
            mqk-isolation mqk-reconcile mqk-execution mqk-backtest mqk-db mqk-runtime mqk-cli
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_FLAGS ?= -q -p no:cacheprovider

.PHONY: help install compile demo test lint format typecheck layers deptry test-packages \
        test-pure test-integration wheels bench clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

install:  ## install uv if missing, then the locked workspace environment (compiled to bytecode)
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --locked --quiet --compile-bytecode
	@# the workspace's own sources too: with PYTHONDONTWRITEBYTECODE set (common in containers)
	@# every command would otherwise recompile them at start-up
	@$(UV) run --locked --quiet python -m compileall -q -j 0 packages/*/src apps/*/src >/dev/null

compile: install  ## compile the backtest's hot modules with mypyc, in place (skipped without a C compiler)
	@$(UV) run --locked python tools/compiled.py build

demo: install  ## run the main job end to end on SQLite and the shipped sample data
	@$(UV) run --locked python tools/compiled.py refresh
	@bash examples/demo.sh

test: install compile lint typecheck layers deptry test-packages test-pure test-integration wheels  ## everything CI checks
	@echo "make test: all checks passed"

lint:  ## ruff lint + format check
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .

format:  ## apply ruff formatting and safe fixes
	$(UV) run --locked ruff check --fix .
	$(UV) run --locked ruff format .

typecheck:  ## mypy --strict over every package (sources and tests)
	$(UV) run --locked mypy packages/*/src apps/*/src

layers:  ## static layering contract (import-linter)
	$(UV) run --locked lint-imports

deptry:  ## each member declares every third-party and sibling it imports
	@for p in $(PACKAGES); do \
	  dir=packages/$$p; [ -d $$dir ] || dir=apps/$$p; \
	  out=$$(cd $$dir && $(UV) run --locked --project ../.. deptry src 2>&1) \
	    || { echo "deptry $$dir:"; echo "$$out"; exit 1; }; \
	done
	@echo "deptry: every member declares what it imports"

test-packages:  ## each package's tests, alone, in an env holding only it and its declared deps
	@for p in $(PACKAGES); do \
	  dir=packages/$$p; [ -d $$dir ] || dir=apps/$$p; \
	  echo "== $$p (isolated)"; \
	  $(UV) run --locked --isolated --package $$p --directory $$dir pytest $(PYTEST_FLAGS) tests \
	    || { rc=$$?; [ $$rc -eq 5 ] && echo "   (no tests collected)" || exit $$rc; }; \
	done

test-pure:  ## the compiled packages', the CLI's and the integration tests again on the pure-Python sources (what a wheel runs)
	@for p in $$($(UV) run --locked python -c 'import sys; sys.path.insert(0, "tools"); import compiled; print(*compiled.COMPILED)'); do \
	  echo "== $$p (pure Python)"; \
	  MQK_PURE_PYTHON=1 $(UV) run --locked pytest $(PYTEST_FLAGS) packages/$$p/tests; \
	done
	@echo "== mqk-cli and tests-integration (pure Python in the test process)"
	MQK_PURE_PYTHON=1 $(UV) run --locked pytest $(PYTEST_FLAGS) apps/mqk-cli/tests tests-integration

test-integration:  ## cross-package flows, in the full workspace env
	$(UV) run --locked pytest $(PYTEST_FLAGS) tests-integration

wheels:  ## build every wheel with --no-sources and install each alone into a fresh venv
	bash .ci/check-wheels.sh

bench: compile  ## speed and memory benchmarks -> benchmarks/RESULTS.md
	$(UV) run --locked python benchmarks/bench_backtest.py --write
	$(UV) run --locked python benchmarks/bench_validate.py --write

clean:  ## remove build output, caches and the compiled modules
	rm -rf dist .mypy_cache .ruff_cache .pytest_cache
	@$(UV) run --locked python tools/compiled.py clean
