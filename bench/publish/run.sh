#!/usr/bin/env bash
# Benchmark of reports.Publish against the floor (a bare DuckDB
# `COPY … TO … (FORMAT parquet, COMPRESSION zstd)` of the same working tables).
# Generates CAPSTAT_BENCH_ROWS rows (default 3,000,000) with the catalogue's
# shapes in an on-disk working DuckDB, then reports seconds per phase, bytes
# and the ratio publish/floor. Results are appended to bench/publish/results.txt.
# Iteration 1 publishes with no previous release, iteration 2 over unchanged
# data (changes come from the fingerprints). checks-s, parquet-s, csv-s and
# changes-s add up the time of the workers writing datasets at once (their
# sum exceeds the elapsed time); snapshot-s, meta-s and verify-s follow.
#   bench/publish/run.sh            # 3M rows, 2 iterations
#   CAPSTAT_BENCH_ROWS=500000 bench/publish/run.sh
#   CAPSTAT_BENCH_CSV_MAX=200000 bench/publish/run.sh   # CSV only up to 200k rows
#   CAPSTAT_BENCH_WORKERS=2 bench/publish/run.sh        # datasets written at once
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/publish/results.txt
{
	echo "## $(date -u +%Y-%m-%dT%H:%M:%SZ) $(git rev-parse --short HEAD) rows=${CAPSTAT_BENCH_ROWS:-3000000} csv_max=${CAPSTAT_BENCH_CSV_MAX:-default} workers=${CAPSTAT_BENCH_WORKERS:-default} $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
	go test -run '^$' -bench 'Publish$' -benchtime "${BENCHTIME:-2x}" -timeout 60m ./reports/ 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)|bench_test'
	echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$out"
