package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/capstat/capstat/internal/capcoschema"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	_ "github.com/vektah/gqlparser/v2/validator/rules" // registers the standard validation rules
)

// PreviewAccept is the exact Accept header that selects the preview schema.
const PreviewAccept = "application/vnd.cap-collectif.preview+json"

// Options configures a sandbox server.
type Options struct {
	Seed      int64
	Scale     Scale
	Instances []string // default: DefaultInstances
	// Token is the API key accepted as "Authorization: Bearer <Token>"; it
	// unlocks Proposal.analyses/assessment/decision (an analyst's key).
	// Empty: every key is refused, except UserToken.
	Token string
	// UserToken is an ordinary participant's API key: accepted, but the
	// cost fields answer "Access denied to this field." (they need
	// ProposalAnalysisRelatedVoter::VIEW, API.md §6). Empty: none.
	UserToken string
	// FailRate is the fraction of requests answered 502/503/429 (deterministic
	// sequence from Seed and the request number).
	FailRate float64
	// Latency is added to every request.
	Latency time.Duration
	// TimeoutAfter, when > 0, turns a request whose simulated cost
	// (NodeCost × objects in the response) exceeds it into nginx's HTML 502,
	// like the php-fpm 20 s kill.
	TimeoutAfter time.Duration
	// NodeCost is the simulated server time per returned object (default 20ms).
	NodeCost time.Duration
	// Introspection enables __schema/__type (the graphql_introspection flag).
	Introspection bool
	// PlainText replaces the world's hostile test strings (script tags in
	// titles…) with plain French text (World.WithoutHostileText): the
	// demo people see first. Tests leave it off.
	PlainText bool
	// Epoch is the evolution epoch the server starts at (0: the world as
	// generated); POST /_admin/epoch advances it while serving.
	Epoch  int
	Logger *slog.Logger
}

// Server serves the sandbox instances.
type Server struct {
	opts    Options
	world   *World
	preview *ast.Schema
	public  *ast.Schema
	log     *slog.Logger
	reqs    atomic.Uint64
	qmu     sync.Mutex
	queries map[string]*prepared
	bufs    sync.Pool // *[]byte response buffers
	stats   struct{ requests, objects atomic.Int64 }
}

// prepared is a parsed and validated query, cached per schema and text.
type prepared struct {
	doc      *ast.QueryDocument
	syntax   *gqlerror.Error
	invalid  gqlerror.List
	intro    []*ast.Field // __schema/__type fields
	hasIntro bool
}

// New generates the worlds and returns a server.
func New(opts Options) (*Server, error) {
	if len(opts.Instances) == 0 {
		opts.Instances = DefaultInstances
	}
	seen := map[string]bool{}
	for _, n := range opts.Instances {
		if badInstanceName(n) || seen[n] {
			return nil, fmt.Errorf("sandbox: bad or duplicate instance name %q", n)
		}
		seen[n] = true
	}
	if opts.Scale < Tiny || opts.Scale > Large {
		return nil, fmt.Errorf("sandbox: unknown scale %d", opts.Scale)
	}
	if opts.FailRate < 0 || opts.FailRate > 1 {
		return nil, fmt.Errorf("sandbox: fail rate %v outside [0,1]", opts.FailRate)
	}
	if opts.Epoch < 0 {
		return nil, fmt.Errorf("sandbox: negative epoch %d", opts.Epoch)
	}
	w := GenerateInstances(opts.Seed, opts.Scale, opts.Instances)
	if opts.PlainText {
		w.WithoutHostileText()
	}
	return NewFromWorld(w, opts)
}

// badInstanceName reports names that cannot be a path segment of
// /{instance}/graphql; names starting with "_" are reserved (/_admin/…).
func badInstanceName(n string) bool {
	return n == "" || strings.ContainsAny(n, "/ ") || strings.HasPrefix(n, "_")
}

// NewFromWorld serves an already generated world (opts.Seed, Scale and
// Instances are taken from it). A world at an epoch below opts.Epoch is
// advanced to it.
func NewFromWorld(w *World, opts Options) (*Server, error) {
	if opts.FailRate < 0 || opts.FailRate > 1 {
		return nil, fmt.Errorf("sandbox: fail rate %v outside [0,1]", opts.FailRate)
	}
	for _, in := range w.Instances {
		if badInstanceName(in.Name) {
			return nil, fmt.Errorf("sandbox: bad instance name %q", in.Name)
		}
	}
	if err := w.AdvanceTo(max(opts.Epoch, w.CurrentEpoch())); err != nil {
		return nil, err
	}
	opts.Seed, opts.Scale = w.Seed, w.Scale
	opts.Instances = nil
	for _, in := range w.Instances {
		opts.Instances = append(opts.Instances, in.Name)
	}
	if opts.NodeCost <= 0 {
		opts.NodeCost = 20 * time.Millisecond
	}
	preview, public, err := loadSchemas()
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{opts: opts, world: w, preview: preview, public: public, log: log, queries: map[string]*prepared{}}, nil
}

// loadSchemas builds the preview schema (capco schema + ext) and the public
// one (same types, Query reduced to viewer/node/nodes).
func loadSchemas() (*ast.Schema, *ast.Schema, error) {
	src := func() []*ast.Source {
		return []*ast.Source{{Name: "schema.graphql", Input: capcoschema.Schema}, {Name: "schema_ext.graphql", Input: capcoschema.SchemaExt}}
	}
	preview, err := gqlparser.LoadSchema(src()...)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: load preview schema: %w", err)
	}
	public, err := gqlparser.LoadSchema(src()...)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: load public schema: %w", err)
	}
	var keep ast.FieldList
	for _, f := range public.Query.Fields {
		switch f.Name {
		case "viewer", "node", "nodes", "__schema", "__type":
			keep = append(keep, f)
		}
	}
	public.Query.Fields = keep
	return preview, public, nil
}

// World returns the served world.
func (s *Server) World() *World { return s.world }

// Handler serves POST /{instance}/graphql, GET /healthz and
// GET/POST /_admin/epoch (the evolution clock, see serveEpoch).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","scale":%q,"seed":%d,"instances":%d,"epoch":%d}`,
			s.opts.Scale, s.opts.Seed, len(s.world.Instances), s.world.CurrentEpoch())
	})
	mux.HandleFunc("/_admin/epoch", s.serveEpoch)
	mux.HandleFunc("/{instance}/graphql", s.serveGraphQL)
	return mux
}

const nginx502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

func nginxPage(code int) string {
	return strings.ReplaceAll(nginx502, "502 Bad Gateway", fmt.Sprintf("%d %s", code, http.StatusText(code)))
}

func writeHTML(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(code)
	io.WriteString(w, nginxPage(code))
}

func writeText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(code)
	io.WriteString(w, msg)
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// fault decides, deterministically from the seed and the request number,
// whether this request fails and how.
func (s *Server) fault(n uint64) int {
	if s.opts.FailRate <= 0 {
		return 0
	}
	h := splitmix(uint64(s.opts.Seed)*0x100000001b3 ^ n)
	if float64(h>>11)/(1<<53) >= s.opts.FailRate {
		return 0
	}
	return [...]int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusTooManyRequests}[splitmix(h)%3]
}

type gqlRequest struct {
	Query         string          `json:"query"`
	Variables     json.RawMessage `json:"variables"`
	OperationName string          `json:"operationName"`
}

func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	in := s.world.ByName[r.PathValue("instance")]
	if in == nil {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "[]")
		return
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Allow", "POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		io.WriteString(w, `""`)
		return
	}
	n := s.reqs.Add(1)
	s.stats.requests.Add(1)
	if s.opts.Latency > 0 {
		if err := sleepCtx(r.Context(), s.opts.Latency); err != nil {
			return
		}
	}
	switch code := s.fault(n); code {
	case 0:
	case http.StatusBadGateway:
		s.log.Debug("sandbox fault", "instance", in.Name, "request", n, "status", code)
		writeHTML(w, code)
		return
	default:
		s.log.Debug("sandbox fault", "instance", in.Name, "request", n, "status", code)
		w.Header().Set("Retry-After", "1")
		writeHTML(w, code)
		return
	}
	authed, analyst := false, false
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		switch {
		case ok && s.opts.Token != "" && tok == s.opts.Token:
			authed, analyst = true, true
		case ok && s.opts.UserToken != "" && tok == s.opts.UserToken:
			authed = true
		default:
			writeText(w, http.StatusUnauthorized, "Invalid API Key")
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 25<<20))
	if err != nil {
		writeText(w, http.StatusBadRequest, "Wrong public query")
		return
	}
	var req gqlRequest
	if err := json.Unmarshal(body, &req); err != nil || strings.TrimSpace(req.Query) == "" {
		writeText(w, http.StatusBadRequest, "Wrong public query")
		return
	}
	var vars map[string]any
	if len(req.Variables) > 0 && !bytes.Equal(req.Variables, []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(req.Variables))
		if err := dec.Decode(&vars); err != nil {
			// variables sent as a JSON-encoded string are accepted by overblog
			var str string
			if json.Unmarshal(req.Variables, &str) != nil || (str != "" && json.Unmarshal([]byte(str), &vars) != nil) {
				writeText(w, http.StatusBadRequest, "Wrong public query")
				return
			}
		}
	}
	schema := s.public
	if r.Header.Get("Accept") == PreviewAccept {
		schema = s.preview
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, s-maxage=60")
	p := s.prepare(schema, req.Query)
	if p.syntax != nil {
		w.WriteHeader(http.StatusBadRequest)
		e := gqlFromParser(p.syntax)
		e.msg = "Syntax Error: " + e.msg
		writeErrorsOnly(w, []gqlError{e})
		return
	}
	if len(p.invalid) > 0 {
		errs := make([]gqlError, len(p.invalid))
		for i, e := range p.invalid {
			errs[i] = gqlFromParser(e)
		}
		writeErrorsOnly(w, errs)
		return
	}
	if p.hasIntro && !s.opts.Introspection {
		var errs []gqlError
		for _, f := range p.intro {
			errs = append(errs, gqlError{msg: "GraphQL introspection is not allowed, but the query contained __schema or __type",
				cat: "graphql", line: f.Position.Line, col: f.Position.Column})
		}
		writeErrorsOnly(w, errs)
		return
	}
	op, opErr := pickOperation(p.doc, req.OperationName)
	if opErr != "" {
		writeErrorsOnly(w, []gqlError{{msg: opErr, cat: "graphql"}})
		return
	}
	if op.Operation != ast.Query {
		writeErrorsOnly(w, []gqlError{{msg: "Schema is not configured for mutations.", cat: "graphql", line: op.Position.Line, col: op.Position.Column}})
		return
	}
	if errs := checkVariables(op, vars); len(errs) > 0 {
		writeErrorsOnly(w, errs)
		return
	}
	cvars, err := validator.VariableValues(schema, op, vars)
	if err != nil {
		e := gqlError{msg: err.Error(), cat: "graphql"}
		var ge *gqlerror.Error
		if errors.As(err, &ge) {
			e.msg = ge.Message
			if len(ge.Path) > 1 {
				name, _ := ge.Path[1].(ast.PathName)
				if v := op.VariableDefinitions.ForName(string(name)); v != nil && v.Position != nil {
					raw, _ := json.Marshal(vars[string(name)])
					e.msg = fmt.Sprintf("Variable \"$%s\" got invalid value %s; %s", name, raw, ge.Message)
					e.line, e.col = v.Position.Line, v.Position.Column
				}
			}
		}
		writeErrorsOnly(w, []gqlError{e})
		return
	}
	// an evolution step (Advance) waits for the requests reading the world
	s.world.mu.RLock()
	defer s.world.mu.RUnlock()
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 64<<10)
		bp = &b
	}
	x := &executor{schema: schema, in: in, authed: authed, analyst: analyst, vars: cvars, doc: p.doc,
		collected: map[collectKey][]*cfield{}, buf: (*bp)[:0]}
	defer func() {
		if cap(x.buf) <= 16<<20 {
			*bp = x.buf[:0]
			s.bufs.Put(bp)
		}
	}()
	ok := x.run(op)
	s.stats.objects.Add(int64(x.nodes))
	if s.opts.TimeoutAfter > 0 && time.Duration(x.nodes)*s.opts.NodeCost > s.opts.TimeoutAfter {
		s.log.Debug("sandbox simulated timeout", "instance", in.Name, "objects", x.nodes)
		w.Header().Del("Cache-Control")
		writeHTML(w, http.StatusBadGateway)
		return
	}
	out := make([]byte, 0, len(x.buf)+64)
	out = append(out, '{')
	if len(x.errs) > 0 {
		out = append(out, `"errors":`...)
		out = appendErrors(out, x.errs)
		out = append(out, ',')
	}
	out = append(out, `"data":`...)
	data := x.buf
	if !ok {
		data = []byte("null")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)+len(data)+1))
	w.Write(out)
	w.Write(data)
	io.WriteString(w, "}")
	s.log.Debug("sandbox request", "instance", in.Name, "objects", x.nodes, "errors", len(x.errs), "authed", authed)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func pickOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, string) {
	if name == "" {
		if len(doc.Operations) != 1 {
			return nil, "Must provide operation name if query contains multiple operations."
		}
		return doc.Operations[0], ""
	}
	op := doc.Operations.ForName(name)
	if op == nil {
		return nil, fmt.Sprintf("Unknown operation named \"%s\".", name)
	}
	return op, ""
}

func gqlFromParser(e *gqlerror.Error) gqlError {
	g := gqlError{msg: e.Message, cat: "graphql"}
	if len(e.Locations) > 0 {
		g.line, g.col = e.Locations[0].Line, e.Locations[0].Column
	}
	return g
}

func writeErrorsOnly(w http.ResponseWriter, errs []gqlError) {
	b := append([]byte(`{"errors":`), appendErrors(nil, errs)...)
	w.Write(append(b, '}'))
}

func (s *Server) prepare(schema *ast.Schema, query string) *prepared {
	key := "public|"
	if schema == s.preview {
		key = "preview|"
	}
	key += query
	s.qmu.Lock()
	p, ok := s.queries[key]
	s.qmu.Unlock()
	if ok {
		return p
	}
	p = &prepared{}
	doc, err := parser.ParseQuery(&ast.Source{Name: "query", Input: query})
	if err != nil {
		var ge *gqlerror.Error
		if !errors.As(err, &ge) {
			ge = gqlerror.Errorf("%s", err.Error())
		}
		p.syntax = ge
	} else {
		p.doc = doc
		p.invalid = validator.ValidateWithRules(schema, doc, nil)
		if len(p.invalid) == 0 {
			p.intro = findIntrospection(doc)
			p.hasIntro = len(p.intro) > 0
		}
	}
	s.qmu.Lock()
	if len(s.queries) > 2000 {
		s.queries = map[string]*prepared{}
	}
	s.queries[key] = p
	s.qmu.Unlock()
	return p
}

func findIntrospection(doc *ast.QueryDocument) []*ast.Field {
	var out []*ast.Field
	var walk func(ast.SelectionSet)
	walk = func(ss ast.SelectionSet) {
		for _, s := range ss {
			switch s := s.(type) {
			case *ast.Field:
				if s.Name == "__schema" || s.Name == "__type" {
					out = append(out, s)
				}
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			}
		}
	}
	for _, op := range doc.Operations {
		walk(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		walk(f.SelectionSet)
	}
	return out
}

// Stats are the server's cumulative counters.
type Stats struct {
	Requests int64 // GraphQL POST requests
	Objects  int64 // objects written into responses
}

// Stats returns cumulative request and object counts.
func (s *Server) Stats() Stats {
	return Stats{Requests: s.stats.requests.Load(), Objects: s.stats.objects.Load()}
}

// checkVariables reports required variables that are missing, with
// webonyx's message.
func checkVariables(op *ast.OperationDefinition, vars map[string]any) []gqlError {
	var errs []gqlError
	for _, v := range op.VariableDefinitions {
		if !v.Type.NonNull || v.DefaultValue != nil {
			continue
		}
		if x, ok := vars[v.Variable]; !ok || x == nil {
			e := gqlError{cat: "graphql", msg: fmt.Sprintf("Variable \"$%s\" of required type \"%s\" was not provided.", v.Variable, v.Type.String())}
			if ok {
				e.msg = fmt.Sprintf("Variable \"$%s\" of non-null type \"%s\" must not be null.", v.Variable, v.Type.String())
			}
			if v.Position != nil {
				e.line, e.col = v.Position.Line, v.Position.Column
			}
			errs = append(errs, e)
		}
	}
	return errs
}

// ListenAndServe serves the sandbox on addr until ctx is cancelled, then
// shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	hs := &http.Server{Addr: addr, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	s.log.Info("sandbox listening", "addr", addr, "scale", s.opts.Scale.String(), "seed", s.opts.Seed,
		"instances", s.opts.Instances, "records", s.world.Records())
	select {
	case err := <-errc:
		return fmt.Errorf("sandbox: listen %s: %w", addr, err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			return fmt.Errorf("sandbox: shutdown: %w", err)
		}
		return nil
	}
}
