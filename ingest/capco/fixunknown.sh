#!/bin/sh
# Post-processes generated.go (run by go generate after genqlient): the
# generated marshalers write a constant __typename for each concrete type;
# for the generic fallback types of client_ext.graphql, write the real
# __typename the ingester restored in the decoded value instead.
set -e
sed -i -E 's/^(\t+)typename = "(CapstatUnknown|CapstatUnknownResponse)"$/\1typename = realTypename(v.Typename, "\2")/' generated.go
gofmt -l generated.go >/dev/null
