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
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Khan/genqlient/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// PreviewAccept is the exact Accept header selecting the preview schema
// (any other value silently falls back to the public schema, API.md §2).
const PreviewAccept = "application/vnd.cap-collectif.preview+json"

// maxBody bounds a response body read into memory.
const maxBody = 64 << 20

// HTTPError is a non-200 answer of the server (API.md §8).
type HTTPError struct {
	Operation  string // GraphQL operation name
	Status     int
	RetryAfter time.Duration // from the Retry-After header, 0 if absent
	Body       string        // first bytes of the body
}

func (e *HTTPError) Error() string {
	op := ""
	if e.Operation != "" {
		op = " (operation " + e.Operation + ")"
	}
	switch e.Status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("HTTP 401 %q%s: the API token was refused (check the source's token)", e.Body, op)
	case http.StatusBadRequest:
		return fmt.Sprintf("HTTP 400 %q%s: the server rejected the request body (not retried)", e.Body, op)
	case http.StatusNotFound:
		return fmt.Sprintf("HTTP 404 %q%s: no GraphQL API at this endpoint (wrong URL, or the instance's public API is disabled)", e.Body, op)
	case http.StatusMethodNotAllowed:
		return fmt.Sprintf("HTTP 405 %q%s: the endpoint refuses POST (wrong URL or a proxy in the way)", e.Body, op)
	}
	return fmt.Sprintf("HTTP %d %q%s", e.Status, e.Body, op)
}

// GraphQLError is a response whose data is absent: the operation failed as a
// whole (validation error, unknown field…); retrying is pointless.
type GraphQLError struct {
	Operation string // GraphQL operation name
	Errors    gqlerror.List
}

func (e *GraphQLError) Error() string {
	var cats []string
	for _, x := range e.Errors {
		if c, ok := x.Extensions["category"].(string); ok && !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	cat := ""
	if len(cats) > 0 {
		cat = " [category " + strings.Join(cats, ",") + "]"
	}
	return fmt.Sprintf("GraphQL operation %s failed without data%s: %s", e.Operation, cat, e.Errors.Error())
}

// PartialError carries the errors of a response that also holds data: the
// data was decoded and is usable, the errors are recorded.
type PartialError struct{ Errors gqlerror.List }

func (e *PartialError) Error() string { return "partial GraphQL errors: " + e.Errors.Error() }

// NulledError is an answer in which errors nulled data the request asked
// for (API.md §8: an error in a non-null field nulls the nearest nullable
// parent): a node(id), or edges of the list being read. It is retried;
// after the last attempt the answer is kept as a short read.
type NulledError struct {
	What   string // what was nulled
	Errors gqlerror.List
}

func (e *NulledError) Error() string { return e.What + " nulled by errors: " + e.Errors.Error() }

// nulled returns a NulledError when err carries partial errors, else err.
func nulled(err error, what string) error {
	var pe *PartialError
	if errors.As(err, &pe) {
		return &NulledError{What: what, Errors: pe.Errors}
	}
	return err
}

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
	bytes    *atomic.Int64 // response bytes read (nil: not counted)
}

func (c *client) MakeRequest(ctx context.Context, req *graphql.Request, resp *graphql.Response) error {
	data, err := c.post(ctx, req)
	if err != nil {
		return err
	}
	return decode(req, data, resp)
}

// decode decodes the body of an answer to req into resp (decodeResponse),
// naming the operation in a GraphQLError.
func decode(req *graphql.Request, data []byte, resp *graphql.Response) error {
	err := decodeResponse(data, resp)
	var ge *GraphQLError
	if errors.As(err, &ge) {
		ge.Operation = req.OpName
	}
	return err
}

// post sends req and returns the body of a 200 answer (an *HTTPError for
// any other status).
func (c *client) post(ctx context.Context, req *graphql.Request) ([]byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
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
		return nil, err
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxBody))
	if c.bytes != nil {
		c.bytes.Add(int64(len(data)))
	}
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if hresp.StatusCode != http.StatusOK {
		return nil, &HTTPError{Operation: req.OpName, Status: hresp.StatusCode, RetryAfter: parseRetryAfter(hresp.Header.Get("Retry-After"), time.Now()), Body: snippet(data)}
	}
	return data, nil
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
	if bytes.HasPrefix(trimmed, []byte(`{"data":`)) && decodeDirect(trimmed, resp) {
		return nil
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
	notes, err := decodeData(env.Data, resp.Data)
	if err != nil {
		return &DecodeError{Snippet: snippet(body), Err: err}
	}
	resp.Errors = append(env.Errors, notes...)
	if len(resp.Errors) > 0 {
		return &PartialError{Errors: resp.Errors}
	}
	return nil
}

// decodeDirect is the one-pass path of decodeResponse for the common answer,
// data present and no errors: the body is decoded straight into resp.Data.
// It reports false, with resp.Data zeroed, for anything else (errors, null
// data, types the generated decoders reject), which the general path then
// handles.
func decodeDirect(body []byte, resp *graphql.Response) bool {
	out := reflect.ValueOf(resp.Data)
	if out.Kind() != reflect.Pointer || out.IsNil() {
		return false
	}
	env := struct {
		Data   any             `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}{Data: resp.Data}
	if err := json.Unmarshal(body, &env); err != nil || env.Data == nil || len(env.Errors) > 0 && string(env.Errors) != "null" {
		out.Elem().SetZero()
		return false
	}
	return true
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
	var ne *NulledError
	switch {
	case ctx.Err() != nil:
		return failure{}
	case errors.As(err, &ne):
		return failure{retry: true}
	case errors.As(err, &he):
		switch {
		case he.Status == http.StatusUnauthorized, he.Status == http.StatusNotFound, he.Status == http.StatusMethodNotAllowed:
			// The endpoint or the credentials are wrong for every request.
			return failure{fatal: true}
		case he.Status == http.StatusTooManyRequests:
			return failure{retry: true, wait: he.RetryAfter}
		case he.Status == http.StatusBadGateway || he.Status == http.StatusGatewayTimeout:
			return failure{retry: true, shrink: true, wait: he.RetryAfter}
		case he.Status == http.StatusInternalServerError:
			// A PHP fatal is mostly memory exhaustion (API.md §8): a
			// smaller page is likelier to pass.
			return failure{retry: true, shrink: true, wait: he.RetryAfter}
		case he.Status >= 500:
			return failure{retry: true, wait: he.RetryAfter}
		}
		return failure{}
	case errors.As(err, &ge):
		// Validation (graphql) and user errors repeat; an internal one
		// (any other exception, API.md §8: an Elasticsearch time-out…)
		// that nulled the whole answer may pass the next time.
		for _, e := range ge.Errors {
			if e.Extensions["category"] == "internal" {
				return failure{retry: true}
			}
		}
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

// Fallback types declared in capco/client_ext.graphql: every generated
// polymorphic decoder accepts them.
const (
	fallbackType         = "CapstatUnknown"
	fallbackResponseType = "CapstatUnknownResponse"
)

// unknownTypeRE matches the generated decoders' error for a __typename the
// schema does not declare at that position.
var unknownTypeRE = regexp.MustCompile(`unexpected concrete type for (\w+): "([^"]+)"`)

// NotePrefix starts the message of a note recorded in raw.ingest_errors for
// data that was kept in a degraded form (not an error of the server).
const NotePrefix = "note: "

// decodeData decodes a response's data into out. Polymorphic positions may
// hold types that no schema file declares (API.md §9.2): when the generated
// decoder rejects one, every object of that __typename is rewritten to a
// declared fallback type and decoding starts again; the real __typename is
// then restored in the decoded value, so the stored payload keeps it. Each
// rewritten object yields a note (a GraphQL error whose path is the object's).
func decodeData(data []byte, out any) (gqlerror.List, error) {
	err := json.Unmarshal(data, out)
	if err == nil {
		return nil, nil
	}
	var tree any
	var notes gqlerror.List
	rw := &typeRewrite{names: map[string]bool{}}
	for range 32 {
		m := unknownTypeRE.FindStringSubmatch(err.Error())
		if m == nil || m[2] == fallbackType || m[2] == fallbackResponseType {
			return nil, err
		}
		if tree == nil {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if derr := dec.Decode(&tree); derr != nil {
				return nil, err
			}
		}
		fb := fallbackType
		if m[1] == "ResponseFields" || strings.HasSuffix(m[1], "Response") {
			fb = fallbackResponseType
		}
		before := len(rw.notes)
		rw.walk(tree, nil, m[2], fb)
		if len(rw.notes) == before {
			return nil, err
		}
		b, merr := json.Marshal(tree)
		if merr != nil {
			return nil, fmt.Errorf("re-encode data: %w", merr)
		}
		rv := reflect.ValueOf(out).Elem()
		rv.SetZero()
		if err = json.Unmarshal(b, out); err == nil {
			notes = rw.notes
			rw.queue = rewrittenInOrder(data, rw.names)
			slices.SortStableFunc(notes, func(a, b *gqlerror.Error) int { return strings.Compare(a.Path.String(), b.Path.String()) })
			rw.restore(reflect.ValueOf(out), "")
			return notes, nil
		}
	}
	return nil, err
}

// typeRewrite replaces unknown __typenames and remembers them.
type typeRewrite struct {
	queue []typed         // rewritten objects, document order
	names map[string]bool // rewritten __typenames
	notes gqlerror.List
}

// typed is a rewritten object: its id (if any) and real __typename.
type typed struct{ id, typename string }

func (rw *typeRewrite) walk(v any, path ast.Path, typename, fallback string) {
	switch x := v.(type) {
	case map[string]any:
		if tn, _ := x["__typename"].(string); tn == typename {
			x["__typename"] = fallback
			rw.names[typename] = true
			rw.notes = append(rw.notes, &gqlerror.Error{
				Message: fmt.Sprintf("%sunknown type %s decoded as a generic record", NotePrefix, typename),
				Path:    append(ast.Path(nil), path...),
			})
		}
		for k, e := range x {
			rw.walk(e, append(path, ast.PathName(k)), typename, fallback)
		}
	case []any:
		for i, e := range x {
			rw.walk(e, append(path, ast.PathIndex(i)), typename, fallback)
		}
	}
}

// restore puts the real __typename back into the decoded fallback structs.
// same is the real __typename of the object an embedded (fragment) struct
// belongs to, "" for a new object.
func (rw *typeRewrite) restore(v reflect.Value, same string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			rw.restore(v.Elem(), same)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			rw.restore(v.Index(i), "")
		}
	case reflect.Struct:
		real := same
		if f := v.FieldByName("Typename"); f.IsValid() && f.CanSet() {
			real = rw.fix(v, f, same)
		}
		t := v.Type()
		for i := range v.NumField() {
			sf := t.Field(i)
			switch {
			case !sf.IsExported():
			case sf.Anonymous:
				rw.restore(v.Field(i), real)
			default:
				rw.restore(v.Field(i), "")
			}
		}
	}
}

// fix restores the Typename field f of struct v if it holds a fallback name
// and returns the real name ("" if v is not a fallback record).
func (rw *typeRewrite) fix(v, f reflect.Value, same string) string {
	var tn string
	switch {
	case f.Kind() == reflect.String:
		tn = f.String()
	case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.String && !f.IsNil():
		tn = f.Elem().String()
	default:
		return same
	}
	if tn != fallbackType && tn != fallbackResponseType {
		return tn
	}
	real := same
	if real == "" {
		var id string
		if idf := v.FieldByName("Id"); idf.IsValid() {
			if idf.Kind() == reflect.String {
				id = idf.String()
			} else if idf.Kind() == reflect.Pointer && !idf.IsNil() && idf.Type().Elem().Kind() == reflect.String {
				id = idf.Elem().String()
			}
		}
		// The walk follows document order; an id, when selected, confirms
		// the match (and resynchronises if the orders ever differed).
		i := 0
		if id != "" {
			i = slices.IndexFunc(rw.queue, func(e typed) bool { return e.id == id })
		}
		if i < 0 || i >= len(rw.queue) {
			return ""
		}
		real = rw.queue[i].typename
		rw.queue = slices.Delete(rw.queue, i, i+1)
	}
	if f.Kind() == reflect.String {
		f.SetString(real)
	} else {
		f.Set(reflect.ValueOf(&real))
	}
	return real
}

// rewrittenInOrder lists, in document order, the objects whose __typename
// is in names (the decoded value is walked in the same order when
// restoring: struct fields follow the selection order, which is the
// response's).
func rewrittenInOrder(data []byte, names map[string]bool) []typed {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type hit struct {
		idx int
		typed
	}
	var hits []hit
	n := 0
	var value func() error
	value = func() error {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'):
			idx := n
			n++
			var tn, id string
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				switch k {
				case "__typename", "id":
					v, err := dec.Token()
					if err != nil {
						return err
					}
					if s, ok := v.(string); ok {
						if k == "id" {
							id = s
						} else {
							tn = s
						}
					} else if d, ok := v.(json.Delim); ok && (d == '{' || d == '[') {
						return errors.New("structured __typename or id")
					}
				default:
					if err := value(); err != nil {
						return err
					}
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			if names[tn] {
				hits = append(hits, hit{idx, typed{id, tn}})
			}
		case json.Delim('['):
			for dec.More() {
				if err := value(); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
		}
		return nil
	}
	if err := value(); err != nil {
		return nil
	}
	slices.SortFunc(hits, func(a, b hit) int { return a.idx - b.idx })
	out := make([]typed, len(hits))
	for i, h := range hits {
		out[i] = h.typed
	}
	return out
}
