package sdk

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/go-hclog"
)

// Request is one invocation of an action: the input the host validated and
// what the host knows about the call. A handler must not keep it after it
// returns.
type Request struct {
	ctx          context.Context // the handler's, with the action's deadline
	host         *hostConn       // the plugin's connection to the host's Outbound service
	logger       hclog.Logger    // the plugin's
	action       string
	requestID    string
	metadata     Metadata
	input        json.RawMessage
	invocationID uint64
}

// Metadata is what Genesys Cloud said about the call, from the headers it
// adds to every data action request. Fields are empty when it sent none.
type Metadata struct {
	CorrelationID      string // ININ-Correlation-Id
	OrganizationID     string // ININ-Organization-Id
	HomeOrganizationID string // ININ-Home-Organization-Id
	UserID             string // ININ-User-Id
	// TraceParent is the W3C trace context of the host's span for this
	// invocation, when the host traces: a plugin that makes its own spans
	// continues it.
	TraceParent string
}

// Action returns the name of the action being run.
func (r *Request) Action() string { return r.action }

// RequestID returns the request id the host assigned: Genesys Cloud's
// correlation id when it sent one. Put it in every log line about the request.
func (r *Request) RequestID() string { return r.requestID }

// Metadata returns what Genesys Cloud said about the call.
func (r *Request) Metadata() Metadata { return r.metadata }

// Input returns the action input: a JSON object that matches the action's
// input schema. Returning it from a handler sends it back unchanged.
func (r *Request) Input() json.RawMessage { return r.input }

// Decode decodes the input into v, as encoding/json.Unmarshal does. Its
// error is an *Error with status 400 and code "invalid_input".
func (r *Request) Decode(v any) error {
	if err := json.Unmarshal(r.input, v); err != nil {
		return Errorf(400, "invalid_input", "cannot decode the input of action %q: %v", r.action, err)
	}
	return nil
}

// Logger returns a logger whose every line carries the request id and the
// action, so that the host's log ties the plugin's lines to the request.
// Its output goes to the host, which writes it under the plugin's name.
// Never log secrets or personal data with it.
func (r *Request) Logger() hclog.Logger {
	l := r.logger
	if l == nil {
		l = hclog.NewNullLogger()
	}
	return l.With("request_id", r.requestID, "action", r.action)
}

// String identifies the request in logs.
func (r *Request) String() string {
	return fmt.Sprintf("%s[%s]", r.action, r.requestID)
}
