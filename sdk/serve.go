package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

// streamWorkers is how many goroutines serve the host's calls; each keeps
// its grown stack, so a call does not pay for a new goroutine and its stack
// growth. Calls beyond them get a goroutine of their own, as without workers.
const streamWorkers = 64

// parentPollInterval is how often a plugin checks that the host that started
// it is still there.
const parentPollInterval = 500 * time.Millisecond

// Serve serves the actions to the Switchboard host that started this process,
// and returns nil when the host stops the plugin or goes away. It must be the
// only thing main does: anything written to standard output before it breaks
// the handshake with the host.
//
// Serve returns an error, without serving, when the actions' descriptions
// hold a mistake (it lists them all) or when the process was not started by
// a host (it was run by hand), and an error when go-plugin cannot serve.
// Serve never exits the process itself; main reports the error:
//
//	if err := sdk.Serve(actions...); err != nil {
//		fmt.Fprintln(os.Stderr, "myplugin:", err)
//		os.Exit(1)
//	}
func Serve(actions ...*Action) error {
	return ServeWith(ServeOptions{}, actions...)
}

// ServeOptions changes how ServeWith serves. The zero value serves as Serve
// does.
type ServeOptions struct {
	// Context, when done, stops serving: calls in flight are cut off and
	// ServeWith returns nil. Nil: serve until the host stops the plugin.
	Context context.Context

	// Logger is the plugin's logger, the one Request.Logger extends. Nil:
	// JSON lines on standard error at the level SWITCHBOARD_LOG_LEVEL names
	// (info when unset), which is what the host reads and logs under the
	// plugin's name.
	Logger hclog.Logger

	// InProcess, when not nil, serves to a client in this process, as
	// package sdktest does, instead of to a host that started the process:
	// the handshake's magic cookie is not needed, nothing is written to
	// standard output, and the process is not tied to its parent.
	// ServeWith calls InProcess once, with the address of the socket it
	// serves on, when a client may connect (with go-plugin's reattach
	// configuration: protocol gRPC, version pluginv1.ProtocolVersion).
	// Nil: serve to the host that started the process.
	InProcess func(addr net.Addr)
}

// ServeWith is Serve with options.
func ServeWith(opts ServeOptions, actions ...*Action) error {
	logger := opts.Logger
	if logger == nil {
		// Unnamed: the host logs each line under the plugin's name.
		logger = hclog.New(&hclog.LoggerOptions{
			Output:     os.Stderr,
			JSONFormat: true, // the host parses these lines and re-logs them under the plugin's name
			Level:      hclog.LevelFromString(os.Getenv("SWITCHBOARD_LOG_LEVEL")),
		})
	}
	srv, err := newServer(actions, logger)
	if err != nil {
		return err
	}
	handshake := pluginv1.Handshake()
	if opts.InProcess == nil && os.Getenv(handshake.MagicCookieKey) != handshake.MagicCookieValue {
		return fmt.Errorf("this program is a Switchboard plugin: the Switchboard host starts it (%s is not set), it is not meant to be run by hand", handshake.MagicCookieKey)
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()

	goPluginLog := &errorLog{Logger: logger}
	served := false // set when go-plugin builds the gRPC server, so got as far as serving
	cfg := &plugin.ServeConfig{
		HandshakeConfig: handshake,
		// The same server for both versions: it serves Invoke and Session.
		VersionedPlugins: map[int]plugin.PluginSet{
			pluginv1.ProtocolUnary:   {pluginv1.PluginName: &grpcPlugin{srv: srv}},
			pluginv1.ProtocolSession: {pluginv1.PluginName: &grpcPlugin{srv: srv}},
		},
		GRPCServer: func(o []grpc.ServerOption) *grpc.Server {
			served = true
			s := newGRPCServer(o, logger)
			go func() {
				<-ctx.Done()
				s.Stop() // go-plugin's Serve returns once the gRPC server has stopped
			}()
			return s
		},
		Logger: goPluginLog,
	}
	if opts.InProcess != nil {
		reattach := make(chan *plugin.ReattachConfig, 1)
		cfg.Test = &plugin.ServeTestConfig{ReattachConfigCh: reattach}
		go func() {
			select {
			case rc := <-reattach:
				opts.InProcess(rc.Addr)
			case <-ctx.Done():
			}
		}()
	} else {
		go watchParent(ctx, os.Getppid(), stop, logger)
		// go-plugin sends standard output and error to the host over gRPC
		// while it serves; what main prints after Serve returns must reach
		// the real ones.
		defer func(stdout, stderr *os.File) { os.Stdout, os.Stderr = stdout, stderr }(os.Stdout, os.Stderr)
	}
	plugin.Serve(cfg)
	if !served && ctx.Err() == nil {
		return fmt.Errorf("go-plugin could not serve: %s", goPluginLog.last())
	}
	return nil
}

// newGRPCServer is the gRPC server of the ActionPlugin service.
func newGRPCServer(opts []grpc.ServerOption, logger hclog.Logger) *grpc.Server {
	opts = append(opts,
		grpc.ChainUnaryInterceptor(recoverUnary(logger)),
		grpc.MaxRecvMsgSize(pluginv1.MaxMessageSize),
		grpc.MaxSendMsgSize(pluginv1.MaxMessageSize),
		grpc.NumStreamWorkers(streamWorkers),
		grpc.InitialWindowSize(pluginv1.WindowSize),
		grpc.InitialConnWindowSize(pluginv1.WindowSize),
	)
	return grpc.NewServer(opts...)
}

// watchParent stops serving when the host that started the plugin is gone,
// even if the host died without stopping it (kill -9). The host also asks
// the kernel to kill its plugins when it dies; this covers systems and cases
// where that signal is lost. It returns when ctx is done.
func watchParent(ctx context.Context, ppid int, stop func(), logger hclog.Logger) {
	tick := time.NewTicker(parentPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if os.Getppid() != ppid {
				logger.Warn("the host that started this plugin is gone; stopping", "host_pid", ppid)
				stop()
				return
			}
		}
	}
}

// errorLog is the logger go-plugin gets: it remembers the last error
// go-plugin logs, which is all it says when it cannot serve.
type errorLog struct {
	hclog.Logger
	mu  sync.Mutex
	msg string
}

// Error logs and remembers msg with its key-value pairs.
func (l *errorLog) Error(msg string, args ...any) {
	var b strings.Builder
	b.WriteString(msg)
	for i := 0; i+1 < len(args); i += 2 {
		fmt.Fprintf(&b, " %v=%v", args[i], args[i+1])
	}
	l.mu.Lock()
	l.msg = b.String()
	l.mu.Unlock()
	l.Logger.Error(msg, args...)
}

func (l *errorLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.msg == "" {
		return "it logged no error"
	}
	return l.msg
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

// server serves the ActionPlugin service of one plugin process. Its
// handlers convert the request (wire.go), call, and convert the answer.
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
		if _, dup := s.actions[a.info.Name]; dup {
			errs = append(errs, fmt.Errorf("action %q: declared twice", a.info.Name))
			continue
		}
		s.actions[a.info.Name] = a
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.described = toDescribeResponse(actions)
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

// Invoke runs one action.
func (s *server) Invoke(ctx context.Context, req *pluginv1.InvokeRequest) (*pluginv1.InvokeResponse, error) {
	out, err := s.invoke(ctx, fromInvokeRequest(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return toInvokeResponse(out), nil
}

func (s *server) invoke(ctx context.Context, r *Request) (json.RawMessage, *Error) {
	a, ok := s.actions[r.action]
	if !ok {
		return nil, Errorf(404, "action_not_found", "this plugin has no action %q", r.action)
	}
	r.ctx, r.host, r.logger = ctx, &s.host, s.logger
	return a.run(ctx, r, s.logger)
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)
