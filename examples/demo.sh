#!/usr/bin/env bash
# `make demo`: the main job end to end on the embedded defaults (SQLite + shipped sample data).
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
mqk() { uv run --locked --quiet mqk-cli "$@"; }

bars=examples/data/AAPL_1d.csv
out=exports/demo
mkdir -p .mqk
export MQK_DATABASE_URL="${MQK_DATABASE_URL:-sqlite:///$PWD/.mqk/mqk.db}"

echo "== 1. Configuration: both engines' effective config is layered, validated and hashed"
for engine in MAIN EXP; do
  printf '%-5s config_hash ' "$engine"
  mqk config hash --engine "$engine" --env dev
done

echo
echo "== 2. Data integrity: validate the shipped sample ($bars) against the NYSE calendar"
mqk data validate "$bars" --timeframe 1d --calendar XNYS

echo
echo "== 3. Backtest: MAIN (sma_cross) with the slippage_x2 stress profile"
echo "   (the stress layer is part of the effective config, so its hash differs from step 1)"
rm -rf "$out"
mqk backtest run --engine MAIN --bars "$bars" --stress slippage_x2 --out "$out"

echo
echo "== 4. Replay: re-run from the manifest and prove the event-stream hash"
mqk backtest replay "$out"

echo
echo "== 5. Run lifecycle in the embedded SQLite database (PAPER): CREATED -> ARMED -> RUNNING -> STOPPED"
echo "   (db migrate is idempotent: step 3 already brought the database to the latest schema when it recorded the backtest)"
mqk db migrate
status() { python3 -c 'import json, sys; r = json.load(sys.stdin); print("  %-10s run %s -> %s" % (sys.argv[1], r["run_id"], r["status"]))' "$1"; }
created=$(mqk run create --engine MAIN --mode PAPER --env dev --json)
run_id=$(printf '%s' "$created" | python3 -c 'import json, sys; print(json.load(sys.stdin)["run_id"])')
printf '%s' "$created" | status create
mqk run arm "$run_id" --json | status arm
mqk run begin "$run_id" --json | status begin
mqk run heartbeat "$run_id" --json | status heartbeat
mqk run stop "$run_id" --json | status stop
echo
echo "Results:"
echo "  backtest artifacts  $out/ (manifest.json, audit.jsonl, orders.csv, fills.csv, equity_curve.csv, metrics.json)"
echo "  report              $out/report.html"
echo "  database            $MQK_DATABASE_URL"
