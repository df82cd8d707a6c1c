# HERP Hire <-> Outlook integration. Prerequisites: Python 3.11, Node.js >= 20, make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: setup run test clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

local.settings.json:
	cp local.settings.sample.json $@

# Azurite + Microsoft emulator + function host on 127.0.0.1:7071; Ctrl-C stops all.
run: setup local.settings.json
	$(PY) -m devtools.run

# Unit + Azurite integration + end-to-end (each session starts its own Azurite/emulator/host on free ports).
test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules .devtools .pytest_cache
