package sdk

// The one place where the SDK converts between wire messages and its own
// types; one small function per message.

import (
	"errors"
	"runtime/debug"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

// sdkName is reported to the host in DescribeResponse.sdk.
const sdkName = "go/v1"

func describeResponse(actions []*Action) *pluginv1.DescribeResponse {
	resp := &pluginv1.DescribeResponse{Sdk: sdkName, Version: buildVersion()}
	for _, a := range actions {
		resp.Actions = append(resp.Actions, toAction(a))
	}
	return resp
}

// buildVersion is the plugin's main module version, as `go build` recorded
// it: a tag such as "v1.4.0", a pseudo-version, or "(devel)".
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return ""
}

func toAction(a *Action) *pluginv1.Action {
	pa := &pluginv1.Action{
		Name:         a.name,
		Version:      a.version,
		Description:  a.description,
		InputSchema:  []byte(a.input),
		OutputSchema: []byte(a.output),
		Connections:  a.uses,
		Idempotent:   a.idempotent,
		Secure:       a.secure,
	}
	if a.timeout > 0 {
		pa.Timeout = durationpb.New(a.timeout)
	}
	for _, m := range a.mapping {
		pa.Mapping = append(pa.Mapping, &pluginv1.MappingRule{Target: m.target, Source: m.source, DefaultJson: m.def})
	}
	return pa
}

func fromInvokeRequest(req *pluginv1.InvokeRequest) *Request {
	md := req.GetMetadata()
	return &Request{
		action:    req.GetAction(),
		requestID: req.GetRequestId(),
		metadata: Metadata{
			CorrelationID:      md["correlationId"],
			OrganizationID:     md["organizationId"],
			HomeOrganizationID: md["homeOrganizationId"],
			UserID:             md["userId"],
			TraceParent:        md["traceparent"],
		},
		input:        req.GetInput(),
		invocationID: req.GetInvocationId(),
	}
}

// toStatus carries an error to the host as a gRPC status whose single detail
// is a pluginv1.Error.
func toStatus(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		e = Errorf(500, "action_failed", "%v", err)
	}
	st := status.New(grpcCode(e.Status), e.Message)
	withDetail, derr := st.WithDetails(&pluginv1.Error{
		Code:       e.Code,
		Message:    e.Message,
		HttpStatus: int32(e.Status),
		Retryable:  e.Retryable,
	})
	if derr != nil {
		return st.Err()
	}
	return withDetail.Err()
}

// grpcCode is informational for gRPC tooling; the host reads the detail.
func grpcCode(httpStatus int) codes.Code {
	switch httpStatus {
	case 400:
		return codes.InvalidArgument
	case 401:
		return codes.Unauthenticated
	case 403:
		return codes.PermissionDenied
	case 404:
		return codes.NotFound
	case 409:
		return codes.Aborted
	case 429:
		return codes.ResourceExhausted
	case 503:
		return codes.Unavailable
	case 504:
		return codes.DeadlineExceeded
	}
	return codes.Unknown
}
