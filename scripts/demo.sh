#!/bin/sh
# Runs capstat end to end against its own sandbox of the Cap Collectif API.
set -eu
BIN=${BIN:-bin/capstat}
SCALE=${SCALE:-small}
SEED=${SEED:-1}
ADDR=${ADDR:-127.0.0.1:8787}
mkdir -p var
rm -rf var/vote-exports
"$BIN" sandbox --addr "$ADDR" --seed "$SEED" --scale "$SCALE" --write-config var/capstat.demo.yaml --write-vote-exports var/vote-exports >var/sandbox.log 2>&1 &
SANDBOX=$!
trap 'kill $SANDBOX 2>/dev/null || true' EXIT INT TERM
i=0
until curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 600 ] || ! kill -0 $SANDBOX 2>/dev/null; then
		echo "demo: the sandbox did not start, see var/sandbox.log" >&2
		cat var/sandbox.log >&2
		exit 1
	fi
	sleep 0.1
done
"$BIN" run --config var/capstat.demo.yaml
# Pabulib files for researchers, ballots from the administrators' vote exports.
set --
for f in var/vote-exports/*/*.csv; do set -- "$@" --votes-export "$f"; done
"$BIN" export pabulib --config var/capstat.demo.yaml --out public/pabulib "$@"
echo
echo "Demo done: working database var/capstat.duckdb, release public/latest/, dashboards public/site/index.html, Pabulib files public/pabulib/"
echo "Browse them with: $BIN serve --config var/capstat.demo.yaml   (then open http://127.0.0.1:8080/)"
