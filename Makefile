# Summon — the developer workflow. `make dev` runs the whole stack, `make test` every check.
# Each target installs what it needs into .venv first (only Python, git and make required).

PYTHON ?= python3
VENV := .venv
STAGE ?= dev
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_PROGRESS_BAR := off

.PHONY: help dev dev-reset test lint format typecheck unit integration api e2e fuzz cdk synth check-templates \
        chalice-policy package deploy bench soak install install-infra clean web web-gen web-check \
        web-test chromium mutation screenshots

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	@echo "Creating the virtualenv .venv ($(PYTHON) -m venv)..."
	@$(PYTHON) -m venv $(VENV)

# Each install says what it does and how long it took (pip is quiet otherwise).
TIMED = start=$$(date +%s); $(1) && echo "  done in $$(( $$(date +%s) - start )) s"

$(VENV)/.installed-dev: $(VENV)/bin/python requirements.txt requirements-dev.txt
	@echo "Installing the Python packages into .venv (requirements-dev.txt; about 1.5 minutes the first time)..."
	@$(call TIMED,$(PIP) install -q -r requirements-dev.txt)
	@$(PY) -c "import chalice, moto, pynamodb, pydantic, jwt, websockets, pytest"
	@touch $@

$(VENV)/.installed-infra: $(VENV)/.installed-dev requirements-infra.txt
	@echo "Installing the CDK and template checkers into .venv (requirements-infra.txt; about 1.5 minutes the first time)..."
	@$(call TIMED,$(PIP) install -q -r requirements-infra.txt)
	@$(PY) -c "import aws_cdk, constructs, cfnlint, checkov"
	@touch $@

install: $(VENV)/.installed-dev ## create .venv and install the app and dev tools

install-infra: $(VENV)/.installed-infra ## also install the CDK, cfn-lint and checkov

dev: install web ## start the whole local stack and the web app; keeps its data across restarts (Ctrl-C stops it)
	@$(PY) -m devstack

dev-reset: install web ## like dev, but forget the kept local data first: a fresh demo seed
	@$(PY) -m devstack --reset

test: install-infra web web-check chromium ## everything CI runs: lint, format, mypy, contracts, all pytest markers
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest

# --- the web app (web/: Node 20 + npm) --------------------------------------------------
WEB_SOURCES := $(shell find web/src web/public web/console web/docs -type f 2>/dev/null) \
               web/index.html web/vite.config.ts web/tsconfig.json

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ (e.g. apt-get install nodejs npm)"; exit 1; }
	@echo "Installing the web app's npm packages (npm ci; about 20 s the first time)..."
	@$(call TIMED,cd web && npm ci --no-audit --no-fund --loglevel=error)
	@touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	@echo "Building the web app (tsc + vite; a few seconds)..."
	@$(call TIMED,cd web && npm run --silent build)
	@touch $@

web: web/dist/index.html ## build web/ into web/dist (reused while its sources are unchanged)

web-gen: install web/node_modules/.package-lock.json ## regenerate the OpenAPI/AsyncAPI documents and the typed client
	$(PY) web/scripts/contracts.py
	cd web && node scripts/gen-api.mjs

web-check: install web/node_modules/.package-lock.json ## fail when the generated contracts or client are stale
	$(PY) web/scripts/contracts.py --check
	cd web && node scripts/gen-api.mjs --check && node scripts/validate-asyncapi.mjs && npx tsc --noEmit

chromium: ## make sure a Chromium for the browser tests is there (apt where it can)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "$$CHROMIUM" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium with apt-get (about a minute, once)..."; \
	    apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	  else \
	    echo "The browser tests need Chromium: install it with your package manager, e.g."; \
	    echo "  sudo apt-get install chromium   (Debian/Ubuntu)   brew install --cask chromium   (macOS)"; \
	    echo "or point CHROMIUM=/path/to/chrome at one."; exit 1; \
	  fi; }

web-test: install web chromium ## the browser tests (Playwright for Python driving Chromium)
	$(PY) -m pytest -m web

screenshots: install web chromium ## refresh docs/screenshots/ (the README's) from the browser tests
	SUMMON_SCREENSHOTS=docs/screenshots $(PY) -m pytest -m web

lint: install ## ruff lint + format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install ## apply ruff's fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

typecheck: install ## mypy (strict for chalicelib)
	$(PY) -m mypy

unit: install ## pure tests only (seconds)
	$(PY) -m pytest -m unit

integration: install ## storage/AWS tests against moto
	$(PY) -m pytest -m integration

api: install ## routes through chalice.test.Client
	$(PY) -m pytest -m api

e2e: install ## the real local stack on free ports, over real sockets
	$(PY) -m pytest -m e2e

fuzz: install ## schemathesis on /openapi.json of the local stack, as a customer and a provider (not in make test)
	$(PY) -m pytest -m fuzz tests/fuzz -s

cdk: install-infra ## infra/ assertion tests
	$(PY) -m pytest -m cdk

synth: install-infra web ## CDK templates (with the built web app) to infra/cdk.out, chalice package to build/chalice
	$(PY) infra/scripts/synth.py

check-templates: synth ## cfn-lint, checkov and cdk-nag (AwsSolutions) on the synthesized app
	$(PY) infra/scripts/check.py

chalice-policy: install-infra ## regenerate .chalice/policy-<stage>.json (least privilege)
	$(PY) infra/scripts/chalice_policy.py --stage dev > .chalice/policy-dev.json
	$(PY) infra/scripts/chalice_policy.py --stage prod > .chalice/policy-prod.json

package: install ## chalice package into build/chalice, without the runtime's AWS SDK, with bytecode
	$(PY) -m infra.packaging --stage $(STAGE) build/chalice

deploy: install ## chalice deploy --stage $(STAGE) (default dev), reusing the finished package
	$(PY) -m infra.packaging --stage $(STAGE) build/chalice
	$(VENV)/bin/chalice deploy --stage $(STAGE)

bench: install ## benchmarks: print figures (never assert)
	$(PY) -m bench

SOAK_ARGS ?=
soak: install ## bounded soak: 500 simulated users for 10 min (SOAK_ARGS="--users 50 --seconds 30")
	$(PY) -m bench.soak $(SOAK_ARGS)

mutation: install ## mutation testing of chalicelib/domain (mutmut; minutes; TARGET=checks for the auth/state checks)
	$(PY) -m scripts.mutation $(or $(TARGET),domain)

clean: ## remove build outputs and caches (keeps .venv and the local data: make dev-reset forgets it)
	rm -rf build infra/cdk.out .pytest_cache .mypy_cache .ruff_cache .schemathesis
