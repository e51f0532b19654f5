#!/bin/sh
# Transform benchmark: capstat's SQL models in DuckDB vs a straightforward
# pandas script doing the main computations on the same raw data.
#
#   bench/transform/run.sh [scale] [dir]     scale: tiny|small|medium|large (default medium)
#
# The first run crawls the sandbox at that scale with the ingester
# (rawdata.duckdb) and exports the raw tables as CSV for pandas; later runs
# reuse them. Prints each side's compute time, wall time and peak RSS, and
# the speed-up ratio (wall and CPU time: on a shared machine the CPU
# time is the stable figure).
set -eu
SCALE=${1:-medium}
DIR=${2:-/tmp/capstat-bench-$SCALE}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$DIR"
cd "$ROOT"
go build -o "$DIR/benchtransform" ./bench/transform
if [ ! -f "$DIR/rawdata.duckdb" ] || [ ! -f "$DIR/csv/proposal_votes.csv" ]; then
	"$DIR/benchtransform" prepare -scale "$SCALE" -dir "$DIR"
fi
/usr/bin/time -f '%e %U %S %M' -o "$DIR/go.time" "$DIR/benchtransform" transform -dir "$DIR" > "$DIR/go.json"
/usr/bin/time -f '%e %U %S %M' -o "$DIR/py.time" /usr/bin/python3 "$ROOT/bench/transform/pandas_transform.py" "$DIR/csv" > "$DIR/py.json"
/usr/bin/python3 - "$DIR" "$SCALE" <<'PY'
import json, sys
d, scale = sys.argv[1], sys.argv[2]
go, py = json.load(open(f"{d}/go.json")), json.load(open(f"{d}/py.json"))
gw, gu, gs, grss = open(f"{d}/go.time").read().split()[-4:]
pw, pu, ps, prss = open(f"{d}/py.time").read().split()[-4:]
gcpu, pcpu = float(gu) + float(gs), float(pu) + float(ps)
print(f"scale {scale}: {go['models']} models + {go['tests']} data tests")
print(f"  duckdb transform : {go['seconds']:8.2f} s in Run, {float(gw):8.2f} s wall, {gcpu:8.2f} s CPU, peak RSS {int(grss)/1024:6.0f} MiB")
print(f"  pandas baseline  : {py['seconds']:8.2f} s in script, {float(pw):8.2f} s wall, {pcpu:8.2f} s CPU, peak RSS {int(prss)/1024:6.0f} MiB")
print(f"  speed-up: {pw and float(pw)/float(gw):.1f}x wall, {pcpu/gcpu:.1f}x CPU time (CPU time is the fairer figure on a shared, overloaded machine)")
print(f"  check: daily votes duckdb {go['daily_votes']} / pandas {py['daily_votes']}, budget editions {go['budget_editions']} / {py['budget_editions']}")
PY
