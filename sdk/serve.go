package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

// maxMessageSize bounds every gRPC message between host and plugin; the host
// uses the same bound.
const maxMessageSize = 32 << 20

// windowSize is the HTTP/2 flow-control window, as on the host's side.
const windowSize = 4 << 20

// streamWorkers is how many goroutines serve the host's calls; each keeps
// its grown stack, so a call does not pay for a new goroutine and its stack
// growth. Calls beyond them get a goroutine of their own, as without workers.
const streamWorkers = 64

// parentPollInterval is how often a plugin checks that the host that started
// it is still there.
const parentPollInterval = 500 * time.Millisecond

// Serve serves the actions to the Switchboard host that started this process,
// and returns only when the host stops it. It must be the only thing main
// does: anything written to standard output before it breaks the handshake
// with the host. A mistake in the actions' descriptions is printed to standard
// error and the process exits with status 1.
//
// A plugin run by hand, not by a host, says so and exits with status 1.
func Serve(actions ...*Action) {
	// Unnamed: the host logs each line under the plugin's name.
	logger := hclog.New(&hclog.LoggerOptions{
		Output:     os.Stderr,
		JSONFormat: true, // the host parses these lines and re-logs them under the plugin's name
		Level:      hclog.LevelFromString(os.Getenv("SWITCHBOARD_LOG_LEVEL")),
	})
	srv, err := newServer(actions, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "switchboard plugin: %v\n", err)
		os.Exit(1)
	}
	go exitWithParent(os.Getppid(), logger)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pluginv1.Handshake(),
		VersionedPlugins: map[int]plugin.PluginSet{
			pluginv1.ProtocolVersion: {pluginv1.PluginName: &grpcPlugin{srv: srv}},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts,
				grpc.ChainUnaryInterceptor(recoverUnary(logger)),
				grpc.MaxRecvMsgSize(maxMessageSize),
				grpc.MaxSendMsgSize(maxMessageSize),
				grpc.NumStreamWorkers(streamWorkers),
				// Fixed windows turn off bandwidth-delay probing (PINGs).
				grpc.InitialWindowSize(windowSize),
				grpc.InitialConnWindowSize(windowSize),
			)
			return grpc.NewServer(opts...)
		},
		Logger: logger,
	})
}

// exitWithParent ends the plugin when the host that started it is gone, even
// if the host died without stopping it (kill -9). The host also asks the
// kernel to kill its plugins when it dies; this covers systems and cases
// where that signal is lost.
func exitWithParent(ppid int, logger hclog.Logger) {
	for range time.Tick(parentPollInterval) {
		if os.Getppid() != ppid {
			logger.Warn("the host that started this plugin is gone; exiting", "host_pid", ppid)
			os.Exit(0)
		}
	}
}

// recoverUnary turns a panic anywhere in a unary call into a typed error, so
// that one bad request never takes the plugin down.
func recoverUnary(logger hclog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				logger.Error("panic in plugin call", "method", info.FullMethod, "panic", fmt.Sprint(p), "stack", stack())
				resp, err = nil, toStatus(Errorf(500, "plugin_panic", "the plugin recovered from a panic in %s", info.FullMethod))
			}
		}()
		return handler(ctx, req)
	}
}

func stack() string { return string(debug.Stack()) }

// grpcPlugin is the plugin side of go-plugin's plugin interface.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	srv *server
}

func (p *grpcPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	p.srv.broker = broker
	pluginv1.RegisterActionPluginServer(s, p.srv)
	return nil
}

func (p *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("switchboard: the SDK serves actions; it is not a host")
}

// server serves the ActionPlugin service of one plugin process.
type server struct {
	pluginv1.UnimplementedActionPluginServer
	actions   map[string]*Action
	described *pluginv1.DescribeResponse
	logger    hclog.Logger
	broker    *plugin.GRPCBroker
	host      hostConn
}

func newServer(actions []*Action, logger hclog.Logger) (*server, error) {
	if len(actions) == 0 {
		return nil, errors.New("no actions to serve")
	}
	s := &server{actions: make(map[string]*Action, len(actions)), logger: logger}
	var errs []error
	for _, a := range actions {
		if err := a.check(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := s.actions[a.name]; dup {
			errs = append(errs, fmt.Errorf("action %q: declared twice", a.name))
			continue
		}
		s.actions[a.name] = a
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.described = describeResponse(actions)
	return s, nil
}

// Describe answers the host's first call. When the host serves Outbound, the
// plugin connects to it here, once, and every request reuses that connection.
func (s *server) Describe(ctx context.Context, req *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	if id := req.GetOutboundBrokerId(); id != 0 && s.broker != nil {
		if err := s.host.connect(s.broker, id); err != nil {
			return nil, toStatus(Errorf(500, "outbound_unavailable", "%v", err))
		}
	}
	return s.described, nil
}

func (s *server) Invoke(ctx context.Context, req *pluginv1.InvokeRequest) (*pluginv1.InvokeResponse, error) {
	a, ok := s.actions[req.GetAction()]
	if !ok {
		return nil, toStatus(Errorf(404, "action_not_found", "this plugin has no action %q", req.GetAction()))
	}
	r := fromInvokeRequest(req)
	r.ctx, r.host, r.logger = ctx, &s.host, s.logger
	out, err := a.run(ctx, r, s.logger.Error)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pluginv1.InvokeResponse{Output: out}, nil
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)
