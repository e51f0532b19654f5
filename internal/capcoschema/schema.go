// Package capcoschema holds capstat's own copy of the Cap Collectif GraphQL schema:
// schema.graphql, a faithful subset of the preview schema published by Cap
// Collectif, and schema_ext.graphql, which declares the step types the real
// server returns in Project.steps although the SDL lacks them.
//
// The sandbox serves Schema+SchemaExt as its preview schema and the ingester's
// genqlient configuration reads both files, so both sides agree on one contract.
package capcoschema

import _ "embed"

// Schema is the text of schema.graphql (subset of schema.preview.graphql).
//
//go:embed schema.graphql
var Schema string

// SchemaExt is the text of schema_ext.graphql (step types absent from the SDL).
//
//go:embed schema_ext.graphql
var SchemaExt string
