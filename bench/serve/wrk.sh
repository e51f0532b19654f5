#!/usr/bin/env bash
# Load test of the capstat server with wrk (apt-get install -y wrk) on
# loopback while a CPU-heavy fake pipeline job runs in the server process.
# Two bounded phases: the home page, then a 1 MiB CSV download.
#   bash bench/serve/wrk.sh [seconds-per-phase (default 8)] [connections (default 32)]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-8}
conns=${2:-32}
(( secs > 9 )) && secs=9   # total stays under 20 s
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install -y wrk)" >&2; exit 1; }
bin=$(mktemp -d)/bench-serve
go build -o "$bin" ./bench/serve
out=$(mktemp)
"$bin" -serve-for $((2 * secs + 3))s -cpu-workers 1 >"$out" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^listening ' "$out" && break; sleep 0.1; done
base=$(sed -n 's/^listening //p' "$out")
[ -n "$base" ] || { cat "$out"; exit 1; }
echo "== home page ($base/) =="
wrk -t1 -c"$conns" -d"${secs}s" --latency "$base/"
echo "== download ($base/data/latest/csv/proposals.csv) =="
wrk -t1 -c"$conns" -d"${secs}s" --latency "$base/data/latest/csv/proposals.csv"
wait "$pid"
