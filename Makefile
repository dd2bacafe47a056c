# Strongroom — the two commands a newcomer runs are `make demo` and `make test`.
# The first of Python 3.11, 3.12, 3.13 found; `make install PYTHON=python3.13` to choose.
PYTHON ?= $(firstword $(foreach v,3.11 3.12 3.13,$(shell command -v python$(v))) python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JS := js-sdk
JS_DEPS := $(JS)/node_modules/.package-lock.json
JS_BUNDLE := $(JS)/dist/manifest.json
# mitmproxy is the edge's wiretap in the e2e tests and its yardstick in bench/edge.py. It
# gets a venv of its own: mitmproxy 11 pins h11<=0.14 and cryptography<44.1, while the
# services pin h11==0.16.0 (the request-smuggling fix) and a newer cryptography.
MITMPROXY := mitmproxy==11.0.2
MITM_VENV := .venv-mitmproxy
MITM_STAMP := $(MITM_VENV)/.installed
# checkov (terraform/'s static checks) pins packaging<24 while pytest needs packaging>=24:
# a venv of its own too.
CHECKOV := checkov==3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: install demo up test lint typecheck unit services browser jstest terraform-check ops-tools bench-edge image-check clean

install: $(STAMP) $(JS_BUNDLE) $(MITM_STAMP) $(CHECKOV_STAMP)

# The edge's C scanner is built by the editable install: a change to it installs again.
$(STAMP): pyproject.toml edge_proxy/detect/_scan.c
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11, 3.12 or 3.13" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' || { \
	  echo "error: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); Strongroom needs 3.11, 3.12 or 3.13 (make install PYTHON=python3.12)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(MITM_STAMP): Makefile
	$(PYTHON) -m venv $(MITM_VENV)
	$(MITM_VENV)/bin/pip install --quiet '$(MITMPROXY)'
	touch $(MITM_STAMP)

$(CHECKOV_STAMP): Makefile
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet '$(CHECKOV)'
	touch $(CHECKOV_STAMP)

# strongroom.js: npm ci from the committed lock file, then the esbuild build into dist/.
$(JS_DEPS): $(JS)/package-lock.json
	scripts/browser node
	cd $(JS) && npm ci --no-audit --no-fund

$(JS_BUNDLE): $(JS_DEPS) $(JS)/build.mjs $(JS)/package.json $(shell find $(JS)/src -type f)
	cd $(JS) && npm run build

# `make demo PORT=9080`: every process on consecutive ports from 9080 (edge 9080, router
# 9081, …, demo shop 9087) when the default ones (8080-8086, 8000) are taken.
PORT ?=
PORT_ARGS := $(if $(PORT),--port-base $(PORT))

demo: install
	$(BIN)/strongroom init --data-dir var
	$(BIN)/strongroom demo --data-dir var $(PORT_ARGS)

up: install
	$(BIN)/strongroom up --data-dir var $(PORT_ARGS)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy .

services:
	scripts/services

browser:
	scripts/browser

jstest: install
	cd $(JS) && npm test

# checkov over terraform/, offline; the skips it honours are inline, each with its reason
# (tests/terraform/test_checkov_skips.py keeps the list short).
terraform-check: install
	$(CHECKOV_VENV)/bin/checkov --directory terraform --framework terraform --skip-download --compact --quiet

# promtool, for the alert rules' checks and unit tests in tests/ops.
ops-tools:
	scripts/ops-tools

test: install lint typecheck services browser jstest terraform-check ops-tools
	$(BIN)/pytest

# The edge benchmark with wrk as its load generator (bench/edge.py --help for options).
bench-edge: install
	scripts/bench-tools
	$(BIN)/python bench/edge.py

# The Dockerfile built and run for real: every service's container, the whole stack, one
# charge through the edge (ops/image_check.py; docs/operations.md). Needs root; starts a
# Docker engine if none answers; no image registry. Not part of `test`: CI has no engine.
image-check: $(STAMP)
	$(BIN)/python ops/image_check.py

clean:
	rm -rf $(VENV) $(MITM_VENV) $(CHECKOV_VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis $(JS)/node_modules $(JS)/dist
