#!/usr/bin/env bash
# Creates .venv and installs the project's pinned requirements (idempotent, no network at run time
# beyond the package registry). pip runs only when something it would install changed: a stamp in
# .venv names the hash of this script, its arguments and the requirement files, so re-running
# scripts/demo.sh goes straight to the app.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
hash=$({ cat "$0" requirements.txt; printf '%s\n' "$@"; for a in "$@"; do [ ! -f "$a" ] || cat "$a"; done; } | sha256sum | cut -c1-16)
stamp=".venv/.setup-$hash"
if [ -e "$stamp" ]; then
  exit 0  # installed by an earlier run with the same requirements
fi
.venv/bin/python -m pip install -q --upgrade pip
# torch first and alone: 2.13.0 is the local CPU build; nothing after it may replace it
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -r requirements.txt "$@"
touch "$stamp"
