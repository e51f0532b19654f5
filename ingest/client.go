package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Khan/genqlient/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// PreviewAccept is the exact Accept header selecting the preview schema
// (any other value silently falls back to the public schema, API.md §2).
const PreviewAccept = "application/vnd.cap-collectif.preview+json"

// maxBody bounds a response body read into memory.
const maxBody = 64 << 20

// HTTPError is a non-200 answer of the server.
type HTTPError struct {
	Status     int
	RetryAfter time.Duration // from the Retry-After header, 0 if absent
	Body       string        // first bytes of the body
}

func (e *HTTPError) Error() string {
	if e.Status == http.StatusUnauthorized {
		return fmt.Sprintf("HTTP 401 %q: the API token was refused (check the source's token)", e.Body)
	}
	return fmt.Sprintf("HTTP %d: %q", e.Status, e.Body)
}

// GraphQLError is a response whose data is absent: the operation failed as a
// whole (validation error, unknown field…).
type GraphQLError struct{ Errors gqlerror.List }

func (e *GraphQLError) Error() string { return "GraphQL error: " + e.Errors.Error() }

// PartialError carries the errors of a response that also holds data: the
// data was decoded and is usable, the errors are recorded.
type PartialError struct{ Errors gqlerror.List }

func (e *PartialError) Error() string { return "partial GraphQL errors: " + e.Errors.Error() }

// DecodeError is a body that is not a valid GraphQL JSON response.
type DecodeError struct {
	Snippet string
	Err     error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("undecodable response (%v), body starts with %q", e.Err, e.Snippet)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// client is the genqlient transport: one HTTP POST per call, no retry (the
// crawler retries around it so it can also shrink the page size).
type client struct {
	endpoint string
	token    string
	locale   string
	http     *http.Client
}

func (c *client) MakeRequest(ctx context.Context, req *graphql.Request, resp *graphql.Response) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", PreviewAccept)
	if c.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.locale != "" {
		hreq.Header.Set("Accept-Language", c.locale)
	}
	hresp, err := c.http.Do(hreq)
	if err != nil {
		return err
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if hresp.StatusCode != http.StatusOK {
		return &HTTPError{Status: hresp.StatusCode, RetryAfter: parseRetryAfter(hresp.Header.Get("Retry-After"), time.Now()), Body: snippet(data)}
	}
	return decodeResponse(data, resp)
}

// decodeResponse decodes a GraphQL JSON body into resp. It returns a
// *DecodeError for anything that is not a JSON object with a data member
// of the expected shape, a *GraphQLError when data is null, and a
// *PartialError when data came with errors.
func decodeResponse(body []byte, resp *graphql.Response) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return &DecodeError{Snippet: snippet(body), Err: errors.New("not a JSON object")}
	}
	var env struct {
		Data   json.RawMessage `json:"data"`
		Errors gqlerror.List   `json:"errors"`
	}
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return &DecodeError{Snippet: snippet(body), Err: err}
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		if len(env.Errors) > 0 {
			return &GraphQLError{Errors: env.Errors}
		}
		return &DecodeError{Snippet: snippet(body), Err: errors.New("no data and no errors")}
	}
	if err := json.Unmarshal(env.Data, resp.Data); err != nil {
		return &DecodeError{Snippet: snippet(body), Err: err}
	}
	resp.Errors = env.Errors
	if len(env.Errors) > 0 {
		return &PartialError{Errors: env.Errors}
	}
	return nil
}

func snippet(b []byte) string {
	const n = 120
	s := strings.ToValidUTF8(string(b[:min(len(b), n)]), "?")
	if len(b) > n {
		s += "…"
	}
	return s
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// failure classifies an error of one attempt.
type failure struct {
	retry  bool          // worth another attempt
	shrink bool          // halve the page size (gateway error or timeout)
	wait   time.Duration // server-requested delay
	fatal  bool          // stop the whole source (bad credentials)
}

func classify(ctx context.Context, err error) failure {
	var he *HTTPError
	var de *DecodeError
	var ge *GraphQLError
	switch {
	case ctx.Err() != nil:
		return failure{}
	case errors.As(err, &he):
		switch {
		case he.Status == http.StatusUnauthorized:
			return failure{fatal: true}
		case he.Status == http.StatusTooManyRequests:
			return failure{retry: true, wait: he.RetryAfter}
		case he.Status == http.StatusBadGateway || he.Status == http.StatusGatewayTimeout:
			return failure{retry: true, shrink: true, wait: he.RetryAfter}
		case he.Status >= 500:
			return failure{retry: true, wait: he.RetryAfter}
		}
		return failure{}
	case errors.As(err, &ge):
		return failure{}
	case errors.As(err, &de):
		// A proxy's HTML page or a truncated body: may be transient.
		return failure{retry: true}
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return failure{retry: true, shrink: true}
	}
	// Network errors (connection reset, refused, EOF…).
	return failure{retry: true}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
