# flowyard — newcomer entry points. Every target is idempotent.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DATA   ?= data/demo
PORT   ?= 8080
WEB    := canvas_ui/web
CANVAS := $(WEB)/dist/index.html
NPM_STAMP := $(WEB)/node_modules/.installed
CANVAS_SOURCES := $(shell find $(WEB)/src -type f 2>/dev/null) $(WEB)/index.html $(WEB)/vite.config.ts \
                  $(WEB)/tsconfig.json $(WEB)/package.json $(WEB)/package-lock.json
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: bench-peers demo demo-connectors cluster-demo test bench lint clean canvas chromium etcd wheel

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The canvas (TypeScript, React, @xyflow/react), built by Vite into $(WEB)/dist
# and served by the API server at /. Rebuilt only when its sources change.
$(NPM_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

$(CANVAS): $(NPM_STAMP) $(CANVAS_SOURCES)
	cd $(WEB) && npm run build --silent

canvas: $(CANVAS)

# Debian's Chromium for the browser tests (Playwright drives it; no `playwright install`).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# Debian's etcd for the cluster tests (each test starts its own on loopback; nothing runs as a service).
etcd:
	@command -v etcd >/dev/null && command -v etcdctl >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq --no-install-recommends etcd-server etcd-client >/dev/null; }

# Serves the demo flow on http://127.0.0.1:$(PORT)/ (PORT=8081 make demo when 8080 is taken).
# Headless instead: $(VENV)/bin/flowyard demo --headless
demo: $(STAMP) $(CANVAS)
	$(VENV)/bin/flowyard demo --data-dir $(DATA) --port $(PORT)

# Serves the connectors demo (orders through this machine's PostgreSQL, RabbitMQ and MQTT
# broker; docs/demo-connectors.md) on http://127.0.0.1:$(PORT)/, data in data/demo-connectors.
demo-connectors: $(STAMP) $(CANVAS)
	$(VENV)/bin/flowyard demo --flow connectors --data-dir data/demo-connectors --port $(PORT)

# A three-node cluster on this machine (docs/cluster.md): etcd and nodes n1, n2, n3 on
# http://127.0.0.1:$(PORT)/ and the next two ports, data in data/cluster-demo. Ctrl-C stops all.
cluster-demo: $(STAMP) $(CANVAS) etcd
	$(VENV)/bin/python -m flowyard.bootstrap.cluster_demo --data-dir data/cluster-demo --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check runtime processors clusters canvas_ui bootstrap tests bench
	$(VENV)/bin/mypy
	PYTHONPATH=.typecheck $(VENV)/bin/lint-imports --no-cache

test: lint $(CANVAS) chromium etcd
	$(PY) -m pytest -p no:cacheprovider

bench: $(STAMP) $(CANVAS) chromium
	$(PY) bench/run.py

# flowyard's chain5 (standard and stateless) beside Node-RED's, alternately, in one sitting
# (needs ../shared/bench/peers/nodered-chain5.sh; it installs Node-RED from npm on first use).
bench-peers: $(STAMP)
	$(PY) bench/peers.py

# The sdist and the wheel in dist/, both with the built canvas (the wheel is built
# from the sdist, as pip would): pip install dist/flowyard-*.whl. Building either
# without the canvas fails (setup.py), so this target builds the canvas first.
wheel: $(STAMP) $(CANVAS)
	rm -rf dist
	$(PY) -m build --outdir dist .

clean:
	rm -rf $(VENV) data *.egg-info build dist $(WEB)/node_modules $(WEB)/dist
