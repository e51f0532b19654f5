#!/bin/sh
# fetch.sh installs the pinned ECharts bundle (package-lock.json) with npm ci
# and copies dist/echarts.min.js to vendor/, where dashboards embeds it with
# go:embed. Third-party JavaScript is never committed (see ../.gitignore).
# Run it before `go build`/`go test` of ./dashboards:  sh dashboards/assets/fetch.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
want_sha256=bf4a223524e40b77c304bec67e1222cf551f14880cf42c69dc046558e11c07b1
out="$here/vendor/echarts.min.js"
cd "$here"
if [ -f "$out" ] && [ "$(sha256sum "$out" | cut -d" " -f1)" = "$want_sha256" ]; then
	touch "$out" # up to date for make
	exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
src="$here/node_modules/echarts/dist/echarts.min.js"
got=$(sha256sum "$src" | cut -d" " -f1)
if [ "$got" != "$want_sha256" ]; then
	echo "fetch.sh: echarts.min.js sha256 is $got, want $want_sha256" >&2
	exit 1
fi
cp "$src" "$out.tmp"
mv "$out.tmp" "$out"
cp "$here/node_modules/echarts/LICENSE" "$here/vendor/echarts.LICENSE.txt"
echo "fetch.sh: $out ($(wc -c <"$out") bytes)"
