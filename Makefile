# capstat — two commands on a fresh clone: `make demo` and `make test`.
GO      ?= go
BIN     ?= bin/capstat
SCALE   ?= small
SEED    ?= 1
ADDR    ?= 127.0.0.1:8787
export CGO_ENABLED = 1

.PHONY: all build test test-short demo serve-demo assets check-assets bench clean

all: build

# Third-party browser code comes from npm, pinned by the lock file; the bundle
# is committed (dashboards/assets/vendor). check-assets fails when it no longer
# matches the lock; assets updates it.
assets:
	sh dashboards/assets/fetch.sh

check-assets:
	sh dashboards/assets/fetch.sh --check

build:
	$(GO) build -o $(BIN) ./cmd/capstat

# The README's test command (CI runs it through .ci/run).
test: check-assets
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...

test-short:
	$(GO) test -short ./...

# Whole pipeline end to end on embedded defaults: the sandbox API, a DuckDB
# file under ./var/ and the release and site under ./public/.
demo: build
	BIN=$(BIN) SCALE=$(SCALE) SEED=$(SEED) ADDR=$(ADDR) sh scripts/demo.sh

# Go benchmarks, then incremental refresh vs full crawl (requests, wall,
# CPU per record vs the decode-only floor) at BENCH_SCALE.
BENCH_SCALE ?= medium
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...
	sh bench/ingest/refresh.sh $(BENCH_SCALE)

clean:
	rm -rf bin var public
