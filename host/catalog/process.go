package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/outbound"
	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

// maxMessageSize bounds every gRPC message between host and plugin, as the
// SDK does on its side.
const maxMessageSize = 32 << 20

// windowSize is the HTTP/2 flow-control window of plugin connections.
const windowSize = 4 << 20

// ProcessOptions are how a plugin process is started.
type ProcessOptions struct {
	// Logger receives the plugin's log lines under its name. Nil: no logs.
	Logger hclog.Logger
	// StartTimeout bounds start, handshake and describe. Zero means 10 s.
	StartTimeout time.Duration
	// SocketRoot is the private directory under which each plugin process
	// gets its own directory (its TMPDIR, for go-plugin's Unix sockets).
	SocketRoot string
	// Pin, when not empty, is the hex SHA-256 the binary must have; it is
	// checked immediately before the binary is executed.
	Pin string
	// LogLevel is passed to the plugin (SWITCHBOARD_LOG_LEVEL).
	LogLevel string
	// GOMAXPROCS of the plugin process; 0 means 1.
	GOMAXPROCS int
	// Outbound holds the connections the plugin's actions may call.
	Outbound *outbound.Pool
}

// Process is one running plugin process.
type Process struct {
	bin      Binary
	client   *plugin.Client
	rpc      pluginv1.ActionPluginClient
	describe *pluginv1.DescribeResponse
	actions  map[string]*pluginv1.Action
	outbound *outboundServer
	pid      int
	dir      string
}

// Start starts bin, performs the go-plugin handshake and asks the plugin to
// describe its actions. On any failure the process is killed and the error
// says at which step it failed.
func Start(ctx context.Context, bin Binary, opts ProcessOptions) (p *Process, err error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	dir, err := os.MkdirTemp(opts.SocketRoot, bin.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("start: private directory: %w", err)
	}

	// SkipHostEnv: the plugin gets this environment and nothing of the host's
	// (go-plugin adds only its handshake variables).
	cmd := exec.Command(bin.Path)
	cmd.Env = []string{
		"TMPDIR=" + dir,
		"SWITCHBOARD_LOG_LEVEL=" + opts.LogLevel,
		"GOMAXPROCS=" + strconv.Itoa(max(opts.GOMAXPROCS, 1)),
	}
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr()

	cfg := &plugin.ClientConfig{
		HandshakeConfig:  pluginv1.Handshake(),
		VersionedPlugins: map[int]plugin.PluginSet{pluginv1.ProtocolVersion: {pluginv1.PluginName: &hostPlugin{}}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Managed:          true,
		StartTimeout:     opts.StartTimeout,
		SkipHostEnv:      true,
		Logger:           logger.Named(bin.Name),
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize), grpc.MaxCallSendMsgSize(maxMessageSize)),
			// Fixed flow-control windows turn off gRPC's bandwidth-delay
			// probing, whose PING round trips cost as much as a call on a
			// local socket.
			grpc.WithInitialWindowSize(windowSize),
			grpc.WithInitialConnWindowSize(windowSize),
		},
	}
	if opts.Pin != "" {
		sum, err := hex.DecodeString(opts.Pin)
		if err != nil || len(sum) != sha256.Size {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("verify: pin %q is not a hex SHA-256", opts.Pin)
		}
		cfg.SecureConfig = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	client := plugin.NewClient(cfg)
	p = &Process{bin: bin, client: client, dir: dir}
	defer func() {
		if err != nil {
			p.Kill()
		}
	}()

	if err := forkLocked(func() error { _, err := client.Start(); return err }); err != nil {
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return p, fmt.Errorf("verify: the binary's SHA-256 does not match its pin %s; it was not run", opts.Pin)
		}
		return p, fmt.Errorf("start: %w", err)
	}
	if rc := client.ReattachConfig(); rc != nil {
		p.pid = rc.Pid
	}
	proto, err := client.Client()
	if err != nil {
		return p, fmt.Errorf("handshake: %w", err)
	}
	raw, err := proto.Dispense(pluginv1.PluginName)
	if err != nil {
		return p, fmt.Errorf("handshake: %w", err)
	}
	pc := raw.(*pluginClient)
	p.rpc = pc.rpc

	// The host serves Outbound to this process on one broker stream; the
	// plugin connects once, while it describes itself.
	p.outbound = &outboundServer{plugin: bin.Name, pool: opts.Outbound}
	brokerID := p.outbound.serve(pc.broker)

	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	p.describe, err = p.rpc.Describe(ctx, &pluginv1.DescribeRequest{OutboundBrokerId: brokerID})
	if err != nil {
		return p, fmt.Errorf("describe: %w", err)
	}
	if len(p.describe.GetActions()) == 0 {
		return p, errors.New("describe: the plugin serves no actions")
	}
	p.actions = make(map[string]*pluginv1.Action, len(p.describe.GetActions()))
	for _, a := range p.describe.GetActions() {
		p.actions[a.GetName()] = a
	}
	return p, nil
}

// Binary returns the binary the process runs.
func (p *Process) Binary() Binary { return p.bin }

// PID returns the process id.
func (p *Process) PID() int { return p.pid }

// Actions returns the actions the plugin described.
func (p *Process) Actions() []*pluginv1.Action { return p.describe.GetActions() }

// Version returns the version the plugin reported.
func (p *Process) Version() string { return p.describe.GetVersion() }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool { return p.client.Exited() }

// Kill stops the process (gracefully, then by force after 2 s) and removes
// its private directory.
func (p *Process) Kill() {
	p.client.Kill()
	os.RemoveAll(p.dir)
}

// Invoke runs one action in the plugin. Failures are *apierr.Error: the
// plugin's own typed error, or what the transport's failure means for the
// caller.
func (p *Process) Invoke(ctx context.Context, req *pluginv1.InvokeRequest) ([]byte, error) {
	if a := p.actions[req.GetAction()]; len(a.GetConnections()) > 0 {
		inv := &invocation{action: a.GetName(), uses: a.GetConnections(), idempotent: a.GetIdempotent()}
		inv.deadline, inv.hasDL = ctx.Deadline()
		defer p.outbound.register(req.GetInvocationId(), inv)()
	}
	resp, err := p.rpc.Invoke(ctx, req)
	if err != nil {
		return nil, p.invokeError(ctx, req.GetAction(), err)
	}
	return resp.GetOutput(), nil
}

func (p *Process) invokeError(ctx context.Context, action string, err error) error {
	st := status.Convert(err)
	for _, d := range st.Details() {
		if e, ok := d.(*pluginv1.Error); ok {
			s := int(e.GetHttpStatus())
			if s < 400 || s > 599 {
				s = http.StatusInternalServerError
			}
			return &apierr.Error{Status: s, Code: e.GetCode(), Message: e.GetMessage(), Retryable: e.GetRetryable()}
		}
	}
	switch {
	case st.Code() == codes.DeadlineExceeded || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return apierr.Wrap(err, http.StatusGatewayTimeout, "timeout", "action %q did not answer within its time budget", action)
	case st.Code() == codes.Canceled || errors.Is(ctx.Err(), context.Canceled):
		return apierr.Wrap(err, apierr.StatusClientClosed, "client_closed_request", "the caller went away before action %q answered", action)
	case st.Code() == codes.Unavailable || p.client.Exited():
		e := apierr.Wrap(err, http.StatusServiceUnavailable, "plugin_unavailable", "the plugin %q serving action %q is not running", p.bin.Name, action)
		e.RetryAfter = time.Second
		return e
	}
	return apierr.Wrap(err, http.StatusBadGateway, "plugin_error", "the plugin %q failed to run action %q", p.bin.Name, action)
}

// hostPlugin is the host side of go-plugin's plugin interface.
type hostPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (hostPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("switchboard: the host does not serve actions")
}

func (hostPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &pluginClient{rpc: pluginv1.NewActionPluginClient(conn), broker: broker}, nil
}

// pluginClient is what Dispense returns: the plugin's service and the broker
// on which the host serves it Outbound.
type pluginClient struct {
	rpc    pluginv1.ActionPluginClient
	broker *plugin.GRPCBroker
}

var _ plugin.GRPCPlugin = hostPlugin{}
