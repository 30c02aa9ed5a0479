// Package app assembles the host from its configuration: plugin catalog,
// action registry, pipeline and HTTP server. The CLI and the tests build
// hosts with it; it holds no logic of its own beyond the wiring.
package app

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/host/catalog"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/inbound"
	"github.com/switchboard-dev/switchboard/host/outbound"
	"github.com/switchboard-dev/switchboard/host/pipeline"
	"github.com/switchboard-dev/switchboard/host/registry"
	"github.com/switchboard-dev/switchboard/host/server"
)

// Host is one assembled host.
type Host struct {
	Config   *config.Config
	Logger   hclog.Logger
	Registry *registry.Registry
	Pipeline *pipeline.Pipeline
	Catalog  *catalog.Catalog
	Outbound *outbound.Pool
}

// NewLogger returns the host's logger as the config asks for it, on stderr.
func NewLogger(cfg *config.Config) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "switchboard",
		Level:      hclog.LevelFromString(cfg.LogLevel),
		JSONFormat: cfg.LogFormat == "json",
		Output:     os.Stderr,
	})
}

// Options are what a host is built with beyond its config.
type Options struct {
	// Observer receives outbound metrics; nil for none.
	Observer outbound.Observer
	// Supervision is how plugins are watched; serve turns Watch on, the
	// one-shot commands leave it off.
	Supervision catalog.Supervision
}

// New assembles a host; Load starts its plugins.
func New(cfg *config.Config, logger hclog.Logger) (*Host, error) {
	return NewWithOptions(cfg, logger, Options{})
}

// NewWithOptions is New with options.
func NewWithOptions(cfg *config.Config, logger hclog.Logger, opts Options) (*Host, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	pool := outbound.NewPool(cfg.Connections, outbound.Options{Observer: opts.Observer, UserAgent: "switchboard/" + Version()})
	overrides := make(map[string]registry.Overrides, len(cfg.Actions))
	for name, a := range cfg.Actions {
		overrides[name] = registry.Overrides{Timeout: a.Timeout, Mapping: a.Mapping}
	}
	reg := &registry.Registry{}
	cat, err := catalog.New(catalog.Options{
		Dir:      cfg.PluginDir,
		Registry: reg,
		Logger:   logger.Named("plugins"),
		Process: catalog.ProcessOptions{
			StartTimeout: cfg.PluginStartTimeout,
			LogLevel:     cfg.LogLevel,
			Outbound:     pool,
		},
		Plugins:       cfg.Plugins,
		RequirePinned: cfg.RequirePinnedPlugins,
		Overrides:     overrides,
		Action:        registry.Options{DefaultTimeout: cfg.DefaultActionTimeout},
		Supervision:   opts.Supervision,
	})
	if err != nil {
		return nil, err
	}
	return &Host{
		Config:   cfg,
		Logger:   logger,
		Registry: reg,
		Pipeline: pipeline.New(reg),
		Catalog:  cat,
		Outbound: pool,
	}, nil
}

// Load starts every plugin and registers its actions. A plugin that cannot
// be used is logged and left out; the others are served. It returns the
// problems, and an error only when the plugins directory cannot be read.
func (h *Host) Load(ctx context.Context) ([]catalog.Problem, error) {
	problems, err := h.Catalog.Load(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range h.Registry.Current().Actions() {
		h.Logger.Info("serving action", "action", a.Name, "plugin", a.Plugin.Name, "version", a.Version, "timeout", a.Timeout)
		for _, c := range a.Connections {
			if _, ok := h.Outbound.Get(c); !ok {
				h.Logger.Warn("the action uses a connection the config does not define; its calls will fail", "action", a.Name, "connection", c)
			}
		}
	}
	return problems, nil
}

// Handler returns the HTTP API.
func (h *Host) Handler() http.Handler {
	return server.New(h.serverOptions())
}

func (h *Host) serverOptions() server.Options {
	return server.Options{
		Pipeline:      h.Pipeline,
		Auth:          inbound.New(h.Config.Inbound),
		MaxBodyBytes:  h.Config.MaxBodyBytes,
		Logger:        h.Logger.Named("http"),
		Ready:         h.Catalog.Ready,
		Admin:         h.Catalog,
		SeparateAdmin: h.Config.AdminListen != "",
	}
}

// HTTPServers returns the HTTP server for the API and, when admin_listen is
// set, the one for the admin API (else nil), with the configured timeouts.
// The API's write timeout leaves room for the longest action budget.
func (h *Host) HTTPServers() (api, admin *http.Server) {
	srv := server.New(h.serverOptions())
	api = h.httpServer(h.Config.Listen, srv)
	if h.Config.AdminListen != "" {
		admin = h.httpServer(h.Config.AdminListen, srv.AdminHandler())
	}
	return api, admin
}

func (h *Host) httpServer(addr string, handler http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           handler,
		ReadHeaderTimeout: h.Config.ReadHeaderTimeout,
		ReadTimeout:       h.Config.ReadTimeout,
		WriteTimeout:      h.Config.ReadTimeout + config.MaxActionTimeout,
		IdleTimeout:       h.Config.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          h.Logger.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
}

// Close stops every plugin process.
func (h *Host) Close() {
	h.Catalog.Close()
}

// CheckInbound refuses to serve without inbound authentication unless the
// operator asked for development mode.
func CheckInbound(cfg *config.Config, dev bool) error {
	if !cfg.Inbound.Enabled() && !dev {
		return fmt.Errorf("refusing to serve without inbound authentication: configure inbound { basic { ... } } or inbound { api_key { ... } } in the config file, or pass --dev on a development machine")
	}
	return nil
}
