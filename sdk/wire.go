package sdk

// The one place where the SDK converts between wire messages (package
// pluginv1) and its own types, in the style of terraform-plugin-go's
// fromproto and toproto: one small function per message. The gRPC handlers
// and the host transport convert, call, and convert back; nothing else in
// the package touches a pluginv1 message.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

// sdkName is reported to the host in DescribeResponse.sdk.
const sdkName = "go/v1"

// toDescribeResponse is the plugin's answer to Describe.
func toDescribeResponse(actions []*Action) *pluginv1.DescribeResponse {
	resp := &pluginv1.DescribeResponse{Sdk: sdkName, Version: buildVersion()}
	for _, a := range actions {
		resp.Actions = append(resp.Actions, toAction(a.info))
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

func toAction(info ActionInfo) *pluginv1.Action {
	pa := &pluginv1.Action{
		Name:         info.Name,
		Version:      info.Version,
		Description:  info.Description,
		InputSchema:  info.Input,
		OutputSchema: info.Output,
		Connections:  info.Uses,
		Idempotent:   info.Idempotent,
		Secure:       info.Secure,
	}
	if info.Timeout > 0 {
		pa.Timeout = durationpb.New(info.Timeout)
	}
	for _, m := range info.Mapping {
		pa.Mapping = append(pa.Mapping, toMappingRule(m))
	}
	if c := info.Cache; c != nil {
		pa.Cache = &pluginv1.CachePolicy{Ttl: durationpb.New(c.TTL), StaleWhileRevalidate: durationpb.New(c.StaleWhileRevalidate),
			StaleIfError: durationpb.New(c.StaleIfError), Key: c.Key}
	}
	return pa
}

func toMappingRule(m MappingRule) *pluginv1.MappingRule {
	return &pluginv1.MappingRule{Target: m.Target, Source: m.Source, DefaultJson: m.Default}
}

// fromInvokeRequest is the Request a handler gets, without what the server
// adds: its context, logger and host connection.
func fromInvokeRequest(req *pluginv1.InvokeRequest) *Request {
	return &Request{
		action:       req.GetAction(),
		requestID:    req.GetRequestId(),
		metadata:     fromMetadata(req.GetMetadata()),
		input:        req.GetInput(),
		invocationID: req.GetInvocationId(),
	}
}

func fromMetadata(md map[string]string) Metadata {
	return Metadata{
		CorrelationID:      md[pluginv1.MetadataCorrelationID],
		OrganizationID:     md[pluginv1.MetadataOrganizationID],
		HomeOrganizationID: md[pluginv1.MetadataHomeOrganizationID],
		UserID:             md[pluginv1.MetadataUserID],
		TraceParent:        md[pluginv1.MetadataTraceParent],
	}
}

func toInvokeResponse(output json.RawMessage) *pluginv1.InvokeResponse {
	return &pluginv1.InvokeResponse{Output: output}
}

// toSessionResponse is the end of invocation id on the Session stream.
func toSessionResponse(id uint64, output json.RawMessage, e *Error) *pluginv1.SessionResponse {
	if e != nil {
		return &pluginv1.SessionResponse{InvocationId: id, Result: &pluginv1.SessionResponse_Error{Error: toError(e)}}
	}
	return &pluginv1.SessionResponse{InvocationId: id, Result: &pluginv1.SessionResponse_Output{Output: output}}
}

// toOutboundRequest is a handler's HTTP request (whose body was read) as
// an Outbound call of one invocation on one connection; a path template
// set by Client travels with it.
func toOutboundRequest(invocationID uint64, connection string, hr *http.Request, body []byte) *pluginv1.OutboundRequest {
	out := &pluginv1.OutboundRequest{
		InvocationId: invocationID,
		Connection:   connection,
		Method:       hr.Method,
		Url:          hr.URL.String(),
		Headers:      toHeaders(hr.Header),
		Body:         body,
	}
	if tmpl, ok := hr.Context().Value(templateKey{}).(string); ok {
		out.PathTemplate = tmpl
	}
	return out
}

func toHeaders(h http.Header) []*pluginv1.Header {
	var out []*pluginv1.Header
	for _, k := range slices.Sorted(maps.Keys(h)) {
		out = append(out, &pluginv1.Header{Name: k, Values: h[k]})
	}
	return out
}

// fromOutboundResponse is the host's answer to an Outbound call as the
// response to hr, with AttemptsHeader set.
func fromOutboundResponse(resp *pluginv1.OutboundResponse, hr *http.Request) *http.Response {
	header := make(http.Header, len(resp.GetHeaders())+1)
	for _, h := range resp.GetHeaders() {
		header[http.CanonicalHeaderKey(h.GetName())] = h.GetValues()
	}
	header.Set(AttemptsHeader, strconv.Itoa(int(resp.GetAttempts())))
	code := int(resp.GetStatus())
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", code, http.StatusText(code)),
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(resp.GetBody())),
		ContentLength: int64(len(resp.GetBody())),
		Request:       hr,
	}
}

// toStatus carries a typed error to the host (pluginv1.ErrorStatus).
func toStatus(e *Error) error { return pluginv1.ErrorStatus(toError(e)) }

func toError(e *Error) *pluginv1.Error {
	return &pluginv1.Error{
		Code:         e.Code,
		Message:      e.Message,
		HttpStatus:   int32(e.Status),
		Retryable:    e.Retryable,
		RetryAfterMs: e.RetryAfter.Milliseconds(),
	}
}

// fromStatus turns the host's refusal or failure of an Outbound call into
// an *Error; ctx is the call's.
func fromStatus(ctx context.Context, err error) *Error {
	if e, ok := pluginv1.ErrorFromStatus(err); ok {
		return &Error{Status: int(e.GetHttpStatus()), Code: e.GetCode(), Message: e.GetMessage(), Retryable: e.GetRetryable(),
			RetryAfter: time.Duration(e.GetRetryAfterMs()) * time.Millisecond}
	}
	st := status.Convert(err)
	switch {
	case st.Code() == codes.DeadlineExceeded || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return Errorf(504, "timeout", "the downstream call ran out of time")
	case st.Code() == codes.Canceled:
		return Errorf(504, "timeout", "the downstream call was cancelled")
	}
	return Errorf(502, "host_unavailable", "the host's outbound service failed: %s", st.Message())
}
