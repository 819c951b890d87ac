#!/usr/bin/env bash
# `make demo`: the most useful end-to-end thing the system can do, on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
mqk() { uv run --locked --quiet mqk-cli "$@"; }

echo "== 1. Effective configuration of both engines (layers merged, validated, hashed)"
for engine in MAIN EXP; do
  mqk config show --engine "$engine" --env dev
  echo
done
