// Package apierror is the one JSON error shape of capstat's HTTP API:
//
//	{"error": {"code": "invalid_parameter", "message": "…", "detail": "…"}}
//
// code is a stable, machine-readable identifier; message is French, for
// the person who sent the request; detail, optional, keeps the original
// text of a lower layer (a DuckDB message in English, for example). Every
// /api/ route of the daemon and of the query handler answers errors with
// it.
package apierror

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is an API error.
type Error struct {
	Status  int    `json:"-"` // HTTP status
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  string `json:"detail,omitempty"`
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s (%s)", e.Message, e.Detail)
	}
	return e.Message
}

// New returns an error with a formatted French message.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetail returns a copy of e carrying detail.
func (e *Error) WithDetail(detail string) *Error {
	c := *e
	c.Detail = detail
	return &c
}

// Write sends e as the JSON error body with its status (500 when unset).
func Write(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error *Error `json:"error"`
	}{e})
}
