package queries

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/capstat/capstat/internal/apierror"
)

// Error codes of refusals and failures, as sent in
// {"error": {"code": "...", "message": "..."}}.
const (
	CodeInvalidParameter = "invalid_parameter" // 400
	CodeUnknownQuery     = "unknown_query"     // 404
	CodeRefused          = "refused"           // 400: statement type, function or table not allowed
	CodeInvalidSQL       = "invalid_sql"       // 400: DuckDB could not parse or bind it
	CodeInvalidFormat    = "invalid_format"    // 400
	CodeTimeout          = "timeout"           // 408
	CodeSQLTooLarge      = "sql_too_large"     // 413
	CodeResultTooLarge   = "result_too_large"  // 413: row or memory limit
	CodeTooBusy          = "too_many_queries"  // 429
	CodeUnavailable      = "unavailable"       // 503: engine closed
	CodeInternal         = "internal"          // 500
)

// Error is a refusal or failure meant for the caller: a French message,
// and in Detail the engine's own words when they help (DuckDB's English
// "syntax error at or near …", redacted of paths).
type Error struct {
	Code    string
	Message string
	Detail  string
	Err     error // underlying cause, if any
}

func (e *Error) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	if e.Err != nil && !strings.Contains(msg, e.Err.Error()) {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// API is the error as the HTTP API sends it (internal/apierror): the
// detail only for the caller's own mistakes, never for internal failures.
func (e *Error) API() *apierror.Error {
	a := &apierror.Error{Status: e.HTTPStatus(), Code: e.Code, Message: e.Message}
	if a.Status < 500 {
		a.Detail = e.Detail
	}
	return a
}

func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status code matching the error's code.
func (e *Error) HTTPStatus() int {
	switch e.Code {
	case CodeInvalidParameter, CodeRefused, CodeInvalidSQL, CodeInvalidFormat:
		return http.StatusBadRequest
	case CodeUnknownQuery:
		return http.StatusNotFound
	case CodeTimeout:
		return http.StatusRequestTimeout
	case CodeSQLTooLarge, CodeResultTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeTooBusy:
		return http.StatusTooManyRequests
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns err as an *Error, wrapping unknown errors as internal ones.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "erreur interne", Err: err}
}
