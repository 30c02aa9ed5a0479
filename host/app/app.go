// Package app assembles the host from its configuration: plugin catalog,
// action registry, pipeline, HTTP server, outbound connections, metrics,
// audit log and tracing. The CLI and the tests build hosts with it; it holds
// no logic of its own beyond the wiring.
package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-dev/switchboard/host/audit"
	"github.com/switchboard-dev/switchboard/host/cache"
	"github.com/switchboard-dev/switchboard/host/catalog"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/inbound"
	"github.com/switchboard-dev/switchboard/host/metrics"
	"github.com/switchboard-dev/switchboard/host/outbound"
	"github.com/switchboard-dev/switchboard/host/pipeline"
	"github.com/switchboard-dev/switchboard/host/registry"
	"github.com/switchboard-dev/switchboard/host/sandbox"
	"github.com/switchboard-dev/switchboard/host/server"
	"github.com/switchboard-dev/switchboard/host/stats"
	"github.com/switchboard-dev/switchboard/host/telemetry"
)

// Host is one assembled host.
type Host struct {
	// Config is what the host was built with; a reload changes what is in
	// effect (ConfigView), never the settings read from here (config.Fixed).
	Config   *config.Config
	Logger   hclog.Logger
	Registry *registry.Registry
	Pipeline *pipeline.Pipeline
	Plugins  *catalog.Supervisor
	Outbound *outbound.Pool
	Metrics  *metrics.Metrics
	Audit    *audit.Log // nil without an audit block
	Tracing  *telemetry.Tracing
	// DevGenesys is the embedded Genesys Cloud simulator of development
	// mode; nil when the config's genesys connection is used.
	DevGenesys *DevGenesys

	opts     Options
	gatherer prometheus.Gatherer
	promReg  *prometheus.Registry
	cache    *cache.Cache     // nil: no action is cached
	stats    *stats.Stats     // what the operator console shows
	redis    *redis.Client    // the cache store's and the shared rate limits', when Redis
	shared   *outbound.Shared // rate limits across replicas, with Redis
	tls      *tls.Config      // the listener's, nil for plain HTTP; tlsCurrent is what it serves
	srv      *server.Server
	srvOnce  sync.Once

	// A reload replaces these.
	current    atomic.Pointer[loaded]
	tlsCurrent atomic.Pointer[tls.Config]
	lastReload atomic.Pointer[ReloadResult]
	reloadMu   sync.Mutex

	// A Load's plugins run until Close.
	stopPlugins context.CancelFunc
	draining    atomic.Bool // Run is stopping: not ready any more
	pluginsDone chan error
}

// NewLogger returns the host's logger as the config asks for it, on stderr,
// with every secret the config read from the environment or files
// redacted; give the Redactor to the host (Options.Redactor), so that the
// secrets of a reloaded config are redacted too.
func NewLogger(cfg *config.Config) (hclog.Logger, *Redactor) {
	r := RedactingWriter(os.Stderr, cfg.Secrets())
	return hclog.New(&hclog.LoggerOptions{
		Name:       "switchboard",
		Level:      hclog.LevelFromString(cfg.LogLevel),
		JSONFormat: cfg.LogFormat == "json",
		Output:     r,
	}), r
}

// Redactor writes to another writer with each of its secrets (those of at
// least config.MinLoggedSecret characters) replaced by config.Redacted.
// hclog writes a log line in one Write, so a secret never spans two.
type Redactor struct {
	w       io.Writer
	secrets atomic.Pointer[[][]byte]
}

// RedactingWriter returns a Redactor of secrets writing to w.
func RedactingWriter(w io.Writer, secrets []string) *Redactor {
	r := &Redactor{w: w}
	r.Add(secrets)
	return r
}

// Add redacts secrets too, from now on (a reloaded config's; the previous
// ones stay, since calls in flight may still log them).
func (r *Redactor) Add(secrets []string) {
	var all [][]byte
	if old := r.secrets.Load(); old != nil {
		all = slices.Clone(*old)
	}
	for _, s := range secrets {
		if len(s) >= config.MinLoggedSecret && !slices.ContainsFunc(all, func(b []byte) bool { return string(b) == s }) {
			all = append(all, []byte(s))
		}
	}
	r.secrets.Store(&all)
}

func (r *Redactor) Write(p []byte) (int, error) {
	out := p
	for _, s := range *r.secrets.Load() {
		if bytes.Contains(out, s) {
			out = bytes.ReplaceAll(out, s, []byte(config.Redacted))
		}
	}
	if _, err := r.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Options are what a host is built with beyond its config.
type Options struct {
	// Supervision is how plugins are watched; serve turns Watch on, the
	// one-shot commands leave it off.
	Supervision catalog.Supervision
	// Prometheus receives the host's metrics; nil means a registry of its own.
	Prometheus *prometheus.Registry
	// Tracing replaces the config's tracing (tests record spans in memory).
	Tracing *telemetry.Tracing
	// Dev is development mode (--dev): a plugin block that names no
	// connections grants what the plugin declares, and a genesys connection
	// without credentials calls an embedded Genesys Cloud simulator.
	Dev bool
	// SelfLauncher reports that the running executable is switchboard,
	// which acts as the sandbox launcher when no switchboard-sandbox is
	// installed (see Launcher).
	SelfLauncher bool
	// Capabilities replaces what sandbox.Probe finds (tests).
	Capabilities *sandbox.Capabilities
	// ReadConfig reads the config again for a reload, as the host's config
	// was read (the same file, the same flags over it); nil: the host
	// cannot reload. ConfigFile is that file, for GET /admin/config.
	ReadConfig func() (*config.Config, error)
	ConfigFile string
	// WatchConfig, when above 0, is how often Run looks at the config's
	// files (config.Files) and reloads when one of them changed: Kubernetes
	// updates mounted ConfigMaps and Secrets in place, and signals nobody.
	WatchConfig time.Duration
	// Redactor is the logger's (NewLogger): a reload adds its secrets.
	Redactor *Redactor
	// PluginProtocols are the plugin protocol versions offered to plugins;
	// nil: all the host serves. make bench compares them.
	PluginProtocols []int
}

// Launcher is the sandbox launcher a host uses: the config's
// sandbox_launcher, else switchboard-sandbox beside the running executable,
// else, when self is true, the running executable itself (switchboard run
// under the launcher's name; it starts slower, since it initialises the
// whole host first). "" when there is none.
func Launcher(cfg *config.Config, self bool) string {
	if cfg.SandboxLauncher != "" {
		return cfg.SandboxLauncher
	}
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if sibling := filepath.Join(filepath.Dir(exe), sandbox.LauncherName); fileExists(sibling) {
		return sibling
	}
	if self {
		return exe
	}
	return ""
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// New assembles a host; Load starts its plugins.
func New(cfg *config.Config, logger hclog.Logger) (*Host, error) {
	return NewWithOptions(cfg, logger, Options{})
}

// NewWithOptions is New with options.
func NewWithOptions(cfg *config.Config, logger hclog.Logger, opts Options) (h *Host, err error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	h = &Host{Config: cfg, Logger: logger, Registry: &registry.Registry{}, Tracing: opts.Tracing, opts: opts}
	defer func() {
		if err != nil {
			h.Close()
		}
	}()
	// The host holds every secret: no process of its own user may read its
	// memory, environment or descriptors.
	if err := sandbox.GuardHost(); err != nil {
		return h, err
	}
	caps := sandbox.Probe(Launcher(cfg, opts.SelfLauncher))
	if opts.Capabilities != nil {
		caps = *opts.Capabilities
	}
	if opts.Dev {
		if h.DevGenesys, err = NewDevGenesys(cfg); err != nil {
			return h, err
		}
		if h.DevGenesys != nil {
			logger.Warn("development mode: connection genesys calls the embedded Genesys Cloud simulator", "url", h.DevGenesys.URL)
		}
	}
	promReg := opts.Prometheus
	if promReg == nil {
		promReg = prometheus.NewRegistry()
	}
	h.gatherer, h.promReg = promReg, promReg
	if tlsCfg, err := tlsConfig(cfg); err != nil {
		return h, err
	} else if tlsCfg != nil {
		h.tlsCurrent.Store(tlsCfg)
		h.tls = h.frontTLS()
	}
	if m := cfg.Inbound.MTLS; m != nil && !m.Restricted() {
		logger.Warn("inbound mtls admits every certificate its CA signs, and Genesys Cloud's CAs sign certificates for others too: name the caller's in allowed_subjects, allowed_sans or allowed_fingerprints")
	}
	if h.Metrics, err = metrics.New(promReg); err != nil {
		return h, fmt.Errorf("metrics: %w", err)
	}
	if h.Tracing == nil {
		if h.Tracing, err = telemetry.New(cfg.Tracing, Version()); err != nil {
			return h, err
		}
	}
	var hasher *audit.Hasher
	if a := cfg.Audit; a != nil {
		if h.Audit, err = audit.Open(a.Path); err != nil {
			return h, err
		}
		if a.HMACKey != "" {
			if hasher, err = audit.NewHasher(a.HMACKey); err != nil {
				return h, err
			}
		}
	}

	h.stats = stats.New(nil)
	oopts := outbound.Options{Observer: consoleObserver{Observer: h.Metrics.Outbound(), stats: h.stats}, UserAgent: "switchboard/" + Version(), Tracer: h.Tracing.Tracer}
	if c := cfg.Cache; c != nil && c.Store == config.CacheRedis {
		if h.redis, err = redisClient(c.Redis); err != nil {
			return h, err
		}
		redis.SetLogger(redisLog{logger.Named("redis")})
		h.shared = outbound.NewShared(h.redis, logger.Named("ratelimit"))
		oopts.Shared = h.shared
	}
	h.Outbound = outbound.NewPool(cfg.Connections, oopts)
	set := pluginSettings(cfg)
	h.Plugins, err = catalog.NewSupervisor(catalog.Options{
		Dir:      cfg.PluginDir,
		Registry: h.Registry,
		Logger:   logger.Named("plugins"),
		Process: catalog.ProcessOptions{
			StartTimeout: cfg.PluginStartTimeout,
			LogLevel:     cfg.LogLevel,
			Outbound:     h.Outbound,
			Capabilities: caps,
			Protocols:    opts.PluginProtocols,
		},
		Sandbox:        cfg.Sandbox,
		PluginUID:      cfg.PluginUID,
		PluginGID:      cfg.PluginGID,
		GrantDeclared:  opts.Dev,
		Plugins:        set.Plugins,
		RequirePinned:  set.RequirePinned,
		Overrides:      set.Overrides,
		Action:         set.Action,
		ContractChecks: set.ContractChecks,
		Supervision:    opts.Supervision,
	})
	if err != nil {
		return h, err
	}
	states := metrics.NewPluginStates(h.pluginStates, catalog.StateStarting, catalog.StateServing, catalog.StateRestarting, catalog.StateFailed, catalog.StateRefused)
	if err := promReg.Register(states); err != nil {
		return h, fmt.Errorf("metrics: %w", err)
	}
	if err := promReg.Register(metrics.NewHost(func() bool { ok, _ := h.readiness(); return ok }, h.budgets)); err != nil {
		return h, fmt.Errorf("metrics: %w", err)
	}
	if h.cache, err = h.newCache(cfg); err != nil {
		return h, err
	}
	popts := pipeline.Options{Observer: h.Metrics, Tracer: h.Tracing.Tracer, Cache: h.cache}
	if hasher != nil {
		popts.Digester = hasher
	}
	h.Pipeline = pipeline.New(h.Registry, popts)
	h.current.Store(newLoaded(cfg))
	return h, nil
}

// budgets are the actions' time budgets, for the metrics.
func (h *Host) budgets() map[string]time.Duration {
	actions := h.Registry.Current().Actions()
	out := make(map[string]time.Duration, len(actions))
	for _, a := range actions {
		out[a.Name] = a.Timeout
	}
	return out
}

func (h *Host) pluginStates() []metrics.PluginState {
	views := h.Plugins.Plugins()
	out := make([]metrics.PluginState, len(views))
	for i, v := range views {
		out[i] = metrics.PluginState{Name: v.Name, State: v.State, Restarts: v.Restarts}
	}
	return out
}

// Load starts every plugin and registers its actions, for a host that is not
// Run (the one-shot commands, tests): they run until Close. A plugin that
// cannot be used is logged and left out; the others are served. It returns
// the problems, and an error only when the plugins directory cannot be read.
func (h *Host) Load(ctx context.Context) ([]catalog.Problem, error) {
	runCtx, cancel := context.WithCancel(context.Background())
	h.stopPlugins, h.pluginsDone = cancel, make(chan error, 1)
	go func() { h.pluginsDone <- h.Plugins.Run(runCtx) }()
	if h.DevGenesys != nil {
		go h.DevGenesys.Run(runCtx)
	}
	if h.shared != nil {
		go h.shared.Run(runCtx)
	}
	select {
	case <-h.Plugins.Loaded():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := h.Plugins.LoadError(); err != nil {
		return nil, err
	}
	h.logActions()
	return h.Plugins.Problems(), nil
}

// logActions says what the host serves, and which actions use a connection
// the config does not define.
func (h *Host) logActions() {
	for _, a := range h.Registry.Current().Actions() {
		h.Logger.Info("serving action", "action", a.Name, "plugin", a.Plugin.Name, "version", a.Version, "timeout", a.Timeout)
		for _, c := range a.Connections {
			if _, ok := h.Outbound.Get(c); !ok {
				h.Logger.Warn("the action uses a connection the config does not define; its calls will fail", "action", a.Name, "connection", c)
			}
		}
	}
}

// readiness is /readyz: not ready while stopping, else the plugins'.
func (h *Host) readiness() (bool, string) {
	if h.draining.Load() {
		return false, "shutting down"
	}
	return h.Plugins.Readiness()
}

// Handler returns the HTTP API.
func (h *Host) Handler() http.Handler { return h.server() }

// server is the host's one HTTP API server (a reload swaps its inbound
// credentials).
func (h *Host) server() *server.Server {
	h.srvOnce.Do(func() { h.srv = server.New(h.serverOptions()) })
	return h.srv
}

func (h *Host) serverOptions() server.Options {
	o := server.Options{
		Pipeline:        h.Pipeline,
		Auth:            inbound.New(h.Config.Inbound),
		MaxBodyBytes:    h.Config.MaxBodyBytes,
		Logger:          h.Logger.Named("http"),
		Readiness:       h.readiness,
		Stopping:        h.draining.Load,
		Admin:           adminAPI{h},
		SeparateAdmin:   h.Config.AdminListen != "",
		Observer:        h.Metrics,
		MetricsHandler:  h.MetricsHandler(),
		SeparateMetrics: h.Config.MetricsListen != "",
		Audit:           h.Audit,
		Tracer:          h.Tracing.Tracer,
		Stats:           h.stats,
		Console:         consoleAPI{h},
	}
	if h.Config.Audit != nil {
		o.FailClosed = h.Config.Audit.FailClosed
	}
	return o
}

// MetricsHandler serves the metrics in the Prometheus text format.
func (h *Host) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(h.gatherer, promhttp.HandlerOpts{ErrorLog: h.Logger.Named("metrics").StandardLogger(nil)})
}

// HTTPServers returns the HTTP server for the API and, when admin_listen or
// metrics_listen are set, the servers for those (else nil), with the
// configured timeouts. The API's write timeout leaves room for the longest
// action budget.
func (h *Host) HTTPServers() (api, admin, metricsSrv *http.Server) {
	srv := h.server()
	api = h.httpServer(h.Config.Listen, srv)
	api.TLSConfig = h.tls // the admin and metrics addresses stay private plain HTTP
	if h.Config.AdminListen != "" {
		admin = h.httpServer(h.Config.AdminListen, srv.AdminHandler())
	}
	if h.Config.MetricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", h.MetricsHandler())
		metricsSrv = h.httpServer(h.Config.MetricsListen, mux)
	}
	return api, admin, metricsSrv
}

func (h *Host) httpServer(addr string, handler http.Handler) *http.Server {
	limits := server.Limits{
		ReadHeader: h.Config.ReadHeaderTimeout,
		Read:       h.Config.ReadTimeout,
		Write:      h.Config.ReadTimeout + config.MaxActionTimeout,
		Idle:       h.Config.IdleTimeout,
	}
	return server.HTTPServer(addr, handler, limits, h.Logger.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}))
}

// Close stops what Load started (every plugin process, the simulator),
// flushes the traces and closes the audit log. It is safe to call more than
// once.
func (h *Host) Close() {
	if h.stopPlugins != nil {
		h.stopPlugins()
		h.stopPlugins = nil
		if err := <-h.pluginsDone; err != nil {
			h.Logger.Error("stopping the plugins", "error", err)
		}
	}
	if h.Tracing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Tracing.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
			h.Logger.Warn("flushing traces", "error", err)
		}
	}
	if h.Audit != nil {
		h.Audit.Close()
		h.Audit = nil
	}
	if h.redis != nil {
		h.redis.Close()
		h.redis = nil
	}
}

// adminAPI is the host's admin API, as the server sees it.
type adminAPI struct{ h *Host }

func (a adminAPI) Plugins() any { return a.h.Plugins.Plugins() }

func (a adminAPI) Reload(ctx context.Context, name string) (any, error) {
	v, err := a.h.Plugins.Reload(ctx, name)
	if errors.Is(err, catalog.ErrNoPlugin) {
		return nil, server.ErrUnknownPlugin
	}
	return v, err
}

func (a adminAPI) Config() any { return a.h.ConfigView() }

func (a adminAPI) PurgeCache(ctx context.Context, action string, input json.RawMessage, org string) (int, error) {
	return a.h.PurgeCache(ctx, action, input, org)
}

func (a adminAPI) ReloadConfig(ctx context.Context, dryRun bool) (any, error) {
	return a.h.Reload(ctx, dryRun)
}

// The seams: the metrics observe the pipeline, the server and the
// connections; the audit hasher digests for the pipeline.
var (
	_ pipeline.Observer = (*metrics.Metrics)(nil)
	_ server.Observer   = (*metrics.Metrics)(nil)
	_ outbound.Observer = metrics.OutboundObserver{}
	_ pipeline.Digester = (*audit.Hasher)(nil)
	_ server.Admin      = adminAPI{}
)

// tlsConfig is the HTTPS configuration of the tls block, with client
// certificates verified against the mtls CA: required when mTLS is the only
// inbound method, else verified when given.
func tlsConfig(cfg *config.Config) (*tls.Config, error) {
	if cfg.TLS == nil {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if m := cfg.Inbound.MTLS; m != nil {
		pem, err := os.ReadFile(m.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("inbound mtls: %w", err)
		}
		c.ClientCAs = x509.NewCertPool()
		if !c.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("inbound mtls: %s holds no PEM certificate", m.ClientCAFile)
		}
		c.ClientAuth = tls.VerifyClientCertIfGiven
		if cfg.Inbound.Basic == nil && cfg.Inbound.APIKey == nil && cfg.Inbound.OAuth == nil {
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return c, nil
}

// TLSConfig returns the HTTPS configuration, nil for plain HTTP.
func (h *Host) TLSConfig() *tls.Config { return h.tls }

// CheckConfig checks what the start checks of a config without building a
// host: inbound authentication (unless dev), the TLS certificate, key and
// client CA, the audit log's HMAC key.
func CheckConfig(cfg *config.Config, dev bool) error {
	var errs []error
	errs = append(errs, CheckInbound(cfg, dev))
	if _, err := tlsConfig(cfg); err != nil {
		errs = append(errs, err)
	}
	if a := cfg.Audit; a != nil && a.HMACKey != "" {
		if _, err := audit.NewHasher(a.HMACKey); err != nil {
			errs = append(errs, fmt.Errorf("audit hmac_key: %w", err))
		}
	}
	return errors.Join(errs...)
}

// CheckInbound refuses to serve without inbound authentication unless the
// operator asked for development mode.
func CheckInbound(cfg *config.Config, dev bool) error {
	if !cfg.Inbound.Enabled() && !dev {
		return fmt.Errorf("refusing to serve without inbound authentication: configure inbound { basic { ... } } or inbound { api_key { ... } } in the config file, or pass --dev on a development machine")
	}
	return nil
}
