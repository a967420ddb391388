# Summon — the developer workflow. `make dev` runs the whole stack, `make test` every check.
# Each target installs what it needs into .venv first (only Python, git and make required).

PYTHON ?= python3
VENV := .venv
STAGE ?= dev
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_PROGRESS_BAR := off

.PHONY: help dev test lint format typecheck unit integration api e2e cdk synth check-templates \
        chalice-policy package deploy bench install install-infra clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-dev: $(VENV)/bin/python requirements.txt requirements-dev.txt
	$(PIP) install -q -r requirements-dev.txt
	$(PY) -c "import chalice, moto, pynamodb, pydantic, jwt, websockets, pytest"
	touch $@

$(VENV)/.installed-infra: $(VENV)/.installed-dev requirements-infra.txt
	$(PIP) install -q -r requirements-infra.txt
	$(PY) -c "import aws_cdk, constructs, cfnlint, checkov"
	touch $@

install: $(VENV)/.installed-dev ## create .venv and install the app and dev tools

install-infra: $(VENV)/.installed-infra ## also install the CDK, cfn-lint and checkov

dev: install ## start the whole local stack with demo data (Ctrl-C stops it)
	$(PY) -m devstack

test: install-infra ## everything CI runs: lint, format check, mypy, all pytest markers
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest

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

cdk: install-infra ## infra/ assertion tests
	$(PY) -m pytest -m cdk

synth: install-infra ## CDK templates to infra/cdk.out, chalice package to build/chalice
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

clean: ## remove build outputs and caches (keeps .venv)
	rm -rf build infra/cdk.out .pytest_cache .mypy_cache .ruff_cache .devstack
