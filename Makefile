# Two commands on a fresh machine:  `make demo`  (a full simulated scan, headless)
#                                   `make test`  (the test suite, slow tests included)
# Both create ./.venv and install the project into it first (once; again when
# pyproject.toml changes). `make mutation` (not part of `make test`: ~15-20 min on 2
# cores) mutation-tests the safety supervisor, the loop clock, the scan's transitions and
# the time law, and prints the score per module (docs/testing.md).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.robot-us-installed

.PHONY: demo test lint bench install mutation

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "robot-us needs Python >= 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/robot-us demo

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	for b in bench/*.py; do $(PY) $$b --out bench-results || exit 1; done

mutation: $(STAMP)
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children 2
	$(PY) tests/mutation_score.py
