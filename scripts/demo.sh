#!/usr/bin/env bash
# Installs everything, indexes seeds/ into the embedded store (./data) and serves the search app.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m indexer demo "$@"
