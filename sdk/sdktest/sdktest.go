// Package sdktest runs a plugin's actions in tests as the Switchboard host
// runs them, so that a plugin's own tests catch what the host would refuse.
// Serve and Invoke serve actions in process through the SDK's real gRPC
// server (sdk.ServeWith); Start starts a built plugin binary. Either way
// sdktest then plays the host's part:
//
//   - every action's schemas must keep Genesys Cloud's contract rules
//     (package contract) and compile;
//   - an input must be a JSON object that matches the input schema (else a
//     400 "invalid_input"), an output one that matches the output schema
//     (else a 502 "invalid_output");
//   - the action runs within its declared timeout (10 seconds, the host's
//     default, when it declares none);
//   - its Request.HTTP calls are answered by the http.Handler the test gives
//     for the connection (Connection), and refused, as the host refuses
//     them, on a connection the action did not declare; a declared
//     connection the test gives no handler for is an error.
//
// It belongs with the SDK: it imports nothing of the host. Only tests link
// it, so it may import what plugin binaries must not (a JSON Schema
// compiler).
package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
	"github.com/switchboard-dev/switchboard/sdk"
)

// defaultTimeout is the host's default time budget of an action.
const defaultTimeout = 10 * time.Second

// startTimeout bounds starting a plugin and its Describe call.
const startTimeout = 10 * time.Second

// Option changes how sdktest plays the host. Options given to Serve or Start
// apply to every invocation; those given to an Invoke add to them for that
// invocation, and win.
type Option func(*options)

type options struct {
	handlers  map[string]http.Handler
	requestID string
	metadata  sdk.Metadata
}

func newOptions(base options, opts []Option) options {
	o := base
	o.handlers = maps.Clone(base.handlers)
	if o.handlers == nil {
		o.handlers = map[string]http.Handler{}
	}
	if o.requestID == "" {
		o.requestID = "sdktest"
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Connection answers the actions' Request.HTTP calls on the named
// connection with h, as if the host had sent them to the connection's base
// URL, http://NAME.connection: a handler sees r.Host "NAME.connection" and
// the path as the action wrote it. The action sees the handler's response
// with sdk.AttemptsHeader 1.
func Connection(name string, h http.Handler) Option {
	return func(o *options) { o.handlers[name] = h }
}

// RequestID sets the request id the handler sees; without it, "sdktest".
func RequestID(id string) Option {
	return func(o *options) { o.requestID = id }
}

// Metadata sets the Genesys Cloud metadata the handler sees; without it,
// none.
func Metadata(md sdk.Metadata) Option {
	return func(o *options) { o.metadata = md }
}

// Plugin is a plugin as the host sees it once it has described its actions:
// actions served in process (Serve) or a plugin binary (Start).
type Plugin struct {
	rpc         pluginv1.ActionPluginClient
	infos       []sdk.ActionInfo
	actions     map[string]*action
	connections *connections
	opts        options
	ids         atomic.Uint64
}

// Serve serves the actions in process through the SDK's gRPC server, as a
// plugin binary serves them, connects to them as the host does and applies
// the host's checks to them; the test's cleanup stops them. A mistake in
// the actions, or a breach of the contract rules, fails the test.
func Serve(t testing.TB, actions []*sdk.Action, opts ...Option) *Plugin {
	t.Helper()
	p, stop, err := serve(actions, newOptions(options{}, opts))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("sdktest: stopping the actions: %v", err)
		}
	})
	return p
}

// Invoke serves one action in process, as Serve does, invokes it once with
// the input and stops it. A mistake in the action, a breach of the
// contract rules or a declared connection without a handler is an error
// naming the action and the rule; a failure the host would answer is an
// *sdk.Error.
func Invoke(ctx context.Context, a *sdk.Action, input json.RawMessage, opts ...Option) (json.RawMessage, error) {
	p, stop, err := serve([]*sdk.Action{a}, newOptions(options{}, opts))
	if err != nil {
		return nil, err
	}
	defer stop()
	return p.Invoke(ctx, a.Info().Name, input)
}

// serve serves the actions in process and connects to them. stop ends
// both, and returns what sdk.ServeWith returned.
func serve(actions []*sdk.Action, o options) (p *Plugin, stop func() error, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	served := make(chan struct{})
	var serveErr error
	go func() {
		defer close(served)
		serveErr = sdk.ServeWith(sdk.ServeOptions{
			Context:   ctx,
			Logger:    pluginLogger(),
			InProcess: func(addr net.Addr) { addrs <- addr },
		}, actions...)
	}()
	var addr net.Addr
	select {
	case addr = <-addrs:
	case <-served:
		cancel()
		if serveErr == nil {
			serveErr = errors.New("the SDK stopped serving before it listened")
		}
		return nil, nil, fmt.Errorf("sdktest: %w", serveErr)
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: pluginv1.Handshake(),
		Plugins:         plugin.PluginSet{pluginv1.PluginName: hostPlugin{}},
		Reattach: &plugin.ReattachConfig{
			Protocol:        plugin.ProtocolGRPC,
			ProtocolVersion: pluginv1.ProtocolVersion,
			Addr:            addr,
			Test:            true, // go-plugin does not kill this process
			ReattachFunc:    func() (runner.AttachedRunner, error) { return inProcess{served}, nil },
		},
		Logger:          hclog.NewNullLogger(),
		GRPCDialOptions: dialOptions(),
	})
	var proto plugin.ClientProtocol
	stop = func() error {
		if proto != nil {
			proto.Close() // asks the server to stop, as the host does
		}
		cancel()
		<-served
		return serveErr
	}
	if proto, err = client.Client(); err != nil {
		stop()
		return nil, nil, fmt.Errorf("sdktest: connecting to the actions: %w", err)
	}
	if p, err = connect(proto, o); err != nil {
		stop()
		return nil, nil, err
	}
	return p, stop, nil
}

// inProcess is go-plugin's view of the in-process server: it runs until
// ServeWith returns.
type inProcess struct{ served <-chan struct{} }

func (r inProcess) Wait(ctx context.Context) error {
	select {
	case <-r.served:
	case <-ctx.Done():
	}
	return nil
}

func (inProcess) Kill(context.Context) error { return nil }
func (inProcess) ID() string                 { return "in-process" }

func (inProcess) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (inProcess) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// pluginLogger is the in-process actions' logger: text on standard error,
// which go test shows for a failing test, at the level SWITCHBOARD_LOG_LEVEL
// names (info when unset).
func pluginLogger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   "plugin",
		Output: os.Stderr,
		Level:  hclog.LevelFromString(os.Getenv("SWITCHBOARD_LOG_LEVEL")),
	})
}

// Start starts the plugin binary at path as the host starts it, performs
// the handshake, serves it the Outbound service, asks it to describe its
// actions and applies the host's checks to them; the test's cleanup stops
// it. Failing to start, or a breach of the contract rules, fails the test.
func Start(t testing.TB, path string, opts ...Option) *Plugin {
	t.Helper()
	p, err := start(path, t.TempDir(), t.Cleanup, newOptions(options{}, opts))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// start starts the binary with the temporary directory dir, and registers
// its end with cleanup.
func start(path, dir string, cleanup func(func()), o options) (*Plugin, error) {
	cmd := exec.Command(path)
	cmd.Env = []string{"TMPDIR=" + dir}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginv1.Handshake(),
		VersionedPlugins: map[int]plugin.PluginSet{pluginv1.ProtocolVersion: {pluginv1.PluginName: hostPlugin{}}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		StartTimeout:     startTimeout,
		Logger:           pluginLogger(), // the plugin's standard error, line by line
		GRPCDialOptions:  dialOptions(),
	})
	cleanup(client.Kill)
	proto, err := client.Client()
	if err != nil {
		return nil, fmt.Errorf("sdktest: starting %s: %w", path, err)
	}
	p, err := connect(proto, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// connect does what the host does once a plugin has started: it serves
// the plugin Outbound on a broker stream, asks it to describe its actions
// and checks them.
func connect(proto plugin.ClientProtocol, o options) (*Plugin, error) {
	raw, err := proto.Dispense(pluginv1.PluginName)
	if err != nil {
		return nil, fmt.Errorf("sdktest: handshake: %w", err)
	}
	pc := raw.(*pluginClient)
	p := &Plugin{rpc: pc.rpc, connections: &connections{}, opts: o}
	id := p.connections.serve(pc.broker)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	d, err := p.rpc.Describe(ctx, &pluginv1.DescribeRequest{OutboundBrokerId: id})
	if err != nil {
		return nil, fmt.Errorf("sdktest: describe: %w", err)
	}
	p.infos = fromDescribeResponse(d)
	if p.actions, err = checkActions(p.infos); err != nil {
		return nil, fmt.Errorf("sdktest: %w", err)
	}
	return p, nil
}

// Actions returns what the plugin declares of its actions, in its order.
func (p *Plugin) Actions() []sdk.ActionInfo {
	return slices.Clone(p.infos)
}

// Invoke runs the named action once with the input, as the host would
// after building the input from a request: it validates the input, runs
// the action in the plugin within its time budget, answers its calls on
// its connections and validates its output. A failure the host would
// answer (the plugin's typed error, a plain error as 500 "action_failed",
// an invalid input or output, a timeout) is an *sdk.Error; a declared
// connection without a handler is an error naming the action and the
// connection.
func (p *Plugin) Invoke(ctx context.Context, name string, input json.RawMessage, opts ...Option) (json.RawMessage, error) {
	a, ok := p.actions[name]
	if !ok {
		return nil, sdk.Errorf(http.StatusNotFound, "action_not_found", "the plugin has no action %q", name)
	}
	o := newOptions(p.opts, opts)
	for _, c := range a.info.Uses {
		if o.handlers[c] == nil {
			return nil, fmt.Errorf("sdktest: action %q uses connection %q, which the test does not give (sdktest.Connection(%q, handler))", name, c, c)
		}
	}
	if err := a.validateInput(input); err != nil {
		return nil, err
	}
	budget := a.info.Timeout
	if budget <= 0 {
		budget = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	id := p.ids.Add(1)
	defer p.connections.register(id, &invocation{action: name, uses: a.info.Uses, handlers: o.handlers})()
	resp, err := p.rpc.Invoke(ctx, toInvokeRequest(name, id, input, o))
	if err != nil {
		return nil, fromInvokeError(ctx, name, err)
	}
	out := fromInvokeResponse(resp)
	if err := a.validateOutput(out); err != nil {
		return nil, err
	}
	return out, nil
}
