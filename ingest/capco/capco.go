// Package capco is the generated GraphQL client of the Cap Collectif preview
// API used by the ingester. The operations live in queries/*.graphql and are
// compiled by genqlient against capstat's own schema (internal/capcoschema) plus
// client_ext.graphql; generated.go must be regenerated after any change:
//
//	go generate ./ingest/capco
package capco

//go:generate go tool genqlient genqlient.yaml
//go:generate sh fixunknown.sh

// realTypename is the __typename written when marshaling a generic fallback
// record (types CapstatUnknown*, client_ext.graphql): the real one the
// ingester's decoder restored, or the fallback's name.
func realTypename(restored *string, fallback string) string {
	if restored != nil && *restored != "" {
		return *restored
	}
	return fallback
}
