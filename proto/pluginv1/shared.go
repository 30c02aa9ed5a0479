package pluginv1

// What the host and every Go plugin share beyond the generated messages:
// limits of the connection, the metadata keys, and the typed error as it
// crosses the wire. Hand-written, beside the handshake; both sides call
// these and nothing else for it.

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MaxMessageSize bounds every gRPC message between host and plugin, both
// ways: above the largest request body (16 MiB) and response the host
// accepts.
const MaxMessageSize = 32 << 20

// WindowSize is the fixed HTTP/2 flow-control window of host–plugin
// connections, both ways. Fixed windows turn off gRPC's bandwidth-delay
// probing, whose PING round trips cost as much as a call on a local socket.
const WindowSize = 4 << 20

// The keys of InvokeRequest.metadata.
const (
	MetadataCorrelationID      = "correlationId"      // ININ-Correlation-Id
	MetadataOrganizationID     = "organizationId"     // ININ-Organization-Id
	MetadataHomeOrganizationID = "homeOrganizationId" // ININ-Home-Organization-Id
	MetadataUserID             = "userId"             // ININ-User-Id
	MetadataTraceParent        = "traceparent"        // W3C trace context of the invocation's span
)

// ErrorStatus is how a typed error crosses the wire, either way: a gRPC
// status whose single detail is an Error. The status code is Unknown; the
// detail carries the HTTP status, the code and retryability.
func ErrorStatus(e *Error) error {
	st := status.New(codes.Unknown, e.GetMessage())
	if d, err := st.WithDetails(e); err == nil {
		st = d
	}
	return st.Err()
}

// ErrorFromStatus returns the typed error a gRPC error carries, if it
// carries one (see ErrorStatus).
func ErrorFromStatus(err error) (*Error, bool) {
	for _, d := range status.Convert(err).Details() {
		if e, ok := d.(*Error); ok {
			return e, true
		}
	}
	return nil, false
}
