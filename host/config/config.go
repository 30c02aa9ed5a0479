// Package config reads the host's HCL configuration file into a Config with
// every value checked and defaults filled in. Unknown keys, bad values and
// missing environment variables are errors that name the file and line.
package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/switchboard-dev/switchboard/host/mapping"
	"github.com/switchboard-dev/switchboard/host/sandbox"
)

// Defaults. Each is documented in the README's configuration reference.
const (
	DefaultListen             = ":8080"
	DefaultPluginDir          = "./bin/plugins"
	DefaultMaxBodyBytes       = 1 << 20
	MaxMaxBodyBytes           = 16 << 20 // below the plugin protocol's message bound
	DefaultActionTimeout      = 10 * time.Second
	MaxActionTimeout          = 60 * time.Second // Genesys Cloud's limit
	DefaultPluginStartTimeout = 10 * time.Second
	DefaultReadHeaderTimeout  = 10 * time.Second
	DefaultReadTimeout        = 30 * time.Second
	DefaultIdleTimeout        = 120 * time.Second
	DefaultShutdownTimeout    = 30 * time.Second
	DefaultAPIKeyHeader       = "X-Switchboard-Key"
	minSecretLength           = 16
)

// Config is the host's configuration, checked and with defaults filled in.
type Config struct {
	Listen               string
	AdminListen          string // "": the admin API is on Listen, behind inbound auth
	MetricsListen        string // "": GET /metrics is on Listen, behind inbound auth
	PluginDir            string
	RequirePinnedPlugins bool
	MaxBodyBytes         int64
	DefaultActionTimeout time.Duration
	PluginStartTimeout   time.Duration
	ReadHeaderTimeout    time.Duration
	ReadTimeout          time.Duration
	IdleTimeout          time.Duration
	ShutdownTimeout      time.Duration
	LogLevel             string // trace, debug, info, warn, error
	LogFormat            string // text or json

	// Sandbox is the plugins' sandbox mode; a plugin block may override it.
	Sandbox sandbox.Mode
	// SandboxLauncher is the launcher executable; "": switchboard-sandbox
	// beside the switchboard executable, else switchboard itself.
	SandboxLauncher string
	// PluginUID and PluginGID are the user plugins run as when the host runs
	// as root (never root itself); a plugin block may override them.
	PluginUID, PluginGID int

	Inbound        Inbound
	TLS            *TLS                   // nil: plain HTTP (TLS terminated in front of the host)
	ContractChecks string                 // ContractEnforce or ContractWarn
	Audit          *Audit                 // nil: no audit log
	Tracing        *Tracing               // nil: tracing off
	Plugins        map[string]Plugin      // by file name
	Actions        map[string]Action      // by action name
	Connections    map[string]*Connection // by connection name

	secrets []string // every value env() returned
}

// Inbound is how callers (Genesys Cloud) authenticate. Any enabled method
// admits a request.
type Inbound struct {
	Basic  *Basic
	APIKey *APIKey
	OAuth  *InboundOAuth
	MTLS   *MTLS
}

// Enabled reports whether any inbound authentication is configured.
func (in Inbound) Enabled() bool {
	return in.Basic != nil || in.APIKey != nil || in.OAuth != nil || in.MTLS != nil
}

// InboundOAuth is the host's own token endpoint (POST /oauth/token, client
// credentials) for Genesys Cloud's "User Defined (OAuth)" credential type:
// Genesys's customAuth action fetches a bearer token there.
type InboundOAuth struct {
	ClientID     string
	ClientSecret string
	TokenTTL     time.Duration // default 1 h
}

// MTLS admits callers presenting a client certificate signed by the CA
// (Genesys Cloud's client certificate). It needs the tls block. Genesys's
// certificates come from its regional private CA or DigiCert, which sign
// certificates for others too: the allowed lists say which of the CA's
// certificates are the caller's. With all three empty, any certificate the
// CA signed is admitted (and the host warns at start).
type MTLS struct {
	ClientCAFile string
	// AllowedSubjects are subject distinguished names in RFC 2253 form, as
	// Go prints them ("CN=genesys,O=Genesys,C=US").
	AllowedSubjects []string
	// AllowedSANs are subject alternative names: DNS names, e-mail
	// addresses, URIs or IP addresses.
	AllowedSANs []string
	// AllowedFingerprints are SHA-256 fingerprints of the certificate, hex,
	// lower case, without colons.
	AllowedFingerprints []string
}

// Restricted reports whether the allowed lists name the admitted certificates.
func (m *MTLS) Restricted() bool {
	return len(m.AllowedSubjects)+len(m.AllowedSANs)+len(m.AllowedFingerprints) > 0
}

// TLS is the certificate the host serves HTTPS with.
type TLS struct {
	CertFile, KeyFile string
}

// Contract-check modes.
const (
	ContractEnforce = "enforce" // a breach of a Genesys contract rule refuses the action
	ContractWarn    = "warn"    // it is logged only
)

// Basic is HTTP Basic authentication with one credential (Genesys Cloud's
// "Basic Auth" credential type).
type Basic struct {
	Username string
	Password string
}

// APIKey is a header carrying one of several keys (Genesys Cloud's "User
// Defined" credential type). Several keys allow rotation without downtime.
type APIKey struct {
	Header string
	Keys   []string
}

// Plugin is the config of one plugin binary.
type Plugin struct {
	SHA256 string // hex, lower case; empty: not pinned
	// Connections are the connections the operator grants the plugin: an
	// action may call a connection only if it declares it (Uses) and it is
	// granted here. Nil: none (under --dev, what the plugin declares).
	Connections []string
	// Sandbox is the plugin's sandbox mode; "" means the top-level one.
	Sandbox sandbox.Mode
	// SandboxRead are extra paths the plugin may read and execute.
	SandboxRead []string
	// Limits are the plugin process's resource limits.
	Limits sandbox.Limits
	// UID and GID override PluginUID and PluginGID; 0: those.
	UID, GID int
	// GOMAXPROCS of the plugin process. Default 1: a plugin mostly waits on
	// the host and downstream APIs, and one OS thread of Go scheduler saves
	// the cross-thread wake-ups that dominate a local gRPC call.
	GOMAXPROCS int
	// MaxConcurrency bounds the requests in flight to the plugin (a
	// bulkhead); beyond it requests answer 503 at once. 0: no bound.
	MaxConcurrency int
}

// DefaultPluginGOMAXPROCS is the GOMAXPROCS of plugins that set none.
const DefaultPluginGOMAXPROCS = 1

// DefaultPluginUser is the uid and gid plugins run as when the host is root
// (nobody).
const DefaultPluginUser = 65534

// DefaultPlugin is the config of a plugin binary that has no plugin block.
func DefaultPlugin() Plugin {
	return Plugin{GOMAXPROCS: DefaultPluginGOMAXPROCS, Limits: sandbox.DefaultLimits()}
}

// Action is the config's changes to one action.
type Action struct {
	Timeout time.Duration  // 0: the plugin's, else DefaultActionTimeout
	Mapping []mapping.Rule // nil: the plugin's
	// AuditHMAC are JSON pointers of input fields written to the audit log
	// as HMAC-SHA256 digests (needs Audit.HMACKey).
	AuditHMAC []string
	// ErrorsAsData answers failures with 200 and {"ok": false, "status",
	// "code", "message", "retryable"}, successes with "ok": true, for flows
	// that cannot read failure outputs (errors = "data").
	ErrorsAsData bool
}

// Audit is the audit log.
type Audit struct {
	Path       string // a file, reopened on SIGHUP; "-" for standard output
	HMACKey    string // key of the digests of audit_hmac fields
	FailClosed bool   // fail a request whose record cannot be written
}

// Tracing exports OpenTelemetry spans over OTLP/gRPC.
type Tracing struct {
	Endpoint    string  // host:port of the OTLP gRPC receiver
	Insecure    bool    // plain gRPC (to a local collector)
	SampleRatio float64 // 0..1, of traces not started by the caller; default 1
	ServiceName string  // default "switchboard"
}

// Default returns the configuration used when there is no file.
func Default() *Config {
	return &Config{
		Listen:               DefaultListen,
		PluginDir:            DefaultPluginDir,
		MaxBodyBytes:         DefaultMaxBodyBytes,
		DefaultActionTimeout: DefaultActionTimeout,
		PluginStartTimeout:   DefaultPluginStartTimeout,
		ReadHeaderTimeout:    DefaultReadHeaderTimeout,
		ReadTimeout:          DefaultReadTimeout,
		IdleTimeout:          DefaultIdleTimeout,
		ShutdownTimeout:      DefaultShutdownTimeout,
		LogLevel:             "info",
		LogFormat:            "text",
		ContractChecks:       ContractEnforce,
		Sandbox:              sandbox.BestEffort,
		PluginUID:            DefaultPluginUser,
		PluginGID:            DefaultPluginUser,
		Plugins:              map[string]Plugin{},
		Actions:              map[string]Action{},
		Connections:          map[string]*Connection{},
	}
}

// Load reads and checks the configuration file at path.
func Load(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, src)
}

// Parse reads and checks a configuration; filename names it in errors.
// No value that came from env() appears in an error.
func Parse(filename string, src []byte) (*Config, error) {
	f, diags := hclparse.NewParser().ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	var (
		raw     file
		secrets []string
	)
	if diags := gohcl.DecodeBody(f.Body, evalContext(&secrets), &raw); diags.HasErrors() {
		return nil, redact(diagError(diags), secrets)
	}
	c, err := raw.config()
	if err != nil {
		return nil, redact(err, secrets)
	}
	c.secrets = secrets
	return c, nil
}

// Redacted stands in for a secret in errors and logs.
const Redacted = "(redacted)"

// redact replaces every secret in err's text.
func redact(err error, secrets []string) error {
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, Redacted)
		}
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// MinLoggedSecret is the shortest env() value the host's logs redact:
// shorter ones (a port, "info") would mangle every line and are no secret.
const MinLoggedSecret = 6

// Secrets are the values the config read with env(): the host's logs
// redact those of at least MinLoggedSecret characters.
func (c *Config) Secrets() []string { return c.secrets }

// The file's shape. Tags follow gohcl; *_range fields locate values for errors.
type file struct {
	Listen               *string      `hcl:"listen,optional"`
	AdminListen          *string      `hcl:"admin_listen,optional"`
	MetricsListen        *string      `hcl:"metrics_listen,optional"`
	PluginDir            *string      `hcl:"plugin_dir,optional"`
	RequirePinnedPlugins *bool        `hcl:"require_pinned_plugins,optional"`
	MaxBodyBytes         *int64       `hcl:"max_body_bytes,optional"`
	MaxBodyBytesRange    hcl.Range    `hcl:"max_body_bytes,attr_range"`
	DefaultActionTimeout durationAttr `hcl:"default_action_timeout,optional"`
	DefaultActionRange   hcl.Range    `hcl:"default_action_timeout,attr_range"`
	PluginStartTimeout   durationAttr `hcl:"plugin_start_timeout,optional"`
	PluginStartRange     hcl.Range    `hcl:"plugin_start_timeout,attr_range"`
	ReadHeaderTimeout    durationAttr `hcl:"read_header_timeout,optional"`
	ReadHeaderRange      hcl.Range    `hcl:"read_header_timeout,attr_range"`
	ReadTimeout          durationAttr `hcl:"read_timeout,optional"`
	ReadRange            hcl.Range    `hcl:"read_timeout,attr_range"`
	IdleTimeout          durationAttr `hcl:"idle_timeout,optional"`
	IdleRange            hcl.Range    `hcl:"idle_timeout,attr_range"`
	ShutdownTimeout      durationAttr `hcl:"shutdown_timeout,optional"`
	ShutdownRange        hcl.Range    `hcl:"shutdown_timeout,attr_range"`
	LogLevel             *string      `hcl:"log_level,optional"`
	LogLevelRange        hcl.Range    `hcl:"log_level,attr_range"`
	LogFormat            *string      `hcl:"log_format,optional"`
	LogFormatRange       hcl.Range    `hcl:"log_format,attr_range"`
	ContractChecks       *string      `hcl:"contract_checks,optional"`
	ContractChecksRange  hcl.Range    `hcl:"contract_checks,attr_range"`
	TLS                  *tlsBlock    `hcl:"tls,block"`
	Sandbox              *string      `hcl:"sandbox,optional"`
	SandboxRange         hcl.Range    `hcl:"sandbox,attr_range"`
	SandboxLauncher      *string      `hcl:"sandbox_launcher,optional"`
	PluginUID            *int         `hcl:"plugin_uid,optional"`
	PluginUIDRange       hcl.Range    `hcl:"plugin_uid,attr_range"`
	PluginGID            *int         `hcl:"plugin_gid,optional"`
	PluginGIDRange       hcl.Range    `hcl:"plugin_gid,attr_range"`

	Inbound     *inboundBlock     `hcl:"inbound,block"`
	Audit       *auditBlock       `hcl:"audit,block"`
	Tracing     *tracingBlock     `hcl:"tracing,block"`
	Plugins     []pluginBlock     `hcl:"plugin,block"`
	Actions     []actionBlock     `hcl:"action,block"`
	Connections []connectionBlock `hcl:"connection,block"`
}

type durationAttr = *string

type inboundBlock struct {
	Basic  *basicBlock  `hcl:"basic,block"`
	APIKey *apiKeyBlock `hcl:"api_key,block"`
	OAuth  *oauthBlock  `hcl:"oauth,block"`
	MTLS   *mtlsBlock   `hcl:"mtls,block"`
}

type oauthBlock struct {
	ClientID     string       `hcl:"client_id"`
	ClientSecret string       `hcl:"client_secret"`
	TokenTTL     durationAttr `hcl:"token_ttl,optional"`
	Range        hcl.Range    `hcl:",def_range"`
}

type mtlsBlock struct {
	ClientCAFile        string    `hcl:"client_ca_file"`
	AllowedSubjects     []string  `hcl:"allowed_subjects,optional"`
	AllowedSANs         []string  `hcl:"allowed_sans,optional"`
	AllowedFingerprints []string  `hcl:"allowed_fingerprints,optional"`
	Range               hcl.Range `hcl:",def_range"`
}

type tlsBlock struct {
	CertFile string    `hcl:"cert_file"`
	KeyFile  string    `hcl:"key_file"`
	Range    hcl.Range `hcl:",def_range"`
}

type basicBlock struct {
	Username string    `hcl:"username"`
	Password string    `hcl:"password"`
	Range    hcl.Range `hcl:",def_range"`
}

type apiKeyBlock struct {
	Header *string   `hcl:"header,optional"`
	Keys   []string  `hcl:"keys"`
	Range  hcl.Range `hcl:",def_range"`
}

type auditBlock struct {
	Path       string    `hcl:"path"`
	HMACKey    *string   `hcl:"hmac_key,optional"`
	FailClosed *bool     `hcl:"fail_closed,optional"`
	Range      hcl.Range `hcl:",def_range"`
}

type tracingBlock struct {
	Endpoint    string    `hcl:"endpoint"`
	Insecure    *bool     `hcl:"insecure,optional"`
	SampleRatio *float64  `hcl:"sample_ratio,optional"`
	ServiceName *string   `hcl:"service_name,optional"`
	Range       hcl.Range `hcl:",def_range"`
}

type pluginBlock struct {
	Name        string       `hcl:"name,label"`
	SHA256      *string      `hcl:"sha256,optional"`
	GOMAXPROCS  *int         `hcl:"gomaxprocs,optional"`
	MaxConc     *int         `hcl:"max_concurrency,optional"`
	Connections []string     `hcl:"connections,optional"`
	Sandbox     *string      `hcl:"sandbox,optional"`
	SandboxRead []string     `hcl:"sandbox_read,optional"`
	UID         *int         `hcl:"uid,optional"`
	GID         *int         `hcl:"gid,optional"`
	Limits      *limitsBlock `hcl:"limits,block"`
	Range       hcl.Range    `hcl:",def_range"`
}

type limitsBlock struct {
	OpenFiles      *int64 `hcl:"open_files,optional"`
	Processes      *int64 `hcl:"processes,optional"`
	AddressSpaceMB *int64 `hcl:"address_space_mb,optional"`
}

type actionBlock struct {
	Name            string               `hcl:"name,label"`
	Timeout         durationAttr         `hcl:"timeout,optional"`
	TimeoutRange    hcl.Range            `hcl:"timeout,attr_range"`
	Mapping         map[string]string    `hcl:"mapping,optional"`
	MappingDefaults map[string]cty.Value `hcl:"mapping_defaults,optional"`
	AuditHMAC       []string             `hcl:"audit_hmac,optional"`
	Errors          *string              `hcl:"errors,optional"`
	Range           hcl.Range            `hcl:",def_range"`
}

func (f *file) config() (*Config, error) {
	c := Default()
	var errs []error
	fail := func(r hcl.Range, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", r, fmt.Sprintf(format, args...)))
	}
	setString(&c.Listen, f.Listen)
	setString(&c.AdminListen, f.AdminListen)
	setString(&c.MetricsListen, f.MetricsListen)
	setString(&c.PluginDir, f.PluginDir)
	if f.RequirePinnedPlugins != nil {
		c.RequirePinnedPlugins = *f.RequirePinnedPlugins
	}
	if f.MaxBodyBytes != nil {
		if *f.MaxBodyBytes < 1 || *f.MaxBodyBytes > MaxMaxBodyBytes {
			fail(f.MaxBodyBytesRange, "max_body_bytes must be between 1 and %d", MaxMaxBodyBytes)
		}
		c.MaxBodyBytes = *f.MaxBodyBytes
	}
	for _, d := range []struct {
		dst      *time.Duration
		src      durationAttr
		r        hcl.Range
		name     string
		min, max time.Duration
	}{
		{&c.DefaultActionTimeout, f.DefaultActionTimeout, f.DefaultActionRange, "default_action_timeout", time.Second, MaxActionTimeout},
		{&c.PluginStartTimeout, f.PluginStartTimeout, f.PluginStartRange, "plugin_start_timeout", 100 * time.Millisecond, 5 * time.Minute},
		{&c.ReadHeaderTimeout, f.ReadHeaderTimeout, f.ReadHeaderRange, "read_header_timeout", 100 * time.Millisecond, 5 * time.Minute},
		{&c.ReadTimeout, f.ReadTimeout, f.ReadRange, "read_timeout", 100 * time.Millisecond, 5 * time.Minute},
		{&c.IdleTimeout, f.IdleTimeout, f.IdleRange, "idle_timeout", time.Second, time.Hour},
		{&c.ShutdownTimeout, f.ShutdownTimeout, f.ShutdownRange, "shutdown_timeout", 0, 10 * time.Minute},
	} {
		if err := parseDuration(d.dst, d.src, d.name, d.min, d.max); err != nil {
			fail(d.r, "%v", err)
		}
	}
	if f.LogLevel != nil {
		if hclog.LevelFromString(*f.LogLevel) == hclog.NoLevel {
			fail(f.LogLevelRange, "log_level %q: use trace, debug, info, warn or error", *f.LogLevel)
		}
		c.LogLevel = *f.LogLevel
	}
	if f.LogFormat != nil {
		if *f.LogFormat != "text" && *f.LogFormat != "json" {
			fail(f.LogFormatRange, "log_format %q: use text or json", *f.LogFormat)
		}
		c.LogFormat = *f.LogFormat
	}

	if in := f.Inbound; in != nil {
		if b := in.Basic; b != nil {
			if b.Username == "" || len(b.Password) < minSecretLength {
				fail(b.Range, "inbound basic: username must not be empty and password must be at least %d characters", minSecretLength)
			}
			c.Inbound.Basic = &Basic{Username: b.Username, Password: b.Password}
		}
		if k := in.APIKey; k != nil {
			header := DefaultAPIKeyHeader
			setString(&header, k.Header)
			if len(k.Keys) == 0 {
				fail(k.Range, "inbound api_key: keys must hold at least one key")
			}
			for i, key := range k.Keys {
				if len(key) < minSecretLength {
					fail(k.Range, "inbound api_key: key #%d is shorter than %d characters", i+1, minSecretLength)
				}
			}
			if header == "" || header == "Authorization" {
				fail(k.Range, "inbound api_key: header %q cannot carry an API key", header)
			}
			c.Inbound.APIKey = &APIKey{Header: header, Keys: k.Keys}
		}
		if o := in.OAuth; o != nil {
			oa := &InboundOAuth{ClientID: o.ClientID, ClientSecret: o.ClientSecret, TokenTTL: time.Hour}
			if o.ClientID == "" || len(o.ClientSecret) < minSecretLength {
				fail(o.Range, "inbound oauth: client_id must not be empty and client_secret must be at least %d characters", minSecretLength)
			}
			if err := parseDuration(&oa.TokenTTL, o.TokenTTL, "inbound oauth token_ttl", time.Minute, 24*time.Hour); err != nil {
				fail(o.Range, "%v", err)
			}
			c.Inbound.OAuth = oa
		}
		if m := in.MTLS; m != nil {
			c.Inbound.MTLS = &MTLS{ClientCAFile: m.ClientCAFile, AllowedSubjects: m.AllowedSubjects, AllowedSANs: m.AllowedSANs}
			for _, fp := range m.AllowedFingerprints {
				norm := strings.ToLower(strings.ReplaceAll(fp, ":", ""))
				if b, err := hex.DecodeString(norm); err != nil || len(b) != 32 {
					fail(m.Range, "inbound mtls: allowed_fingerprints: %q is not a SHA-256 fingerprint (64 hex digits, colons allowed)", fp)
				}
				c.Inbound.MTLS.AllowedFingerprints = append(c.Inbound.MTLS.AllowedFingerprints, norm)
			}
			if f.TLS == nil {
				fail(m.Range, "inbound mtls needs a tls { cert_file key_file } block: client certificates come with HTTPS")
			}
		}
	}
	if t := f.TLS; t != nil {
		c.TLS = &TLS{CertFile: t.CertFile, KeyFile: t.KeyFile}
	}
	if f.Sandbox != nil {
		m, err := sandbox.ParseMode(*f.Sandbox)
		if err != nil {
			fail(f.SandboxRange, "%v", err)
		}
		c.Sandbox = m
	}
	setString(&c.SandboxLauncher, f.SandboxLauncher)
	if err := checkID(&c.PluginUID, f.PluginUID, "plugin_uid"); err != nil {
		fail(f.PluginUIDRange, "%v", err)
	}
	if err := checkID(&c.PluginGID, f.PluginGID, "plugin_gid"); err != nil {
		fail(f.PluginGIDRange, "%v", err)
	}
	if f.ContractChecks != nil {
		if *f.ContractChecks != ContractEnforce && *f.ContractChecks != ContractWarn {
			fail(f.ContractChecksRange, "contract_checks %q: use %q or %q", *f.ContractChecks, ContractEnforce, ContractWarn)
		}
		c.ContractChecks = *f.ContractChecks
	}

	if a := f.Audit; a != nil {
		c.Audit = &Audit{Path: a.Path}
		setString(&c.Audit.HMACKey, a.HMACKey)
		if a.FailClosed != nil {
			c.Audit.FailClosed = *a.FailClosed
		}
		if a.Path == "" {
			fail(a.Range, "audit: path must name a file, or \"-\" for standard output")
		}
		if a.HMACKey != nil && len(*a.HMACKey) < minSecretLength {
			fail(a.Range, "audit: hmac_key must be at least %d characters", minSecretLength)
		}
	}
	if t := f.Tracing; t != nil {
		c.Tracing = &Tracing{Endpoint: t.Endpoint, SampleRatio: 1, ServiceName: "switchboard"}
		if t.Insecure != nil {
			c.Tracing.Insecure = *t.Insecure
		}
		if t.SampleRatio != nil {
			if *t.SampleRatio < 0 || *t.SampleRatio > 1 {
				fail(t.Range, "tracing: sample_ratio must be between 0 and 1")
			}
			c.Tracing.SampleRatio = *t.SampleRatio
		}
		setString(&c.Tracing.ServiceName, t.ServiceName)
		if t.Endpoint == "" {
			fail(t.Range, "tracing: endpoint must be host:port of an OTLP gRPC receiver")
		}
	}

	for _, p := range f.Plugins {
		if _, dup := c.Plugins[p.Name]; dup {
			fail(p.Range, "plugin %q is configured twice", p.Name)
		}
		pc := DefaultPlugin()
		pc.Connections, pc.SandboxRead = p.Connections, p.SandboxRead
		if p.Sandbox != nil {
			m, err := sandbox.ParseMode(*p.Sandbox)
			if err != nil {
				fail(p.Range, "plugin %q: %v", p.Name, err)
			}
			pc.Sandbox = m
		}
		for _, path := range p.SandboxRead {
			if !filepath.IsAbs(path) {
				fail(p.Range, "plugin %q: sandbox_read %q: give an absolute path", p.Name, path)
			}
		}
		if err := checkID(&pc.UID, p.UID, "uid"); err != nil {
			fail(p.Range, "plugin %q: %v", p.Name, err)
		}
		if err := checkID(&pc.GID, p.GID, "gid"); err != nil {
			fail(p.Range, "plugin %q: %v", p.Name, err)
		}
		if l := p.Limits; l != nil {
			for _, v := range []struct {
				dst  *uint64
				src  *int64
				name string
				unit uint64
			}{
				{&pc.Limits.OpenFiles, l.OpenFiles, "open_files", 1},
				{&pc.Limits.Processes, l.Processes, "processes", 1},
				{&pc.Limits.AddressSpace, l.AddressSpaceMB, "address_space_mb", 1 << 20},
			} {
				if v.src == nil {
					continue
				}
				if *v.src < 16 || *v.src > 1<<30 {
					fail(p.Range, "plugin %q: limits %s must be between 16 and %d", p.Name, v.name, 1<<30)
				}
				*v.dst = uint64(*v.src) * v.unit
			}
		}
		if p.SHA256 != nil {
			sum, err := hex.DecodeString(*p.SHA256)
			if err != nil || len(sum) != 32 {
				fail(p.Range, "plugin %q: sha256 must be 64 hex digits (see `switchboard checksum FILE`)", p.Name)
			}
			pc.SHA256 = hex.EncodeToString(sum)
		}
		if p.GOMAXPROCS != nil {
			if *p.GOMAXPROCS < 1 || *p.GOMAXPROCS > 1024 {
				fail(p.Range, "plugin %q: gomaxprocs must be between 1 and 1024", p.Name)
			}
			pc.GOMAXPROCS = *p.GOMAXPROCS
		}
		if p.MaxConc != nil {
			if *p.MaxConc < 1 {
				fail(p.Range, "plugin %q: max_concurrency must be at least 1", p.Name)
			}
			pc.MaxConcurrency = *p.MaxConc
		}
		c.Plugins[p.Name] = pc
	}

	for _, a := range f.Actions {
		if _, dup := c.Actions[a.Name]; dup {
			fail(a.Range, "action %q is configured twice", a.Name)
		}
		act := Action{AuditHMAC: a.AuditHMAC}
		if a.Errors != nil {
			switch *a.Errors {
			case "data":
				act.ErrorsAsData = true
			case "status":
			default:
				fail(a.Range, "action %q: errors %q: use \"status\" (failures answer their HTTP status) or \"data\" (200 with ok:false)", a.Name, *a.Errors)
			}
		}
		if len(a.AuditHMAC) > 0 && (c.Audit == nil || c.Audit.HMACKey == "") {
			fail(a.Range, "action %q: audit_hmac needs audit { hmac_key = ... }", a.Name)
		}
		if err := parseDuration(&act.Timeout, a.Timeout, "timeout", time.Second, MaxActionTimeout); err != nil {
			fail(a.TimeoutRange, "action %q: %v", a.Name, err)
		}
		for target, source := range a.Mapping {
			act.Mapping = append(act.Mapping, mapping.Rule{Target: target, Source: source})
		}
		for target, v := range a.MappingDefaults {
			b, err := ctyjson.Marshal(v, v.Type())
			if err != nil {
				fail(a.Range, "action %q: mapping default of %q: %v", a.Name, target, err)
				continue
			}
			found := false
			for i := range act.Mapping {
				if act.Mapping[i].Target == target {
					act.Mapping[i].Default, found = b, true
				}
			}
			if !found {
				fail(a.Range, "action %q: mapping_defaults names %q, which mapping does not map", a.Name, target)
			}
		}
		// Parents before children, and never in map order.
		slices.SortFunc(act.Mapping, func(a, b mapping.Rule) int { return strings.Compare(a.Target, b.Target) })
		c.Actions[a.Name] = act
	}
	for i := range f.Connections {
		b := &f.Connections[i]
		if _, dup := c.Connections[b.Name]; dup {
			fail(b.Range, "connection %q is configured twice", b.Name)
			continue
		}
		conn, err := b.connection()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.Connections[b.Name] = conn
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

func setString(dst *string, src *string) {
	if src != nil {
		*dst = *src
	}
}

// checkID sets a uid or gid: plugins never run as root.
func checkID(dst *int, src *int, name string) error {
	if src == nil {
		return nil
	}
	if *src < 1 || *src > 1<<31-2 {
		return fmt.Errorf("%s %d: must be a user or group other than root (1 to 2147483646)", name, *src)
	}
	*dst = *src
	return nil
}

func parseDuration(dst *time.Duration, src durationAttr, name string, lo, hi time.Duration) error {
	if src == nil {
		return nil
	}
	d, err := time.ParseDuration(*src)
	if err != nil {
		return fmt.Errorf("%s %q: not a duration (e.g. \"500ms\", \"8s\", \"2m\")", name, *src)
	}
	if d < lo || d > hi {
		return fmt.Errorf("%s %v: must be between %v and %v", name, d, lo, hi)
	}
	*dst = d
	return nil
}

// evalContext offers env("NAME") and env("NAME", "default") to the file. A
// variable that is not set and has no default is an error, so that a secret
// missing from the environment never becomes an empty password. Every value
// env() returns is added to secrets.
func evalContext(secrets *[]string) *hcl.EvalContext {
	return &hcl.EvalContext{Functions: map[string]function.Function{
		"env": function.New(&function.Spec{
			Params:   []function.Parameter{{Name: "name", Type: cty.String}},
			VarParam: &function.Parameter{Name: "default", Type: cty.String},
			Type:     function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				name := args[0].AsString()
				if v, ok := os.LookupEnv(name); ok {
					*secrets = append(*secrets, v)
					return cty.StringVal(v), nil
				}
				switch len(args) {
				case 1:
					return cty.NilVal, fmt.Errorf("environment variable %s is not set", name)
				case 2:
					*secrets = append(*secrets, args[1].AsString())
					return args[1], nil
				}
				return cty.NilVal, errors.New("env takes a name and at most one default")
			},
		}),
	}}
}

// diagError renders HCL diagnostics with their file and line.
func diagError(diags hcl.Diagnostics) error {
	var errs []error
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		if d.Subject != nil {
			msg = d.Subject.String() + ": " + msg
		}
		errs = append(errs, errors.New(msg))
	}
	return fmt.Errorf("config: %w", errors.Join(errs...))
}
