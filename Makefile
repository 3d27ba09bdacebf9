# flowyard — newcomer entry points. Every target is idempotent.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DATA   ?= data/demo
PORT   ?= 8080

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Serves the demo flow on http://127.0.0.1:$(PORT)/ (PORT=8081 make demo when 8080 is taken).
# Headless instead: $(VENV)/bin/flowyard demo --headless
demo: $(STAMP)
	$(VENV)/bin/flowyard demo --data-dir $(DATA) --port $(PORT)

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
