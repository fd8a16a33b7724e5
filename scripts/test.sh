#!/usr/bin/env bash
# Installs everything on a fresh machine and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh -r requirements-dev.txt
scripts/browser.sh   # Debian chromium + chromedriver for tests/test_e2e.py
# linters first: a finding fails the run before the suite starts
.venv/bin/ruff check --quiet .
.venv/bin/ruff format --check --quiet .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
