package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
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
	"github.com/switchboard-dev/switchboard/host/registry"
	"github.com/switchboard-dev/switchboard/host/sandbox"
	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

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
	// Pins, when not empty, are the hex SHA-256 the binary may have. They
	// are checked on the very bytes that are then executed.
	Pins []string
	// LogLevel is passed to the plugin (SWITCHBOARD_LOG_LEVEL).
	LogLevel string
	// GOMAXPROCS of the plugin process; 0 means 1.
	GOMAXPROCS int
	// Outbound holds the connections the plugin's actions may call.
	Outbound *outbound.Pool
	// Sandbox is the plugin's sandbox; Capabilities what this machine can
	// apply (sandbox.Probe).
	Sandbox      sandbox.Policy
	Capabilities sandbox.Capabilities
	// UID and GID are the user the plugin runs as when the host runs as
	// root; a plugin never runs as root. Zero means 65534 (nobody).
	UID, GID int
	// Protocols are the plugin protocol versions offered to the plugin;
	// nil: every one the host serves (pluginv1.ProtocolVersions).
	// Benchmarks compare them.
	Protocols []int
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
	session  *session // protocol version 2; nil: Invoke per call
	protocol int
	version  string
	actions  []registry.Description
	uses     map[string][]string // connections by action
	outbound *outboundServer
	pid      int
	dir      string
	sandbox  SandboxView

	inflight atomic.Int64
	stopping atomic.Bool   // set before the host stops it: its exit is no crash
	exited   chan struct{} // closed when the process has ended
	// lost is closed when the process can serve no more: it ended, or its
	// connection broke (which the host sees before the exit itself).
	lost     chan struct{}
	lostOnce sync.Once
	killOnce sync.Once
	killErr  error
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
// process is stopped and the error says at which step it failed (and, if
// stopping it failed too, that as well). v stays open: one verification
// may start several processes.
func Start(ctx context.Context, v *Verified, opts ProcessOptions) (p *Process, err error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	bin := v.Binary
	if len(opts.Pins) > 0 && !slices.Contains(opts.Pins, bin.SHA256) {
		return nil, fmt.Errorf("verify: the binary's SHA-256 %s does not match its pin %s; it was not run", bin.SHA256, strings.Join(opts.Pins, " or "))
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
		name: bin.Name, path: bin.Path, exe: v.exe, dir: dir, plan: plan, cred: cred,
		env: []string{
			"TMPDIR=" + dir,
			"HOME=" + dir,
			"SWITCHBOARD_LOG_LEVEL=" + opts.LogLevel,
			"GOMAXPROCS=" + strconv.Itoa(max(opts.GOMAXPROCS, 1)),
		},
	}
	protocols := opts.Protocols
	if protocols == nil {
		protocols = pluginv1.ProtocolVersions
	}
	versions := make(map[int]plugin.PluginSet, len(protocols))
	for _, v := range protocols {
		versions[v] = plugin.PluginSet{pluginv1.PluginName: &hostPlugin{}}
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginv1.Handshake(),
		VersionedPlugins: versions,
		RunnerFunc:       cmd.runner,
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: opts.SocketRoot},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Managed:          true,
		StartTimeout:     opts.StartTimeout,
		SkipHostEnv:      true,
		Logger:           escapedLogger(logger), // go-plugin names it after the runner: the plugin's name
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(pluginv1.MaxMessageSize), grpc.MaxCallSendMsgSize(pluginv1.MaxMessageSize)),
			grpc.WithInitialWindowSize(pluginv1.WindowSize),
			grpc.WithInitialConnWindowSize(pluginv1.WindowSize),
		},
	})
	p = &Process{bin: bin, client: client, dir: dir, sandbox: view, exited: make(chan struct{}), lost: make(chan struct{})}
	defer func() {
		if err != nil {
			if kerr := p.Kill(); kerr != nil {
				err = fmt.Errorf("%w; additionally, cleanup: %v", err, kerr)
			}
			p = nil
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
	go func(p *Process) { // p itself is nil once a failed start is cleaned up
		select {
		case <-p.exited:
			p.lose()
		case <-p.lost:
		}
	}(p)
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
	resp, err := p.rpc.Describe(ctx, &pluginv1.DescribeRequest{OutboundBrokerId: brokerID})
	if err != nil {
		return p, fmt.Errorf("describe: %w", err)
	}
	if p.version, p.actions, err = fromDescribeResponse(resp); err != nil {
		return p, fmt.Errorf("describe: %w", err)
	}
	p.uses = make(map[string][]string, len(p.actions))
	for _, a := range p.actions {
		p.uses[a.Name] = a.Connections
	}
	if p.protocol = client.NegotiatedVersion(); p.protocol == pluginv1.ProtocolSession {
		if p.session, err = openSession(p.rpc); err != nil {
			return p, fmt.Errorf("session: %w", err)
		}
	}
	return p, nil
}

// Binary returns the binary the process runs.
func (p *Process) Binary() Binary { return p.bin }

// PID returns the process id.
func (p *Process) PID() int { return p.pid }

// Actions returns the actions the plugin described.
func (p *Process) Actions() []registry.Description { return p.actions }

// Protocol returns the plugin protocol version the process speaks.
func (p *Process) Protocol() int { return p.protocol }

// Version returns the version the plugin reported.
func (p *Process) Version() string { return p.version }

// Exited returns a channel closed when the process can serve no more: it
// has ended, or its connection broke. A request arriving after a crash is
// then never sent to it, though the exit itself is still on its way.
func (p *Process) Exited() <-chan struct{} { return p.lost }

func (p *Process) lose() { p.lostOnce.Do(func() { close(p.lost) }) }

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

// Kill stops the process, gracefully then by force within killTimeout, and
// removes its private directory. It is safe to call more than once; every
// call returns the first one's error.
func (p *Process) Kill() error {
	p.killOnce.Do(func() {
		p.stopping.Store(true)
		if p.session != nil {
			p.session.close()
		}
		done := make(chan struct{})
		go func() {
			p.client.Kill()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(killTimeout):
			if p.pid > 0 {
				if err := syscall.Kill(p.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
					p.killErr = fmt.Errorf("plugin %s (pid %d) did not stop within %v, and SIGKILL failed: %w", p.bin.Name, p.pid, killTimeout, err)
				}
			}
		}
		if err := os.RemoveAll(p.dir); err != nil {
			p.killErr = errors.Join(p.killErr, fmt.Errorf("removing the private directory of plugin %s: %w", p.bin.Name, err))
		}
	})
	return p.killErr
}

// Invoke runs one action in the plugin. Failures are *apierr.Error: the
// plugin's own typed error, or what the transport's failure means for the
// caller.
func (p *Process) Invoke(ctx context.Context, inv *registry.Invocation) ([]byte, error) {
	p.inflight.Add(1)
	defer p.inflight.Add(-1)
	if uses := p.uses[inv.Action]; len(uses) > 0 {
		call := &invocation{action: inv.Action, uses: uses, record: audit.FromContext(ctx), span: trace.SpanContextFromContext(ctx)}
		call.deadline, call.hasDL = ctx.Deadline()
		for _, a := range p.actions {
			if a.Name == inv.Action {
				call.idempotent = a.Idempotent
			}
		}
		defer p.outbound.register(inv.ID, call)()
	}
	var out []byte
	var err error
	if p.session != nil {
		out, err = p.session.invoke(ctx, toInvokeRequest(inv))
	} else {
		var resp *pluginv1.InvokeResponse
		resp, err = p.rpc.Invoke(ctx, toInvokeRequest(inv))
		out = resp.GetOutput()
	}
	if err != nil {
		return nil, p.invokeError(ctx, inv.Action, err)
	}
	return out, nil
}

func (p *Process) invokeError(ctx context.Context, action string, err error) error {
	if e, ok := fromError(err); ok {
		return e
	}
	st := status.Convert(err)
	switch {
	// What a spent budget or a departed caller answers is the pipeline's
	// to decide; the plugin's side may see its deadline first.
	case ctx.Err() != nil:
		return fmt.Errorf("action %q: %w (%v)", action, ctx.Err(), err)
	case st.Code() == codes.DeadlineExceeded:
		return fmt.Errorf("action %q: %w (%v)", action, context.DeadlineExceeded, err)
	// With the caller still waiting, a cancelled call is a connection that
	// closed under it: the process is gone, or going.
	case st.Code() == codes.Unavailable || st.Code() == codes.Canceled || p.client.Exited():
		p.lose()
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

var (
	_ plugin.GRPCPlugin = hostPlugin{}
	_ process           = (*Process)(nil)
)
