package catalog

// The one place where the host converts between the plugin wire's messages
// (proto/pluginv1) and its own types; one small function per message. Only
// the catalog sees protobuf.

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/mapping"
	"github.com/switchboard-dev/switchboard/host/outbound"
	"github.com/switchboard-dev/switchboard/host/registry"
	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

// fromDescribeResponse is a plugin's description of itself. A plugin must
// serve at least one action and name each once.
func fromDescribeResponse(resp *pluginv1.DescribeResponse) (version string, actions []registry.Description, err error) {
	if len(resp.GetActions()) == 0 {
		return "", nil, fmt.Errorf("the plugin serves no actions")
	}
	seen := make(map[string]bool, len(resp.GetActions()))
	for _, a := range resp.GetActions() {
		if seen[a.GetName()] {
			return "", nil, fmt.Errorf("the plugin declares action %q twice", a.GetName())
		}
		seen[a.GetName()] = true
		actions = append(actions, fromAction(a))
	}
	return resp.GetVersion(), actions, nil
}

func fromAction(a *pluginv1.Action) registry.Description {
	d := registry.Description{
		Name: a.GetName(), Version: a.GetVersion(), Description: a.GetDescription(),
		InputSchema: a.GetInputSchema(), OutputSchema: a.GetOutputSchema(),
		Connections: a.GetConnections(), Timeout: a.GetTimeout().AsDuration(),
		Idempotent: a.GetIdempotent(), Secure: a.GetSecure(),
	}
	for _, r := range a.GetMapping() {
		d.Mapping = append(d.Mapping, fromMappingRule(r))
	}
	if c := a.GetCache(); c != nil {
		d.Cache = &registry.CacheSuggestion{TTL: c.GetTtl().AsDuration(), StaleWhileRevalidate: c.GetStaleWhileRevalidate().AsDuration(),
			StaleIfError: c.GetStaleIfError().AsDuration(), Key: c.GetKey()}
	}
	return d
}

func fromMappingRule(r *pluginv1.MappingRule) mapping.Rule {
	rule := mapping.Rule{Target: r.GetTarget(), Source: r.GetSource()}
	if len(r.GetDefaultJson()) > 0 {
		rule.Default = r.GetDefaultJson()
	}
	return rule
}

func toInvokeRequest(inv *registry.Invocation) *pluginv1.InvokeRequest {
	return &pluginv1.InvokeRequest{
		Action: inv.Action, RequestId: inv.RequestID, Metadata: inv.Metadata, Input: inv.Input, InvocationId: inv.ID,
	}
}

// fromError is the typed error a plugin answered with, if it chose one:
// an *apierr.Error already (the Session stream's), or a gRPC status
// carrying one (Invoke's).
func fromError(err error) (*apierr.Error, bool) {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae, true
	}
	e, ok := pluginv1.ErrorFromStatus(err)
	if !ok {
		return nil, false
	}
	return fromWireError(e), true
}

// fromWireError is a plugin's typed error as the host answers it.
func fromWireError(e *pluginv1.Error) *apierr.Error {
	s := int(e.GetHttpStatus())
	if s < 400 || s > 599 {
		s = http.StatusInternalServerError
	}
	return &apierr.Error{Status: s, Code: e.GetCode(), Message: e.GetMessage(), Retryable: e.GetRetryable(),
		RetryAfter: min(time.Duration(max(e.GetRetryAfterMs(), 0))*time.Millisecond, time.Hour)}
}

// toError carries a host error to the plugin, as plugins carry theirs.
func toError(e *apierr.Error) error {
	return pluginv1.ErrorStatus(&pluginv1.Error{Code: e.Code, Message: e.Message, HttpStatus: int32(e.Status), Retryable: e.Retryable,
		RetryAfterMs: e.RetryAfter.Milliseconds()})
}

func fromOutboundRequest(req *pluginv1.OutboundRequest) *outbound.Call {
	header := make(http.Header, len(req.GetHeaders()))
	for _, h := range req.GetHeaders() {
		header[http.CanonicalHeaderKey(h.GetName())] = h.GetValues()
	}
	return &outbound.Call{Method: req.GetMethod(), URL: req.GetUrl(), Header: header, Body: req.GetBody()}
}

func toOutboundResponse(resp *outbound.Response) *pluginv1.OutboundResponse {
	out := &pluginv1.OutboundResponse{Status: int32(resp.Status), Body: resp.Body, Attempts: int32(resp.Attempts)}
	for k, v := range resp.Header {
		out.Headers = append(out.Headers, &pluginv1.Header{Name: k, Values: v})
	}
	return out
}
