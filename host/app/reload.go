package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/host/catalog"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/inbound"
	"github.com/switchboard-dev/switchboard/host/registry"
)

// loaded is a configuration in effect.
type loaded struct {
	cfg      *config.Config
	settings config.Settings
	digest   string
	at       time.Time
}

func newLoaded(cfg *config.Config) *loaded {
	s := cfg.Settings()
	return &loaded{cfg: cfg, settings: s, digest: s.Digest(), at: time.Now()}
}

// ConfigView is GET /admin/config: the configuration in effect, secrets
// redacted, and how the last reload went.
type ConfigView struct {
	File       string            `json:"file,omitempty"`
	Digest     string            `json:"digest"`
	LoadedAt   time.Time         `json:"loadedAt"`
	Settings   map[string]string `json:"settings"`
	LastReload *ReloadResult     `json:"lastReload,omitempty"`
}

// ReloadResult is what a reload did, or would do (a dry run), or why it
// changed nothing.
type ReloadResult struct {
	Time    time.Time       `json:"time"`
	OK      bool            `json:"ok"`
	DryRun  bool            `json:"dryRun,omitempty"`
	Error   string          `json:"error,omitempty"`
	Digest  string          `json:"digest,omitempty"` // of the config read
	Changes []config.Change `json:"changes"`
	// Connections are those built anew (their token caches start empty);
	// the others keep theirs.
	Connections []string `json:"connectionsRebuilt,omitempty"`
	// Plugins are the plugins the reload could not start anew: they keep
	// serving the previous settings, or are refused (their pins no longer
	// allow them); GET /admin/plugins says the same.
	Plugins string `json:"pluginProblems,omitempty"`
}

// ErrNoConfigFile refuses a reload of a host started without a config file.
var ErrNoConfigFile = errors.New("the host was started without a config file: there is nothing to reload")

// ConfigView returns the configuration in effect.
func (h *Host) ConfigView() ConfigView {
	cur := h.current.Load()
	v := ConfigView{File: h.opts.ConfigFile, Digest: cur.digest, LoadedAt: cur.at, Settings: cur.settings.Redacted()}
	v.LastReload = h.lastReload.Load()
	return v
}

// Reload reads the config file again, with every env() and file() secret,
// checks all that the start checks, and applies it: inbound credentials,
// TLS certificates and the mTLS CA, connections (an unchanged one keeps
// its tokens), plugins' grants and pins, actions' overrides, and the log
// level. Requests in flight finish with what they started with. A config
// that fails, or that changes what a running host cannot (config.Fixed),
// changes nothing. dryRun reports what would change and applies nothing.
// Reloads run one at a time.
func (h *Host) Reload(ctx context.Context, dryRun bool) (*ReloadResult, error) {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	res := &ReloadResult{Time: time.Now(), DryRun: dryRun, Changes: []config.Change{}}
	err := h.reload(ctx, res)
	res.OK = err == nil
	if err != nil {
		res.Error = err.Error()
	}
	if dryRun {
		return res, err
	}
	h.lastReload.Store(res)
	h.Metrics.ConfigReload(err == nil)
	if err != nil {
		h.Logger.Error("config reload refused; the config in effect stays", "error", err)
		return res, err
	}
	h.Logger.Info("config reloaded", "digest", res.Digest, "changes", len(res.Changes))
	for _, c := range res.Changes {
		h.Logger.Info("config change", "change", c.String())
	}
	if res.Plugins != "" {
		h.Logger.Warn("config reloaded, but some plugins could not be started anew", "problems", res.Plugins)
	}
	return res, nil
}

func (h *Host) reload(ctx context.Context, res *ReloadResult) error {
	if h.opts.ReadConfig == nil {
		return ErrNoConfigFile
	}
	next, err := h.opts.ReadConfig()
	if err != nil {
		return err
	}
	if h.DevGenesys != nil {
		h.DevGenesys.point(next)
	}
	if err := CheckInbound(next, h.opts.Dev); err != nil {
		return err
	}
	cur := h.current.Load()
	nl := newLoaded(next)
	res.Digest = nl.digest
	res.Changes = config.Diff(cur.settings, nl.settings)
	if fixed := config.FixedChanges(cur.settings, nl.settings, res.Changes); len(fixed) > 0 {
		return fmt.Errorf("the config changes %s, which a running host cannot: restart it for those, or leave them as they are (nothing was applied)", strings.Join(fixed, ", "))
	}
	tlsCfg, err := tlsConfig(next)
	if err != nil {
		return err
	}
	set := pluginSettings(next)
	if err := h.Plugins.CheckSettings(set); err != nil {
		return err
	}
	auth := inbound.New(next.Inbound)
	if res.DryRun {
		return nil
	}

	// Everything is checked: apply. New calls use the new connections
	// first, then plugins restart for their changed settings, then callers
	// meet the new credentials.
	if h.opts.Redactor != nil {
		h.opts.Redactor.Add(next.Secrets())
	}
	res.Connections = h.Outbound.Update(next.Connections)
	// The plugins restart whether or not the caller waits for them.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if err := h.Plugins.Reconfigure(pctx, set); err != nil {
		res.Plugins = err.Error()
	}
	if tlsCfg != nil {
		h.tlsCurrent.Store(tlsCfg)
	}
	h.server().SetAuth(auth)
	h.Logger.SetLevel(hclog.LevelFromString(next.LogLevel))
	nl.at = time.Now()
	h.current.Store(nl)
	return nil
}

// pluginSettings are the config's settings of the plugin supervisor that
// a reload may change.
func pluginSettings(cfg *config.Config) catalog.Settings {
	overrides := make(map[string]registry.Overrides, len(cfg.Actions))
	for name, a := range cfg.Actions {
		overrides[name] = registry.Overrides{Timeout: a.Timeout, Mapping: a.Mapping, AuditHMAC: a.AuditHMAC, ErrorsAsData: a.ErrorsAsData,
			Cache: cachePolicy(a.Cache), CacheOff: a.Cache != nil && a.Cache.TTL == 0, CacheSecure: a.Cache != nil && a.Cache.AllowSecure}
	}
	return catalog.Settings{
		Plugins:        cfg.Plugins,
		RequirePinned:  cfg.RequirePinnedPlugins,
		Overrides:      overrides,
		Action:         registry.Options{DefaultTimeout: cfg.DefaultActionTimeout},
		ContractChecks: cfg.ContractChecks,
	}
}

// frontTLS is the listener's TLS configuration: each handshake takes the
// certificates and client CA in effect, so a reload serves new ones to new
// connections and leaves open connections alone.
func (h *Host) frontTLS() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return h.tlsCurrent.Load(), nil
		},
	}
}
