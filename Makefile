# flowyard — newcomer entry points. Every target is idempotent.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DATA   ?= data/demo

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/flowyard demo --data-dir $(DATA)

lint: $(STAMP)
	$(VENV)/bin/ruff check runtime processors clusters canvas_ui tests bench
	$(VENV)/bin/mypy
	PYTHONPATH=.typecheck $(VENV)/bin/lint-imports --no-cache

test: lint
	$(PY) -m pytest -p no:cacheprovider

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) data *.egg-info
