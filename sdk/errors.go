package sdk

import (
	"fmt"
	"net/http"
	"time"
)

// Error is a failure a handler returns to choose the answer Genesys Cloud
// gets: its HTTP status, a machine-readable code a flow can branch on, and a
// message. Any other error a handler returns is answered as 500
// "action_failed" and its text stays in the plugin's log, so that internal
// details never reach a caller.
type Error struct {
	// Status is the HTTP status the host answers with, 400-599. Other values
	// are answered as 500.
	Status int
	// Code is snake_case and stable, e.g. "user_not_found".
	Code string
	// Message is for people; it must not hold secrets or personal data.
	Message string
	// Retryable tells the caller that the same request may succeed later.
	Retryable bool
	// RetryAfter, when set, is when (the host sends it as Retry-After). The
	// host sets it on its own refusals, 429 rate_limited say, so a handler
	// that returns the error it got passes it on.
	RetryAfter time.Duration
}

// Errorf returns an *Error with the given status and code and a formatted
// message. It is retryable when the status is 429, 502, 503 or 504.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{
		Status:    status,
		Code:      code,
		Message:   fmt.Sprintf(format, args...),
		Retryable: retryableStatus(status),
	}
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
