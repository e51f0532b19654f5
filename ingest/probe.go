package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/capstat/capstat/ingest/capco"
)

// Probe asks the source's API for one project (one request, no retry,
// bounded by the source's timeout) and reports whether it answers as a Cap
// Collectif GraphQL API: the daemon calls it at start so that an
// unreachable source shows at once in /readyz and /metrics.
func Probe(ctx context.Context, src Source, hc *http.Client) error {
	if err := src.normalize(); err != nil {
		return err
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, src.Timeout)
	defer cancel()
	locale := ""
	if len(src.Locales) > 0 {
		locale = src.Locales[0]
	}
	c := &client{endpoint: src.Endpoint, token: src.Token, locale: locale, http: hc}
	_, err := capco.Projects(ctx, c, 1, nil)
	var partial *PartialError
	if err != nil && !errors.As(err, &partial) { // data came, with errors: it answers
		return fmt.Errorf("probe %s (%s): %w", src.Name, src.Endpoint, err)
	}
	return nil
}
