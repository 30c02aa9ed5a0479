package sim

import (
	"net/http"
	"strings"
)

// TokenResponse is the body of a successful POST /oauth/token.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	// TokenType is "bearer", lower case, as Genesys Cloud sends it.
	TokenType string `json:"token_type"`
	// ExpiresIn is the token's lifetime in seconds.
	ExpiresIn int `json:"expires_in"`
}

// TokenError is the body of a failed POST /oauth/token. Genesys Cloud's login
// service carries the text twice: in description and, as RFC 6749 §5.2 names
// it, in error_description.
type TokenError struct {
	Error            string `json:"error"`
	Description      string `json:"description"`
	ErrorDescription string `json:"error_description"`
}

// ErrorBody is the body of every failed Genesys Cloud platform API call
// (/api/v2/...). The simulator always sends messageParams, details and
// errors, empty, as the platform does.
type ErrorBody struct {
	Message string `json:"message"`
	// Code is dotted lower case: "bad.credentials", "not.found", "too.many.requests".
	Code   string `json:"code"`
	Status int    `json:"status"`
	// MessageWithParams is Message with {name} placeholders for MessageParams.
	MessageWithParams string            `json:"messageWithParams,omitempty"`
	MessageParams     map[string]string `json:"messageParams"`
	// ContextID equals the ININ-Correlation-Id response header.
	ContextID string        `json:"contextId"`
	Details   []ErrorDetail `json:"details"`
	Errors    []ErrorBody   `json:"errors"`
}

// ErrorDetail is one entry of ErrorBody.Details.
type ErrorDetail struct {
	ErrorCode  string `json:"errorCode,omitempty"`
	FieldName  string `json:"fieldName,omitempty"`
	EntityID   string `json:"entityId,omitempty"`
	EntityName string `json:"entityName,omitempty"`
}

// Codes and messages of the platform API errors the simulator sends.
const (
	codeAuthRequired = "authentication.required"
	msgAuthRequired  = "No authentication bearer token specified in authorization header."
	codeBadCreds     = "bad.credentials"
	msgBadCreds      = "Invalid login credentials."
	codeNotFound     = "not.found"
	msgNotFound      = "The requested resource was not found."
	codeTooMany      = "too.many.requests"
)

// apiError returns a platform API error body; write fills in its ContextID.
func apiError(status int, code, message string) *ErrorBody {
	return &ErrorBody{
		Message:       message,
		Code:          code,
		Status:        status,
		MessageParams: map[string]string{},
		Details:       []ErrorDetail{},
		Errors:        []ErrorBody{},
	}
}

// statusError returns the platform API error Genesys Cloud sends with status.
func statusError(status int) *ErrorBody {
	code, message := statusCode(status), http.StatusText(status)
	switch status {
	case http.StatusBadRequest:
		message = "The request could not be understood by the server due to malformed syntax."
	case http.StatusUnauthorized:
		code, message = codeBadCreds, msgBadCreds
	case http.StatusForbidden:
		code, message = "not.authorized", "You are not authorized to perform the requested action."
	case http.StatusNotFound:
		message = msgNotFound
	case http.StatusTooManyRequests:
		message = "Rate limit exceeded the maximum requests."
	case http.StatusInternalServerError:
		message = "The server encountered an unexpected condition which prevented it from fulfilling the request."
	case http.StatusServiceUnavailable:
		message = "Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance)."
	case http.StatusGatewayTimeout:
		code, message = "request.timeout", "The request timed out."
	}
	return apiError(status, code, message)
}

// statusCode turns a status text into a platform code: "Service
// Unavailable" becomes "service.unavailable".
func statusCode(status int) string {
	text := http.StatusText(status)
	if text == "" {
		return "error"
	}
	return strings.ReplaceAll(strings.ToLower(text), " ", ".")
}

// tokenError returns a login service error body.
func tokenError(code, description string) TokenError {
	return TokenError{Error: code, Description: description, ErrorDescription: description}
}

// statusTokenError returns the login service error for an injected status.
func statusTokenError(status int) TokenError {
	switch status {
	case http.StatusBadRequest:
		return tokenError("invalid_request", "bad request")
	case http.StatusUnauthorized:
		return tokenError("invalid_client", "authentication failed")
	}
	code := strings.ReplaceAll(statusCode(status), ".", "_")
	return tokenError(code, strings.ToLower(http.StatusText(status)))
}
