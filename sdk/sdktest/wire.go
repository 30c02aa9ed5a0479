package sdktest

// The one place where sdktest converts between wire messages (package
// pluginv1) and the SDK's types and net/http's: the host's side of what
// sdk/wire.go does for the plugin, one small function per message.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
	"github.com/switchboard-dev/switchboard/sdk"
)

func fromDescribeResponse(d *pluginv1.DescribeResponse) []sdk.ActionInfo {
	var out []sdk.ActionInfo
	for _, a := range d.GetActions() {
		out = append(out, fromAction(a))
	}
	return out
}

func fromAction(a *pluginv1.Action) sdk.ActionInfo {
	info := sdk.ActionInfo{
		Name:        a.GetName(),
		Version:     a.GetVersion(),
		Description: a.GetDescription(),
		Input:       nonEmpty(a.GetInputSchema()),
		Output:      nonEmpty(a.GetOutputSchema()),
		Uses:        a.GetConnections(),
		Idempotent:  a.GetIdempotent(),
		Secure:      a.GetSecure(),
	}
	if a.GetTimeout() != nil {
		info.Timeout = a.GetTimeout().AsDuration()
	}
	for _, m := range a.GetMapping() {
		info.Mapping = append(info.Mapping, fromMappingRule(m))
	}
	if c := a.GetCache(); c != nil {
		info.Cache = &sdk.CachePolicy{TTL: c.GetTtl().AsDuration(), StaleWhileRevalidate: c.GetStaleWhileRevalidate().AsDuration(),
			StaleIfError: c.GetStaleIfError().AsDuration(), Key: c.GetKey()}
	}
	return info
}

func fromMappingRule(m *pluginv1.MappingRule) sdk.MappingRule {
	return sdk.MappingRule{Target: m.GetTarget(), Source: m.GetSource(), Default: nonEmpty(m.GetDefaultJson())}
}

func nonEmpty(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return b
}

func toInvokeRequest(action string, id uint64, input json.RawMessage, o options) *pluginv1.InvokeRequest {
	return &pluginv1.InvokeRequest{
		Action:       action,
		RequestId:    o.requestID,
		Metadata:     toMetadata(o.metadata),
		Input:        input,
		InvocationId: id,
	}
}

// toMetadata holds the fields that are set, as the host sends only what
// Genesys Cloud sent.
func toMetadata(md sdk.Metadata) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{
		pluginv1.MetadataCorrelationID:      md.CorrelationID,
		pluginv1.MetadataOrganizationID:     md.OrganizationID,
		pluginv1.MetadataHomeOrganizationID: md.HomeOrganizationID,
		pluginv1.MetadataUserID:             md.UserID,
		pluginv1.MetadataTraceParent:        md.TraceParent,
	} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func fromInvokeResponse(resp *pluginv1.InvokeResponse) json.RawMessage {
	return resp.GetOutput()
}

// fromInvokeError is what the host makes of a failed Invoke: the plugin's
// typed error (a status outside 400-599 is answered as 500), a timeout, or
// a failure of the call itself.
func fromInvokeError(ctx context.Context, action string, err error) error {
	if e, ok := pluginv1.ErrorFromStatus(err); ok {
		s := int(e.GetHttpStatus())
		if s < 400 || s > 599 {
			s = http.StatusInternalServerError
		}
		return &sdk.Error{Status: s, Code: e.GetCode(), Message: e.GetMessage(), Retryable: e.GetRetryable(),
			RetryAfter: time.Duration(e.GetRetryAfterMs()) * time.Millisecond}
	}
	if status.Code(err) == codes.DeadlineExceeded || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return sdk.Errorf(http.StatusGatewayTimeout, "timeout", "action %q did not answer within its time budget", action)
	}
	return fmt.Errorf("sdktest: invoking action %q: %w", action, err)
}

// fromOutboundRequest is an Outbound call as the request a connection's
// handler serves: a path is relative to the connection's base URL, here
// http://NAME.connection.
func fromOutboundRequest(ctx context.Context, req *pluginv1.OutboundRequest) (*http.Request, error) {
	u, err := url.Parse(req.GetUrl())
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", req.GetUrl(), err)
	}
	if u.Host == "" {
		u.Scheme, u.Host = "http", req.GetConnection()+".connection"
	}
	hr, err := http.NewRequestWithContext(ctx, req.GetMethod(), u.String(), bytes.NewReader(req.GetBody()))
	if err != nil {
		return nil, err
	}
	for _, h := range req.GetHeaders() {
		hr.Header[http.CanonicalHeaderKey(h.GetName())] = h.GetValues()
	}
	hr.RequestURI = u.RequestURI()
	hr.RemoteAddr = "192.0.2.1:1234" // as httptest.NewRequest has it
	return hr, nil
}

// toOutboundResponse is a handler's response as the host's answer: the
// host made one attempt.
func toOutboundResponse(resp *http.Response) (*pluginv1.OutboundResponse, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the response body: %w", err)
	}
	out := &pluginv1.OutboundResponse{Status: int32(resp.StatusCode), Body: body, Attempts: 1}
	for _, k := range slices.Sorted(maps.Keys(resp.Header)) {
		out.Headers = append(out.Headers, &pluginv1.Header{Name: k, Values: resp.Header[k]})
	}
	return out, nil
}

// toStatus carries a refusal to the plugin as the host carries its own.
func toStatus(e *sdk.Error) error {
	return pluginv1.ErrorStatus(&pluginv1.Error{
		Code:         e.Code,
		Message:      e.Message,
		HttpStatus:   int32(e.Status),
		Retryable:    e.Retryable,
		RetryAfterMs: e.RetryAfter.Milliseconds(),
	})
}
