#!/usr/bin/env bash
# Creates .venv and installs the project's pinned requirements (idempotent, no network at run time
# beyond the package registry).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first and alone: 2.13.0 is the local CPU build; nothing after it may replace it
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -r requirements.txt "$@"
