// Package transform turns the raw tables written by the ingester (schema
// raw, see docs/raw-tables.md) into the public datasets of the data
// catalogue (schemas core and metrics, see internal/datasets/datasets.yaml).
//
// Models are embedded SQL files, one per table, layered
// models/staging/*.sql → models/core/*.sql → models/metrics/*.sql. Each file
// holds one SELECT and a header comment; its dependencies are found by
// parsing the schema-qualified table names it mentions (and any
// "-- depends:" header line). Run orders the models topologically, runs them
// in one DuckDB transaction, then runs the data tests (keys and
// relationships from the catalogue, plus the SQL checks in tests/*.sql); any
// failure rolls the transaction back, so the previous tables stay in place.
//
// DuckDB does the set-based work. Go contributes two scalar UDFs:
// capstat_author_key(source, id), a keyed HMAC-SHA256 pseudonym, and
// capstat_parse_cost(text), the free-text cost parser of ParseCost.
package transform
