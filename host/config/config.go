// Package config reads the host's HCL configuration file into a Config with
// every value checked and defaults filled in. Unknown keys, bad values and
// missing environment variables are errors that name the file and line.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

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
	// ShutdownDelay is how long the host keeps serving after a signal,
	// with /readyz already answering 503, so that load balancers withdraw
	// it before it drains (Kubernetes removes endpoints asynchronously).
	ShutdownDelay time.Duration
	LogLevel      string // trace, debug, info, warn, error
	LogFormat     string // text or json

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
	Cache          *Cache                 // nil: no action caches
	Plugins        map[string]Plugin      // by file name
	Actions        map[string]Action      // by action name
	Connections    map[string]*Connection // by connection name

	secrets []string // every value env() and file() returned
	files   []string // every file read (Files)
}

// Contract-check modes.
const (
	ContractEnforce = "enforce" // a breach of a Genesys contract rule refuses the action
	ContractWarn    = "warn"    // it is logged only
)

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

// Parse reads and checks a configuration; filename names it in errors, and
// its directory is what relative paths in it (plugin_dir, sandbox_launcher,
// the tls and mtls files, the audit path, file()) are resolved against. No
// value that came from env() or file() appears in an error.
func Parse(filename string, src []byte) (*Config, error) {
	f, diags := hclparse.NewParser().ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	var (
		raw     file
		secrets []string
		files   = []string{filename}
	)
	dir := filepath.Dir(filename)
	if diags := gohcl.DecodeBody(f.Body, evalContext(dir, &secrets, &files), &raw); diags.HasErrors() {
		return nil, redact(diagError(diags), secrets)
	}
	c, err := raw.config()
	if err != nil {
		return nil, redact(err, secrets)
	}
	c.secrets = secrets
	if raw.PluginDir != nil {
		c.PluginDir = relativeTo(dir, c.PluginDir)
	}
	c.SandboxLauncher = relativeTo(dir, c.SandboxLauncher)
	if c.TLS != nil {
		c.TLS.CertFile, c.TLS.KeyFile = relativeTo(dir, c.TLS.CertFile), relativeTo(dir, c.TLS.KeyFile)
	}
	if c.Inbound.MTLS != nil {
		c.Inbound.MTLS.ClientCAFile = relativeTo(dir, c.Inbound.MTLS.ClientCAFile)
	}
	if c.Audit != nil && c.Audit.Path != "-" {
		c.Audit.Path = relativeTo(dir, c.Audit.Path)
	}
	if c.TLS != nil {
		files = append(files, c.TLS.CertFile, c.TLS.KeyFile)
	}
	if c.Inbound.MTLS != nil {
		files = append(files, c.Inbound.MTLS.ClientCAFile)
	}
	c.files = files
	return c, nil
}

// Files are the files the configuration was read from: the config file,
// each file() secret, the TLS certificate and key, the mTLS CA. A change to
// any of them is a change of configuration (serve --watch-config).
func (c *Config) Files() []string { return c.files }

// relativeTo resolves a relative path of the config file against the
// file's directory, so that the host reads the same files whatever its
// working directory; "" stays "".
func relativeTo(dir, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
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
	ShutdownDelay        durationAttr `hcl:"shutdown_delay,optional"`
	ShutdownDelayRange   hcl.Range    `hcl:"shutdown_delay,attr_range"`
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
	Cache       *cacheBlock       `hcl:"cache,block"`
	Plugins     []pluginBlock     `hcl:"plugin,block"`
	Actions     []actionBlock     `hcl:"action,block"`
	Connections []connectionBlock `hcl:"connection,block"`
}

type durationAttr = *string

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

// config checks the file block by block and fills in the defaults. Every
// block is checked even after an error, so that the error lists all of the
// file's mistakes, in this order.
func (f *file) config() (*Config, error) {
	// The checks across blocks, each passed to the block whose error it is.
	haveTLS := f.TLS != nil                                                           // inbound mtls needs the tls block
	haveHMACKey := f.Audit != nil && f.Audit.HMACKey != nil && *f.Audit.HMACKey != "" // audit_hmac needs audit.hmac_key

	c := Default()
	var err error
	errs := []error{f.hostSettings(c)} // errors.Join drops the nils
	c.Inbound, err = f.Inbound.inbound(haveTLS)
	errs = append(errs, err)
	c.TLS = f.TLS.tls()
	errs = append(errs, f.pluginSettings(c))
	c.Audit, err = f.Audit.audit()
	errs = append(errs, err)
	c.Tracing, err = f.Tracing.tracing()
	errs = append(errs, err)
	c.Cache, err = f.Cache.cache()
	errs = append(errs, err)
	for i := range f.Plugins {
		p := &f.Plugins[i]
		if _, dup := c.Plugins[p.Name]; dup {
			errs = append(errs, errAt(p.Range, "plugin %q is configured twice", p.Name))
		}
		c.Plugins[p.Name], err = p.plugin()
		errs = append(errs, err)
	}
	for i := range f.Actions {
		a := &f.Actions[i]
		if _, dup := c.Actions[a.Name]; dup {
			errs = append(errs, errAt(a.Range, "action %q is configured twice", a.Name))
		}
		c.Actions[a.Name], err = a.action(haveHMACKey)
		errs = append(errs, err)
		if ac := c.Actions[a.Name].Cache; ac != nil {
			if c.Cache == nil && f.Cache == nil {
				c.Cache = &Cache{Store: CacheMemory, MaxBytes: DefaultCacheMaxBytes}
			}
			if ac.AllowSecure && c.Cache != nil && c.Cache.Store == CacheRedis && c.Cache.EncryptionKey == "" {
				errs = append(errs, errAt(a.Range, "action %q: cache: allow_secure with the redis store needs cache { encryption_key = … }: secure outputs are never stored in Redis in clear", a.Name))
			}
		}
	}
	for i := range f.Connections {
		b := &f.Connections[i]
		if _, dup := c.Connections[b.Name]; dup {
			errs = append(errs, errAt(b.Range, "connection %q is configured twice", b.Name))
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

// hostSettings checks the top-level settings of the host's own server:
// listeners, body limit, timeouts and logging.
func (f *file) hostSettings(c *Config) error {
	var errs []error
	setString(&c.Listen, f.Listen)
	setString(&c.AdminListen, f.AdminListen)
	setString(&c.MetricsListen, f.MetricsListen)
	if f.MaxBodyBytes != nil {
		if *f.MaxBodyBytes < 1 || *f.MaxBodyBytes > MaxMaxBodyBytes {
			errs = append(errs, errAt(f.MaxBodyBytesRange, "max_body_bytes must be between 1 and %d", MaxMaxBodyBytes))
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
		{&c.ShutdownDelay, f.ShutdownDelay, f.ShutdownDelayRange, "shutdown_delay", 0, 10 * time.Minute},
	} {
		if err := parseDuration(d.dst, d.src, d.name, d.min, d.max); err != nil {
			errs = append(errs, errAt(d.r, "%v", err))
		}
	}
	if f.LogLevel != nil {
		if hclog.LevelFromString(*f.LogLevel) == hclog.NoLevel {
			errs = append(errs, errAt(f.LogLevelRange, "log_level %q: use trace, debug, info, warn or error", *f.LogLevel))
		}
		c.LogLevel = *f.LogLevel
	}
	if f.LogFormat != nil {
		if *f.LogFormat != "text" && *f.LogFormat != "json" {
			errs = append(errs, errAt(f.LogFormatRange, "log_format %q: use text or json", *f.LogFormat))
		}
		c.LogFormat = *f.LogFormat
	}
	return errors.Join(errs...)
}

// pluginSettings checks the top-level settings of plugins and their
// actions: where they are, how they run, how their contracts are checked.
func (f *file) pluginSettings(c *Config) error {
	var errs []error
	setString(&c.PluginDir, f.PluginDir)
	if f.RequirePinnedPlugins != nil {
		c.RequirePinnedPlugins = *f.RequirePinnedPlugins
	}
	if f.Sandbox != nil {
		m, err := sandbox.ParseMode(*f.Sandbox)
		if err != nil {
			errs = append(errs, errAt(f.SandboxRange, "%v", err))
		}
		c.Sandbox = m
	}
	setString(&c.SandboxLauncher, f.SandboxLauncher)
	if err := checkID(&c.PluginUID, f.PluginUID, "plugin_uid"); err != nil {
		errs = append(errs, errAt(f.PluginUIDRange, "%v", err))
	}
	if err := checkID(&c.PluginGID, f.PluginGID, "plugin_gid"); err != nil {
		errs = append(errs, errAt(f.PluginGIDRange, "%v", err))
	}
	if f.ContractChecks != nil {
		if *f.ContractChecks != ContractEnforce && *f.ContractChecks != ContractWarn {
			errs = append(errs, errAt(f.ContractChecksRange, "contract_checks %q: use %q or %q", *f.ContractChecks, ContractEnforce, ContractWarn))
		}
		c.ContractChecks = *f.ContractChecks
	}
	return errors.Join(errs...)
}

// audit checks the audit block; nil: no audit log.
func (a *auditBlock) audit() (*Audit, error) {
	if a == nil {
		return nil, nil
	}
	var errs []error
	res := &Audit{Path: a.Path}
	setString(&res.HMACKey, a.HMACKey)
	if a.FailClosed != nil {
		res.FailClosed = *a.FailClosed
	}
	if a.Path == "" {
		errs = append(errs, errAt(a.Range, "audit: path must name a file, or \"-\" for standard output"))
	}
	if a.HMACKey != nil && len(*a.HMACKey) < minSecretLength {
		errs = append(errs, errAt(a.Range, "audit: hmac_key must be at least %d characters", minSecretLength))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return res, nil
}

// tracing checks the tracing block and fills in its defaults; nil: tracing off.
func (t *tracingBlock) tracing() (*Tracing, error) {
	if t == nil {
		return nil, nil
	}
	var errs []error
	res := &Tracing{Endpoint: t.Endpoint, SampleRatio: 1, ServiceName: "switchboard"}
	if t.Insecure != nil {
		res.Insecure = *t.Insecure
	}
	if t.SampleRatio != nil {
		if *t.SampleRatio < 0 || *t.SampleRatio > 1 {
			errs = append(errs, errAt(t.Range, "tracing: sample_ratio must be between 0 and 1"))
		}
		res.SampleRatio = *t.SampleRatio
	}
	setString(&res.ServiceName, t.ServiceName)
	if t.Endpoint == "" {
		errs = append(errs, errAt(t.Range, "tracing: endpoint must be host:port of an OTLP gRPC receiver"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return res, nil
}

// errAt is an error about the value at r. Every error of the file is made
// here, so that each begins with the file and line of what it is about.
func errAt(r hcl.Range, format string, args ...any) error {
	return fmt.Errorf("%s: %s", r, fmt.Sprintf(format, args...))
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

// evalContext offers env("NAME"), env("NAME", "default") and file("PATH")
// to the file. A variable that is not set and has no default is an error,
// so that a secret missing from the environment never becomes an empty
// password. file reads a file (a mounted Kubernetes or systemd secret),
// relative to dir, without its trailing newline; an unreadable file is an
// error naming it, never its content. Every value either returns is added
// to secrets.
func evalContext(dir string, secrets, files *[]string) *hcl.EvalContext {
	return &hcl.EvalContext{Functions: map[string]function.Function{
		"file": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "path", Type: cty.String}},
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				path := relativeTo(dir, args[0].AsString())
				*files = append(*files, path)
				b, err := os.ReadFile(path)
				if err != nil {
					var pe *fs.PathError
					if errors.As(err, &pe) {
						err = pe.Err // the path is named once, below
					}
					return cty.NilVal, fmt.Errorf("file(%q): %v", path, err)
				}
				if !utf8.Valid(b) {
					return cty.NilVal, fmt.Errorf("file(%q): not UTF-8 text", path)
				}
				v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
				*secrets = append(*secrets, v)
				return cty.StringVal(v), nil
			},
		}),
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
		if d.Subject == nil {
			errs = append(errs, errors.New(msg))
			continue
		}
		errs = append(errs, errAt(*d.Subject, "%s", msg))
	}
	return fmt.Errorf("config: %w", errors.Join(errs...))
}
