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
# floor-cpu-s, publish-cpu-s and cpu-ratio are the process's CPU seconds
# (DuckDB's threads included): on a shared machine they move far less than
# the elapsed times, so compare cpu-ratio first.
#   bench/publish/run.sh            # 3M rows, 2 iterations
#   CAPSTAT_BENCH_ROWS=500000 bench/publish/run.sh
#   CAPSTAT_BENCH_CSV_MAX=200000 bench/publish/run.sh   # CSV only up to 200k rows
#   CAPSTAT_BENCH_WORKERS=2 bench/publish/run.sh        # datasets written at once
#   bench/publish/run.sh large      # the real release of the sandbox's large world
# `large` builds a real working database once (cached in
# $CAPSTAT_BENCH_LARGE_DIR, default /tmp/capstat-bench-publish-large; delete
# working.duckdb there to rebuild): the sandbox at --scale large with its nine
# collectivities, then `capstat ingest` and `capstat transform` into it. The
# benchmark then reads it (CAPSTAT_BENCH_DB) instead of generating rows.
# `large-build` only builds that cache (e.g. under nice while the machine is
# busy with someone else's timing).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
out=bench/publish/results.txt
mode=rows=${CAPSTAT_BENCH_ROWS:-3000000}
if [ "${1:-}" = large ] || [ "${1:-}" = large-build ]; then
	dir=${CAPSTAT_BENCH_LARGE_DIR:-/tmp/capstat-bench-publish-large}
	port=${PORT:-18787}
	if [ ! -f "$dir/working.duckdb" ]; then
		mkdir -p "$dir"
		go build -o "$dir/capstat" ./cmd/capstat
		rm -f "$dir/building.duckdb" "$dir/building.duckdb.wal"
		(cd "$dir" && exec ./capstat sandbox --scale large --seed 1 --addr "127.0.0.1:$port" --write-config capstat.yaml >sandbox.log 2>&1) &
		sandbox=$!
		trap 'kill $sandbox 2>/dev/null || true' EXIT
		until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
			kill -0 $sandbox 2>/dev/null || { cat "$dir/sandbox.log" >&2; exit 1; }
			sleep 0.2
		done
		# Relative paths of the config (secrets, var/) resolve in $dir.
		(
			cd "$dir"
			t0=$(date +%s)
			./capstat ingest --config capstat.yaml --db building.duckdb --log-level warn >ingest.log
			t1=$(date +%s)
			./capstat transform --config capstat.yaml --db building.duckdb --log-level warn
			t2=$(date +%s)
			echo "built $dir/working.duckdb: ingest $((t1 - t0)) s, transform $((t2 - t1)) s" | tee build.log
		)
		kill $sandbox 2>/dev/null || true
		trap - EXIT
		mv "$dir/building.duckdb" "$dir/working.duckdb"
	fi
	[ "$1" = large-build ] && exit 0
	export CAPSTAT_BENCH_DB="$dir/working.duckdb"
	mode="db=large($(du -m "$CAPSTAT_BENCH_DB" | cut -f1) MB)"
fi
cd "$root"
{
	echo "## $(date -u +%Y-%m-%dT%H:%M:%SZ) $(git rev-parse --short HEAD) $mode csv_max=${CAPSTAT_BENCH_CSV_MAX:-default} workers=${CAPSTAT_BENCH_WORKERS:-default} $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
	go test -run '^$' -bench 'Publish$' -benchtime "${BENCHTIME:-2x}" -timeout 60m ./reports/ 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)|bench_test'
	echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$out"
