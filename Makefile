# The one task runner. Works on a fresh Debian/Ubuntu machine with python3 and
# python3-venv, without activating the virtual environment.
#   make run    install, configure, migrate, seed when empty, serve on
#               127.0.0.1:$PORT (8000 unless PORT is set)
#   make test   lint + the whole test suite
#   make lint   ruff check, ruff format --check, mypy
#   make e2e    the browser tests only
#   make resilience  three instances behind nginx under faults (also in make test)
#   make bench  the app against hello-world under the same gunicorn (a few minutes)
#   make requirements  resolve requirements*.in into the pinned, hashed .txt files
#   make vm-test  provision.sh in Debian 13 roots, amd64 and arm64, from cold (as root)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app microblog
# `PORT=8123 make run` serves on another port (loopback only, as always).
PORT ?= 8000

.PHONY: help run test lint e2e resilience bench requirements vm-test

help:
	@echo "make run | make test | make lint | make e2e | make resilience | make bench | make requirements | make vm-test"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Every install checks each downloaded file against the hashes in the lock file.
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check \
	--require-hashes

# Stamp files: pip runs again only when a requirements file changed since.
$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements.txt
	touch $@

# requirements-dev.txt holds the runtime pins too, with the same versions.
$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

# One resolution valid on every platform and every Python from .python-version
# up (Debian 13 servers run 3.13), hashed for all of each version's files on
# PyPI (x86_64 and aarch64 wheels, sdist). The current pins stay unless an .in
# file needs others: REQUIREMENTS_ARGS=--upgrade, or
# REQUIREMENTS_ARGS="--upgrade-package flask", moves them.
REQUIREMENTS_ARGS ?=
COMPILE_REQUIREMENTS := $(BIN)/uv pip compile --quiet --universal \
	--fork-strategy fewest --python-version $(shell cat .python-version) \
	--generate-hashes --custom-compile-command 'make requirements' \
	$(REQUIREMENTS_ARGS)

requirements: $(VENV)/.installed-dev
	$(COMPILE_REQUIREMENTS) requirements.in --output-file requirements.txt
	$(COMPILE_REQUIREMENTS) requirements-dev.in --output-file requirements-dev.txt

# Written once, never overwritten: it holds this machine's own secret key.
.env: | .env.example
	umask 077; \
	key="$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(32))')"; \
	sed "s/^SECRET_KEY=.*/SECRET_KEY=$$key/" .env.example > $@.tmp; \
	mv $@.tmp $@
	@echo "Wrote .env with a fresh SECRET_KEY."

run: $(VENV)/.installed-run .env
	$(FLASK) translate compile
	$(FLASK) db upgrade
	$(FLASK) seed --if-empty --users 20 --follows 5 --posts 5
	$(BIN)/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:$(PORT) 'microblog:create_app()'

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy microblog tests bench

# Tests run against the app as built, compiled translations included; this form
# of the command needs no .env or SECRET_KEY.
COMPILE_TRANSLATIONS := $(BIN)/python -m microblog.i18n.commands compile

test: lint
	$(COMPILE_TRANSLATIONS)
	$(BIN)/pytest

e2e: $(VENV)/.installed-dev
	$(COMPILE_TRANSLATIONS)
	$(BIN)/pytest -m e2e

# RESILIENCE_SOAK_SECONDS sets the soak's length (default 60).
resilience: $(VENV)/.installed-dev
	$(BIN)/pytest -m resilience

# provision.sh end to end in Debian 13 roots (amd64, and arm64 under qemu) and the
# app's tests on Python 3.13, from cold: the roots are built in an empty cache,
# not taken from /var/cache/microblog-ci. Prints the time of every step.
vm-test: $(VENV)/.installed-dev
	$(COMPILE_TRANSLATIONS)
	cache="$$(mktemp -d /var/tmp/microblog-vm-cold.XXXXXX)"; \
	status=0; \
	MICROBLOG_VM_CACHE="$$cache" REQUIRE_SERVICES=1 $(BIN)/pytest tests/vm -q || status=$$?; \
	MICROBLOG_VM_CACHE="$$cache" $(BIN)/python -m tests.vm.debian_root report; \
	rm -rf "$$cache"; \
	exit $$status

# Needs PostgreSQL and wrk (apt-get install postgresql wrk); says so if missing.
# Options: make bench BENCH_ARGS="--seconds 5 --growth-posts 0"
BENCH_ARGS ?=
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run $(BENCH_ARGS)
