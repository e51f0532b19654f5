#!/usr/bin/env bash
# Benchmark of reports.Publish against the floor (a bare DuckDB
# `COPY … TO … (FORMAT parquet, COMPRESSION zstd)` of the same working tables).
# Generates CAPSTAT_BENCH_ROWS rows (default 3,000,000) with the catalogue's
# shapes in an on-disk working DuckDB, then reports seconds per phase, bytes
# and the ratios. Results are appended to bench/publish/results.txt.
#   bench/publish/run.sh            # 3M rows, 2 iterations
#   CAPSTAT_BENCH_ROWS=500000 bench/publish/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/publish/results.txt
{
	echo "## $(date -u +%Y-%m-%dT%H:%M:%SZ) rows=${CAPSTAT_BENCH_ROWS:-3000000} $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
	go test -run '^$' -bench 'Publish$' -benchtime "${BENCHTIME:-2x}" -timeout 60m ./reports/ 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)|bench_test'
	echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$out"
