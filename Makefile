# HERP Hire <-> Outlook integration. Prerequisites: Python 3.11, Node.js >= 20, make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
VENV_WORKER := .venv-worker
VENV_TOOLS  := .venv-tools

.PHONY: setup test-tools chromium fonts run lint test test-fast test-deps screenshots clean

setup: $(VENV)/.installed node_modules/.installed fonts

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# What only the tests need, apart from .venv: the Functions worker, checkov + pycep, Chromium.
test-tools: $(VENV_WORKER)/.installed $(VENV_TOOLS)/.installed chromium

# tests/infra: the Azure Functions Python worker indexes function_app.py in its own venv (the
# app's runtime requirements + the worker, which declares Python >= 3.13 but indexes fine on 3.11).

$(VENV_WORKER)/.installed: requirements.txt tests/infra/requirements-worker.txt
	test -x $(VENV_WORKER)/bin/python || $(PYTHON) -m venv $(VENV_WORKER)
	$(VENV_WORKER)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(VENV_WORKER)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --ignore-requires-python -r tests/infra/requirements-worker.txt
	touch $@

# tests/infra: checkov + pycep for infra/*.bicep, apart from .venv (their pins conflict with pytest's).
$(VENV_TOOLS)/.installed: infra/requirements-tools.txt
	test -x $(VENV_TOOLS)/bin/python || $(PYTHON) -m venv $(VENV_TOOLS)
	$(VENV_TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements-tools.txt
	touch $@

# Browser tests drive Debian's Chromium with Playwright (never `playwright install`). Where it
# cannot be installed (not root, no apt), those tests say so and skip. After `fonts`: one apt at a time.
chromium: | fonts
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } ; } || \
	  echo "chromium could not be installed: the browser tests will be skipped"

# A Japanese font, so that Chromium (the browser tests, the README's screenshots) draws the console's
# labels instead of empty boxes: IPA Gothic (3.5 MB; fonts-noto-cjk would be 57 MB). Only where
# setup runs as root with apt, as for Chromium; elsewhere it says so and goes on.
fonts:
	@fc-list :lang=ja 2>/dev/null | grep -q . || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-ipafont-gothic >/dev/null; } ; } || \
	  echo "no Japanese font could be installed (needs root and apt): screenshots will show empty boxes for Japanese"

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The sample with a random HERP_JWT_SECRET: the app refuses the sample's public one.
local.settings.json:
	$(PYTHON) -m devtools.local_settings

# Azurite + Microsoft emulator + function host on 127.0.0.1:7071; Ctrl-C stops all.
run: setup local.settings.json
	$(PY) -m devtools.run

# ruff (lint + formatting) on the whole tree; mypy on the app (configuration in pyproject.toml);
# the import rules (no circle, layers one way, no use case importing another: docs/architecture.md).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m devtools.import_check

# Lint, then every test in TEST_JOBS pytest-xdist workers. Each worker is its own pytest session
# and starts its own Azurite/emulator/host on free ports: tests of different workers share nothing.
# The set-up and the lint run first, as parallel make jobs (the three venvs install side by side).
TEST_JOBS ?= 4
test: test-deps
	$(PY) -m pytest -n $(TEST_JOBS) --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS)

test-deps:
	$(MAKE) --no-print-directory -j 6 --output-sync=target lint test-tools

# The edit loop: unit + Azurite integration tests (no emulator, host, browser or infra tools).
test-fast: setup
	$(PY) -m pytest -n 2 --dist loadgroup --no-loadscope-reorder tests/unit tests/integration $(PYTEST_ARGS)

# The README's "Try it" screenshots: the browser journey test (tests/e2e/test_journey.py) saves one
# per step into docs/images/.
screenshots: setup test-tools
	JOURNEY_SCREENSHOTS=docs/images $(PY) -m pytest tests/e2e/test_journey.py -q

clean:
	rm -rf $(VENV) node_modules .devtools .pytest_cache
	rm -rf $(VENV_WORKER) $(VENV_TOOLS)
