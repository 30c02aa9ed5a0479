// Package apierr is the host's typed failure: what answers a caller with an
// HTTP status, a stable code and a message, and what the audit log records.
// Every layer of the request path returns it; the HTTP server renders it.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error is a failure of one request, safe to show the caller.
type Error struct {
	// Status is the HTTP status of the answer.
	Status int
	// Code is snake_case and stable: flows and dashboards branch on it.
	Code string
	// Message is for people. It never holds a secret or an input value.
	Message string
	// Retryable tells the caller that the same request may succeed later.
	Retryable bool
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter time.Duration
	// Details locate validation failures.
	Details []Detail
	// Cause is the underlying error, for logs only; never sent to a caller.
	Cause error
	// Raw, when set, is the body the caller gets instead of the standard
	// one: for protocols with their own error shape (OAuth's token endpoint).
	Raw []byte
}

// Detail is one validation failure: where in the document, and what is wrong.
type Detail struct {
	Location string `json:"location"`
	Problem  string `json:"problem"`
	Keyword  string `json:"keyword,omitempty"` // the schema keyword that failed, e.g. "type"
}

// New returns an Error with a formatted message. It is retryable when the
// status is 429, 502, 503 or 504.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...), Retryable: RetryableStatus(status)}
}

// Wrap is New with an underlying cause kept for the logs.
func Wrap(cause error, status int, code, format string, args ...any) *Error {
	e := New(status, code, format, args...)
	e.Cause = cause
	return e
}

// Error implements the error interface. It includes the cause, so it is for
// logs; callers see Message.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s (%d): %s: %v", e.Code, e.Status, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// From returns err as an *Error: itself when it is one, else 500
// "internal_error" (whose text stays in Cause). What a spent budget
// answers is not decided here but by the pipeline, which knows the budget.
func From(err error) *Error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	}
	return Wrap(err, http.StatusInternalServerError, "internal_error", "internal error")
}

// Body is the JSON body of every non-2xx answer.
type Body struct {
	Status    int      `json:"status"`
	Code      string   `json:"code"`
	Message   string   `json:"message"`
	RequestID string   `json:"requestId"`
	Retryable bool     `json:"retryable,omitempty"`
	Details   []Detail `json:"details,omitempty"`
}

// Body returns the error as the caller sees it.
func (e *Error) Body(requestID string) Body {
	return Body{Status: e.Status, Code: e.Code, Message: e.Message, RequestID: requestID, Retryable: e.Retryable, Details: e.Details}
}

// StatusClientClosed is recorded when the caller hangs up first (as nginx does).
const StatusClientClosed = 499

// RetryableStatus reports whether a status says "try again later".
func RetryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
