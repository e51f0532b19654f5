// Package reports publishes versioned open-data releases of capstat's public
// datasets: Parquet (zstd, hive partitions for the large datasets) and CSV
// (RFC 4180) files, a Frictionless datapackage.json, a bilingual README data
// dictionary, a manifest with SHA-256 checksums, a changes.json diff against
// the previous release and a read-only DuckDB snapshot.
//
// A release is written to DIR/releases/.tmp-<id>, verified (checksums, row
// counts), renamed to DIR/releases/<id> and only then made current by an
// atomic switch of the DIR/latest symlink. The privacy policy (forbidden
// identity columns, coarsened vote times, small-group suppression) is applied
// at release time on top of what transform did. Every column description
// comes from the catalogue (internal/datasets). The layout is documented in
// docs/release-layout.md.
package reports
