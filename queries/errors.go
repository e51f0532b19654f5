package queries

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
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

// Error is a refusal or failure meant for the caller (French message).
type Error struct {
	Code    string
	Message string
	Err     error // underlying cause, if any
}

func (e *Error) Error() string {
	if e.Err != nil && !strings.Contains(e.Message, e.Err.Error()) {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
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
