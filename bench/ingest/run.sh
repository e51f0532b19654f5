#!/bin/sh
# Ingester benchmark with the sandbox in its own process.
# Usage: bench/ingest/run.sh [scale] [instances] [latency] [concurrency]
set -eu
SCALE=${1:-large}
INSTANCES=${2:-gironde,landes}
LATENCY=${3:-0s}
CONC=${4:-4}
PORT=${PORT:-18099}
cd "$(dirname "$0")/../.."
go build -o /tmp/ingestbench ./bench/ingest
/tmp/ingestbench serve -scale "$SCALE" -instances "$INSTANCES" -latency "$LATENCY" -addr 127.0.0.1:$PORT > /tmp/ingestbench-serve-$PORT.log 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null || true' EXIT
until grep -q serving /tmp/ingestbench-serve-$PORT.log 2>/dev/null; do sleep 0.5; done
cat /tmp/ingestbench-serve-$PORT.log
env ${CRAWL_ENV:-} /tmp/ingestbench crawl ${CRAWL_FLAGS:-} -url http://127.0.0.1:$PORT -instances "$INSTANCES" -concurrency "$CONC" -db /tmp/ingestbench-$PORT.duckdb ${MEMLIMIT:+-duckdb-memory-limit "$MEMLIMIT"} 2>/tmp/ingestbench-crawl-$PORT.log
