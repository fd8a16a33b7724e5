#!/usr/bin/env bash
# Installs everything on a fresh machine and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh -r requirements-dev.txt
scripts/browser.sh   # Debian chromium + chromedriver for tests/test_e2e.py
exec .venv/bin/python -m pytest "$@"
