package queries

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/capstat/capstat/internal/apierror"
)

// HandlerOptions configures Handler.
type HandlerOptions struct {
	Logger *slog.Logger // nil: slog.Default()
}

// Handler serves the query API:
//
//	GET  /api/queries                    the catalogue (JSON)
//	GET  /api/queries/{name}?k=v&_format=csv|json|parquet|table
//	POST /api/sql  {"sql": "...", "format": "json|csv|table"}  (or ?_format=)
//
// Refusals are {"error": {"code": "...", "message": "..."}} with 400, 404,
// 408, 413, 429 or 503.
func Handler(e *Engine, opts HandlerOptions) http.Handler {
	h := &handler{e: e, log: opts.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/queries", h.list)
	mux.HandleFunc("GET /api/queries/{name}", h.run)
	mux.HandleFunc("POST /api/sql", h.sql)
	return mux
}

type handler struct {
	e   *Engine
	log *slog.Logger
}

type paramDoc struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Description string   `json:"description"`
	Default     any      `json:"default,omitempty"`
	Required    bool     `json:"required"`
	Values      []string `json:"values,omitempty"` // the accepted values of an enumerated parameter
}

type queryDoc struct {
	Name        string            `json:"name"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Params      []paramDoc        `json:"params"`
	Example     string            `json:"example"`
	SQL         string            `json:"sql"`
	Links       map[string]string `json:"links"`
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	qs := h.e.Catalog().Queries()
	docs := make([]queryDoc, 0, len(qs))
	for _, q := range qs {
		d := queryDoc{Name: q.Name, Title: q.Title, Description: q.Description, Example: q.Example, SQL: q.SQL, Params: []paramDoc{}, Links: map[string]string{}}
		for _, p := range q.Params {
			d.Params = append(d.Params, paramDoc{Name: p.Name, Type: p.Type, Description: p.Description, Default: p.Default, Required: p.Required, Values: p.Values})
		}
		for _, f := range []Format{FormatJSON, FormatCSV, FormatParquet} {
			u := "/api/queries/" + q.Name + "?"
			if q.Example != "" {
				u += q.Example + "&"
			}
			d.Links[string(f)] = u + "_format=" + string(f)
		}
		docs = append(docs, d)
	}
	writeJSONResponse(w, http.StatusOK, map[string]any{"queries": docs, "tables": h.e.Tables(), "limits": map[string]any{
		"max_rows": h.e.limits.MaxRows, "max_export_rows": h.e.limits.MaxExportRows,
		"timeout_seconds": h.e.limits.Timeout.Seconds(), "max_sql_bytes": h.e.limits.MaxSQLBytes,
	}})
}

func (h *handler) run(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	format, err := ParseFormat(r.URL.Query().Get("_format"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	params, err := queryParams(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lw := &lazyWriter{w: w, format: format, filename: name}
	if err := h.e.Run(r.Context(), name, params, lw, format); err != nil {
		h.failAfter(w, r, lw, err)
	}
}

func queryParams(v url.Values) (map[string]string, error) {
	out := map[string]string{}
	for k, vs := range v {
		if strings.HasPrefix(k, "_") {
			continue
		}
		if len(vs) != 1 {
			return nil, errorf(CodeInvalidParameter, "paramètre %q donné %d fois", k, len(vs))
		}
		out[k] = vs[0]
	}
	return out, nil
}

type sqlRequest struct {
	SQL    string `json:"sql"`
	Format string `json:"format"`
}

func (h *handler) sql(w http.ResponseWriter, r *http.Request) {
	max := int64(h.e.limits.MaxSQLBytes)*6 + 4096 // JSON escaping may grow the text
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.fail(w, r, errorf(CodeSQLTooLarge, "requête trop volumineuse (%d octets de SQL au plus)", h.e.limits.MaxSQLBytes))
			return
		}
		h.fail(w, r, errorf(CodeInvalidParameter, "corps de requête illisible"))
		return
	}
	var req sqlRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		h.fail(w, r, errorf(CodeInvalidParameter, `corps attendu : {"sql": "SELECT …", "format": "json"}`))
		return
	}
	f := req.Format
	if qf := r.URL.Query().Get("_format"); qf != "" {
		f = qf
	}
	format, err := ParseFormat(f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lw := &lazyWriter{w: w, format: format, filename: "requete"}
	if err := h.e.SQL(r.Context(), req.SQL, lw, format); err != nil {
		h.failAfter(w, r, lw, err)
	}
}

// failAfter reports err as JSON if nothing was written yet; otherwise the
// response is aborted so that the client sees a broken transfer rather than
// a silently cut export.
func (h *handler) failAfter(w http.ResponseWriter, r *http.Request, lw *lazyWriter, err error) {
	if !lw.started {
		h.fail(w, r, err)
		return
	}
	h.log.Error("query failed while streaming", "path", r.URL.Path, "err", err)
	panic(http.ErrAbortHandler)
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	qe := AsError(err)
	status := qe.HTTPStatus()
	if status >= 500 {
		h.log.Error("query error", "path", r.URL.Path, "code", qe.Code, "err", err)
	} else {
		h.log.Info("query refused", "path", r.URL.Path, "code", qe.Code, "status", status, "err", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	apierror.Write(w, qe.API())
}

func writeJSONResponse(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// lazyWriter sets the success headers on the first write only, so that an
// error found before any output can still be sent as a JSON error.
type lazyWriter struct {
	w        http.ResponseWriter
	format   Format
	filename string
	started  bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		hd := l.w.Header()
		hd.Set("Content-Type", l.format.ContentType())
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cache-Control", "no-store")
		if l.format == FormatCSV || l.format == FormatParquet {
			hd.Set("Content-Disposition", `attachment; filename="`+l.filename+"."+string(l.format)+`"`)
		}
		l.w.WriteHeader(http.StatusOK)
	}
	return l.w.Write(p)
}
