#!/bin/sh
# Incremental refresh vs full crawl, with the sandbox in its own process:
# a full crawl (and the decode-only floor of its CPU), a refresh with no
# change, then a refresh after one epoch of the evolving world (≈ 1 % of
# the data changed).
# Usage: bench/ingest/refresh.sh [scale] [instances] [concurrency]
set -eu
SCALE=${1:-large}
INSTANCES=${2:-gironde,landes,meuse,tarn,deux-sevres,charente,pas-de-calais,correze,occitanie}
CONC=${3:-4}
PORT=${PORT:-18098}
DB=/tmp/ingestbench-refresh-$PORT.duckdb
cd "$(dirname "$0")/../.."
go build -o /tmp/ingestbench ./bench/ingest
/tmp/ingestbench serve -scale "$SCALE" -instances "$INSTANCES" -addr 127.0.0.1:$PORT > /tmp/ingestbench-refresh-serve.log 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null || true' EXIT
until grep -q serving /tmp/ingestbench-refresh-serve.log 2>/dev/null; do sleep 0.5; done
crawl() { /tmp/ingestbench crawl -url http://127.0.0.1:$PORT -instances "$INSTANCES" -concurrency "$CONC" -db $DB "$@" > /tmp/ingestbench-refresh.out 2>/tmp/ingestbench-refresh.err || { tail -5 /tmp/ingestbench-refresh.err; exit 1; }; grep "^RESULT" /tmp/ingestbench-refresh.out; }
echo "== full crawl (epoch 0)"; crawl -floor
echo "== refresh, no change"; crawl -keep
curl -fsS -X POST http://127.0.0.1:$PORT/_admin/epoch; echo
echo "== refresh after one epoch"; crawl -keep
echo "== full crawl of the same epoch"; crawl -keep -full
