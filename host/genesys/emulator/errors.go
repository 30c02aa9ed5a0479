package emulator

import (
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// Errors a definition or a run can fail with; test them with errors.Is.
// Each one is a failure for which Genesys Cloud fails the action, so a flow
// takes its failure path.
var (
	// ErrUnsupported: the definition is not a web services data action.
	ErrUnsupported = errors.New("unsupported integration type")
	// ErrInput: the input is not an object, or breaks the input contract.
	ErrInput = errors.New("input does not match the input contract")
	// ErrNotJSON: the endpoint answered 2xx with a body that is not JSON.
	ErrNotJSON = errors.New("response is not JSON")
	// ErrTooLarge: the endpoint's response exceeds MaxResponseBytes.
	ErrTooLarge = errors.New("response is too large")
	// ErrTranslation: a translation map path resolved nothing and has no
	// default, or failed.
	ErrTranslation = errors.New("translation map failed")
	// ErrOutput: the success template rendered something that is not JSON,
	// or JSON that breaks the success schema.
	ErrOutput = errors.New("output does not match the success schema")
)

// HTTPError is a non-2xx answer from the endpoint.
type HTTPError struct {
	Status int    // HTTP status code
	Body   string // the response body, with credential values and tokens redacted
}

// Error names the status and quotes the start of the body.
func (e *HTTPError) Error() string {
	const max = 512
	body := e.Body
	if len(body) > max {
		i := max
		for i > 0 && !utf8.RuneStart(body[i]) {
			i--
		}
		body = body[:i] + "…"
	}
	return fmt.Sprintf("endpoint answered %d %s: %s", e.Status, http.StatusText(e.Status), body)
}
