package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/audit"
	"github.com/switchboard-dev/switchboard/host/outbound"
	"github.com/switchboard-dev/switchboard/host/sandbox"
	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

// maxMessageSize bounds every gRPC message between host and plugin, as the
// SDK does on its side.
const maxMessageSize = 32 << 20

// windowSize is the HTTP/2 flow-control window of plugin connections.
const windowSize = 4 << 20

// killTimeout bounds Kill: go-plugin's graceful stop (up to 2 s), then
// SIGKILL.
const killTimeout = 5 * time.Second

// ProcessOptions are how a plugin process is started.
type ProcessOptions struct {
	// Logger receives the plugin's log lines under its name. Nil: no logs.
	Logger hclog.Logger
	// StartTimeout bounds start, handshake and describe. Zero means 10 s.
	StartTimeout time.Duration
	// SocketRoot is the host's private directory under which each plugin
	// process gets its own (its TMPDIR and socket), and go-plugin puts the
	// host's sockets. Others must be able to traverse it (0711).
	SocketRoot string
	// Pin, when not empty, is the hex SHA-256 the binary must have. It is
	// checked on the very bytes that are then executed.
	Pin string
	// LogLevel is passed to the plugin (SWITCHBOARD_LOG_LEVEL).
	LogLevel string
	// GOMAXPROCS of the plugin process; 0 means 1.
	GOMAXPROCS int
	// MaxConcurrency bounds the requests in flight to the process; beyond
	// it requests answer 503 at once. 0: no bound.
	MaxConcurrency int
	// Outbound holds the connections the plugin's actions may call.
	Outbound *outbound.Pool
	// Sandbox is the plugin's sandbox; Capabilities what this machine can
	// apply (sandbox.Probe).
	Sandbox      sandbox.Policy
	Capabilities sandbox.Capabilities
	// UID and GID are the user the plugin runs as when the host runs as
	// root; a plugin never runs as root. Zero means 65534 (nobody).
	UID, GID int
}

// DefaultPluginUser is the uid and gid of plugins when the host is root.
const DefaultPluginUser = 65534

// credential is the user the plugin runs as: nil (the host's own) unless
// the host is root.
func (o ProcessOptions) credential() *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	uid, gid := o.UID, o.GID
	if uid == 0 {
		uid = DefaultPluginUser
	}
	if gid == 0 {
		gid = DefaultPluginUser
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
}

// Process is one running plugin process.
type Process struct {
	bin      Binary // SHA256 is that of the bytes actually executed
	client   *plugin.Client
	conn     *grpc.ClientConn
	rpc      pluginv1.ActionPluginClient
	describe *pluginv1.DescribeResponse
	actions  map[string]*pluginv1.Action
	outbound *outboundServer
	pid      int
	dir      string
	started  time.Time
	sandbox  SandboxView

	maxInflight int64
	inflight    atomic.Int64
	stopping    atomic.Bool   // set before the host stops it: its exit is no crash
	exited      chan struct{} // closed when the process has ended
	killOnce    sync.Once
}

// SandboxView is what a plugin process runs in, as the admin API shows it.
type SandboxView struct {
	Mode    sandbox.Mode `json:"mode"`
	Applied []string     `json:"applied"`
	Missing []string     `json:"missing,omitempty"`
	UID     int          `json:"uid"`
	GID     int          `json:"gid"`
}

// Verified is a plugin binary that was read once: its bytes are sealed in
// a memory file (sandbox.Seal) and Binary.SHA256 is their hash. That file is
// what Start runs, so a plugin file rewritten in place, or replaced, after
// Verify never runs under this hash.
type Verified struct {
	Binary
	exe *os.File
}

// Verify checks bin's file (see checkExecutable) and seals and hashes its
// bytes. The caller passes the result to Start or closes it.
func Verify(bin Binary) (*Verified, error) {
	f, err := openExecutable(bin.Path)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	exe, sum, err := sandbox.Seal(f, bin.Name)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	bin.SHA256 = sum
	return &Verified{Binary: bin, exe: exe}, nil
}

// Close releases the sealed copy.
func (v *Verified) Close() error { return v.exe.Close() }

// Start starts a verified binary in its sandbox, performs the go-plugin
// handshake and asks the plugin to describe its actions. On any failure the
// process is killed and the error says at which step it failed. Start
// closes v.
func Start(ctx context.Context, v *Verified, opts ProcessOptions) (p *Process, err error) {
	defer v.Close() // the child has its own copy once started
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	bin, exe := v.Binary, v.exe
	if opts.Pin != "" && bin.SHA256 != opts.Pin {
		return nil, fmt.Errorf("verify: the binary's SHA-256 %s does not match its pin %s; it was not run", bin.SHA256, opts.Pin)
	}

	dir, err := os.MkdirTemp(opts.SocketRoot, bin.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("start: private directory: %w", err)
	}
	cred := opts.credential()
	view := SandboxView{UID: os.Geteuid(), GID: os.Getegid()}
	if cred != nil {
		view.UID, view.GID = int(cred.Uid), int(cred.Gid)
		if err := os.Chown(dir, view.UID, view.GID); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("start: private directory: %w", err)
		}
	}
	plan, err := sandbox.NewPlan(opts.Sandbox, opts.Capabilities, dir, opts.SocketRoot)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	view.Mode, view.Applied, view.Missing = plan.Mode, plan.Applied, plan.Missing
	if len(plan.Missing) > 0 {
		logger.Warn("plugin sandbox incomplete (sandbox = best_effort)", "plugin", bin.Name, "missing", strings.Join(plan.Missing, "; "))
	}
	// The plugin gets this environment and nothing of the host's (go-plugin
	// adds only its handshake variables).
	cmd := &command{
		name: bin.Name, path: bin.Path, exe: exe, dir: dir, plan: plan, cred: cred,
		env: []string{
			"TMPDIR=" + dir,
			"HOME=" + dir,
			"SWITCHBOARD_LOG_LEVEL=" + opts.LogLevel,
			"GOMAXPROCS=" + strconv.Itoa(max(opts.GOMAXPROCS, 1)),
		},
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginv1.Handshake(),
		VersionedPlugins: map[int]plugin.PluginSet{pluginv1.ProtocolVersion: {pluginv1.PluginName: &hostPlugin{}}},
		RunnerFunc:       cmd.runner,
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: opts.SocketRoot},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Managed:          true,
		StartTimeout:     opts.StartTimeout,
		SkipHostEnv:      true,
		Logger:           escapedLogger(logger), // go-plugin names it after the runner: the plugin's name
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize), grpc.MaxCallSendMsgSize(maxMessageSize)),
			// Fixed flow-control windows turn off gRPC's bandwidth-delay
			// probing, whose PING round trips cost as much as a call on a
			// local socket.
			grpc.WithInitialWindowSize(windowSize),
			grpc.WithInitialConnWindowSize(windowSize),
		},
	})
	p = &Process{bin: bin, client: client, dir: dir, sandbox: view, maxInflight: int64(opts.MaxConcurrency), exited: make(chan struct{}), started: time.Now()}
	defer func() {
		if err != nil {
			p.stopping.Store(true)
			p.Kill()
		}
	}()

	if _, err := client.Start(); err != nil {
		if l := cmd.launched; l != nil {
			if why := l.launchError(); why != "" {
				err = errors.New(why)
			}
		}
		if errors.Is(err, syscall.EACCES) && cred != nil {
			err = fmt.Errorf("%w (the plugin runs as uid %d: every directory above %s must be searchable by it)", err, cred.Uid, dir)
		}
		return p, fmt.Errorf("start: %w", err)
	}
	p.pid, _ = strconv.Atoi(cmd.launched.ID())
	p.exited = cmd.launched.exited
	proto, err := client.Client()
	if err != nil {
		return p, fmt.Errorf("handshake: %w", err)
	}
	raw, err := proto.Dispense(pluginv1.PluginName)
	if err != nil {
		return p, fmt.Errorf("handshake: %w", err)
	}
	pc := raw.(*pluginClient)
	p.rpc, p.conn = pc.rpc, pc.conn

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
		if _, dup := p.actions[a.GetName()]; dup {
			return p, fmt.Errorf("describe: the plugin declares action %q twice", a.GetName())
		}
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

// Exited returns a channel closed when the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Sandbox returns what the process runs in.
func (p *Process) Sandbox() SandboxView { return p.sandbox }

// InFlight returns the number of requests in the process now.
func (p *Process) InFlight() int64 { return p.inflight.Load() }

// Health asks the plugin's gRPC health service whether it serves, within
// the context's deadline.
func (p *Process) Health(ctx context.Context) error {
	resp, err := healthpb.NewHealthClient(p.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: plugin.GRPCServiceName})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health: %s", resp.GetStatus())
	}
	return nil
}

// Drain waits until no request is in flight, until the timeout, or until
// stop is closed.
func (p *Process) Drain(timeout time.Duration, stop <-chan struct{}) {
	deadline := time.Now().Add(timeout)
	for p.inflight.Load() > 0 && time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return
		case <-stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Kill stops the process, gracefully then by force, within killTimeout, and
// removes its private directory. It is safe to call more than once.
func (p *Process) Kill() {
	p.killOnce.Do(func() {
		p.stopping.Store(true)
		done := make(chan struct{})
		go func() {
			p.client.Kill()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(killTimeout):
			if p.pid > 0 {
				syscall.Kill(p.pid, syscall.SIGKILL)
			}
		}
		os.RemoveAll(p.dir)
	})
}

// Invoke runs one action in the plugin. Failures are *apierr.Error: the
// plugin's own typed error, or what the transport's failure means for the
// caller.
func (p *Process) Invoke(ctx context.Context, req *pluginv1.InvokeRequest) ([]byte, error) {
	n := p.inflight.Add(1)
	defer p.inflight.Add(-1)
	if p.maxInflight > 0 && n > p.maxInflight {
		e := apierr.New(http.StatusServiceUnavailable, "plugin_busy", "plugin %q already runs %d requests, its max_concurrency", p.bin.Name, p.maxInflight)
		e.RetryAfter = time.Second
		return nil, e
	}
	if a := p.actions[req.GetAction()]; len(a.GetConnections()) > 0 {
		inv := &invocation{action: a.GetName(), uses: a.GetConnections(), idempotent: a.GetIdempotent(),
			record: audit.FromContext(ctx), span: trace.SpanContextFromContext(ctx)}
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
	return &pluginClient{rpc: pluginv1.NewActionPluginClient(conn), conn: conn, broker: broker}, nil
}

// pluginClient is what Dispense returns: the plugin's service, its
// connection (for health checks) and the broker on which the host serves it
// Outbound.
type pluginClient struct {
	rpc    pluginv1.ActionPluginClient
	conn   *grpc.ClientConn
	broker *plugin.GRPCBroker
}

var _ plugin.GRPCPlugin = hostPlugin{}
