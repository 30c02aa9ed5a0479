package sdktest

// The host's part: the go-plugin client side, the Outbound service and the
// checks the host applies to a plugin's actions and to every invocation.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/santhosh-tekuri/jsonschema/v5"
	"google.golang.org/grpc"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
	"github.com/switchboard-dev/switchboard/sdk"
	"github.com/switchboard-dev/switchboard/sdk/contract"
)

// action is one of the plugin's actions with its compiled schemas.
type action struct {
	info          sdk.ActionInfo
	input, output *jsonschema.Schema
}

// checkActions applies the host's checks to what the plugin described:
// names are unique, the schemas keep Genesys Cloud's contract rules and
// compile. Every error names the action, and the rule it breaks.
func checkActions(infos []sdk.ActionInfo) (map[string]*action, error) {
	if len(infos) == 0 {
		return nil, errors.New("the plugin serves no actions")
	}
	actions := make(map[string]*action, len(infos))
	var errs []error
	for _, info := range infos {
		if _, dup := actions[info.Name]; dup {
			errs = append(errs, fmt.Errorf("action %q: declared twice", info.Name))
			continue
		}
		a, err := checkAction(info)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		actions[info.Name] = a
	}
	return actions, errors.Join(errs...)
}

func checkAction(info sdk.ActionInfo) (*action, error) {
	if vs := contract.Check(info.Input, info.Output); len(vs) > 0 {
		return nil, fmt.Errorf("action %q breaks Genesys Cloud's data action contract rules: %w", info.Name, contract.Join(vs))
	}
	a := &action{info: info}
	var err error
	if a.input, err = contract.Compile(info.Input); err != nil {
		return nil, fmt.Errorf("action %q: input schema: %w", info.Name, err)
	}
	if a.output, err = contract.Compile(info.Output); err != nil {
		return nil, fmt.Errorf("action %q: output schema: %w", info.Name, err)
	}
	return a, nil
}

// validateInput is the host's check of an input: a JSON object that
// matches the input schema, else a 400 "invalid_input".
func (a *action) validateInput(input json.RawMessage) error {
	if err := validate(a.input, input); err != nil {
		return sdk.Errorf(http.StatusBadRequest, "invalid_input", "the input of action %q does not match its schema: %v", a.info.Name, err)
	}
	return nil
}

// validateOutput is the host's check of an output: a JSON object that
// matches the output schema, else a 502 "invalid_output".
func (a *action) validateOutput(output json.RawMessage) error {
	if err := validate(a.output, output); err != nil {
		return sdk.Errorf(http.StatusBadGateway, "invalid_output", "the output of action %q does not match its schema: %v", a.info.Name, err)
	}
	return nil
}

func validate(s *jsonschema.Schema, doc json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("/: not JSON: %w", err)
	}
	if dec.More() {
		return errors.New("/: more data follows the JSON value")
	}
	if _, ok := v.(map[string]any); !ok {
		return errors.New("/: must be a JSON object")
	}
	if err := s.Validate(v); err != nil {
		return errors.New(contract.Describe(err))
	}
	return nil
}

// connections answers a plugin's Outbound calls. A call is accepted only on
// behalf of an invocation that is still running, and only on a connection
// its action declared, as the host does.
type connections struct {
	pluginv1.UnimplementedOutboundServer
	invocations sync.Map // uint64 → *invocation
}

// invocation is an action running in the plugin: what its calls may do.
type invocation struct {
	action   string
	uses     []string
	handlers map[string]http.Handler
}

func (s *connections) register(id uint64, inv *invocation) func() {
	s.invocations.Store(id, inv)
	return func() { s.invocations.Delete(id) }
}

// Do converts the call, answers it with the connection's handler, and
// converts the handler's response.
func (s *connections) Do(ctx context.Context, req *pluginv1.OutboundRequest) (*pluginv1.OutboundResponse, error) {
	v, ok := s.invocations.Load(req.GetInvocationId())
	if !ok {
		return nil, toStatus(sdk.Errorf(http.StatusForbidden, "outbound_refused", "outbound calls are allowed only while one of the plugin's actions runs"))
	}
	inv := v.(*invocation)
	name := req.GetConnection()
	if !slices.Contains(inv.uses, name) {
		return nil, toStatus(sdk.Errorf(http.StatusForbidden, "outbound_refused", "action %q did not declare connection %q (the plugin must call Uses(%q))", inv.action, name, name))
	}
	h, ok := inv.handlers[name]
	if !ok {
		return nil, toStatus(sdk.Errorf(http.StatusInternalServerError, "connection_not_configured", "the test gives no connection %q, which action %q uses (sdktest.Connection)", name, inv.action))
	}
	hr, err := fromOutboundRequest(ctx, req)
	if err != nil {
		return nil, toStatus(sdk.Errorf(http.StatusForbidden, "outbound_refused", "connection %q: %v", name, err))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, hr)
	resp, err := toOutboundResponse(w.Result())
	if err != nil {
		return nil, toStatus(sdk.Errorf(http.StatusBadGateway, "outbound_failed", "connection %q: %v", name, err))
	}
	return resp, nil
}

// serve serves the Outbound service on a broker stream until the broker
// closes, and returns the stream's id for DescribeRequest.
func (s *connections) serve(broker *plugin.GRPCBroker) uint32 {
	id := broker.NextId()
	go broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		srv := grpc.NewServer(append(opts,
			grpc.MaxRecvMsgSize(pluginv1.MaxMessageSize),
			grpc.MaxSendMsgSize(pluginv1.MaxMessageSize),
			grpc.InitialWindowSize(pluginv1.WindowSize),
			grpc.InitialConnWindowSize(pluginv1.WindowSize),
		)...)
		pluginv1.RegisterOutboundServer(srv, s)
		return srv
	})
	return id
}

// dialOptions are the host's options for its connection to a plugin.
func dialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(pluginv1.MaxMessageSize), grpc.MaxCallSendMsgSize(pluginv1.MaxMessageSize)),
		grpc.WithInitialWindowSize(pluginv1.WindowSize),
		grpc.WithInitialConnWindowSize(pluginv1.WindowSize),
	}
}

// hostPlugin is the host side of go-plugin's plugin interface.
type hostPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (hostPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("sdktest: the host does not serve actions")
}

func (hostPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &pluginClient{rpc: pluginv1.NewActionPluginClient(c), broker: broker}, nil
}

// pluginClient is what Dispense returns: the plugin's service and the
// broker on which the host serves it Outbound.
type pluginClient struct {
	rpc    pluginv1.ActionPluginClient
	broker *plugin.GRPCBroker
}
