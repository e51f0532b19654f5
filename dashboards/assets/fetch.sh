#!/bin/sh
# fetch.sh updates the committed ECharts bundle from npm, pinned by
# package-lock.json: npm ci, check the sha256 below, copy dist/echarts.min.js
# and the package's LICENSE and NOTICE to vendor/ (embedded with go:embed).
#
#   sh dashboards/assets/fetch.sh          update vendor/ (after editing the lock
#                                          and want_sha256 below)
#   sh dashboards/assets/fetch.sh --check  install the lock in a scratch folder
#                                          and fail unless vendor/ is exactly it
#
# The check runs in CI (make check-assets, part of make test).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
want_sha256=bf4a223524e40b77c304bec67e1222cf551f14880cf42c69dc046558e11c07b1
vendor="$here/vendor"

sha() { sha256sum "$1" | cut -d" " -f1; }

# install DIR: npm ci of the lock into DIR/node_modules.
install() {
	cp "$here/package.json" "$here/package-lock.json" "$1/"
	(cd "$1" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
	got=$(sha "$1/node_modules/echarts/dist/echarts.min.js")
	if [ "$got" != "$want_sha256" ]; then
		echo "fetch.sh: npm's echarts.min.js has sha256 $got, want $want_sha256 (fetch.sh)" >&2
		exit 1
	fi
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
install "$scratch"
pkg="$scratch/node_modules/echarts"
if [ "${1:-}" = "--check" ]; then
	status=0
	for pair in dist/echarts.min.js:echarts.min.js LICENSE:echarts.LICENSE.txt NOTICE:echarts.NOTICE.txt; do
		src=${pair%%:*} dst=${pair#*:}
		if ! cmp -s "$pkg/$src" "$vendor/$dst"; then
			echo "fetch.sh --check: vendor/$dst differs from npm's echarts/$src of package-lock.json; run sh dashboards/assets/fetch.sh" >&2
			status=1
		fi
	done
	[ $status -eq 0 ] && echo "fetch.sh --check: vendor/ matches package-lock.json (echarts.min.js sha256 $want_sha256)"
	exit $status
fi
cp "$pkg/dist/echarts.min.js" "$vendor/echarts.min.js.tmp"
mv "$vendor/echarts.min.js.tmp" "$vendor/echarts.min.js"
cp "$pkg/LICENSE" "$vendor/echarts.LICENSE.txt"
cp "$pkg/NOTICE" "$vendor/echarts.NOTICE.txt"
echo "fetch.sh: $vendor/echarts.min.js ($(wc -c <"$vendor/echarts.min.js") bytes, sha256 $want_sha256)"
