// Package fleet holds Tenantry's domain types: tenants, users, jobs and the
// one error type every layer speaks. It imports nothing internal.
package fleet

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes. Storage translates driver errors into these where the
// driver hands them over (tenantdb.Classify, central's translate);
// HTTPStatus maps them to the statuses of the pages and the API. The CLI
// does not tell them apart: any error exits with status 1, a mistake in
// the command line with 2 (exitCode in cmd/tenantry).
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EFORBIDDEN    = "forbidden"
	EUNAUTHORIZED = "unauthorized"
	EUNAVAILABLE  = "unavailable"
	EINTERNAL     = "internal"
)

// Error is a domain error: a code for machines and a message for people.
// The message is safe to show to a user. Err, if set, is the cause: it
// is never shown, but errors.Is and errors.As still reach it (a deadline,
// a driver's error) through Unwrap.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the given code and formatted message whose
// cause is err.
func Wrap(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// EINTERNAL for any other non-nil error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err. Internal errors get a
// generic message so that no internals leak to a browser.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// HTTPStatus is the HTTP status of an error code, for every front that
// answers over HTTP (the pages and the API).
func HTTPStatus(code string) int { return httpStatus[code] }

var httpStatus = map[string]int{
	EINVALID:      http.StatusBadRequest,
	ENOTFOUND:     http.StatusNotFound,
	ECONFLICT:     http.StatusConflict,
	EFORBIDDEN:    http.StatusForbidden,
	EUNAUTHORIZED: http.StatusUnauthorized,
	EUNAVAILABLE:  http.StatusServiceUnavailable,
	EINTERNAL:     http.StatusInternalServerError,
	"":            http.StatusInternalServerError,
}
