package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Setenv("SB_TEST_PASSWORD", "a-password-of-length-20")
	src := `
listen                 = "127.0.0.1:9000"
plugin_dir             = "/opt/switchboard/plugins"
require_pinned_plugins = true
max_body_bytes         = 2048
default_action_timeout = "5s"
log_level              = "debug"
log_format             = "json"

inbound {
  basic {
    username = "genesys"
    password = env("SB_TEST_PASSWORD")
  }
  api_key {
    keys = [env("SB_TEST_UNSET", "fallback-key-0123456789")]
  }
}

plugin "echo" { sha256 = "A30FCF7DB0A23E517BAFA417CCF9243EABE2CC16047A9D7D071C6A76FD3F1548" }
plugin "crm" {
  sha256 = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
}

action "fetchUserProfile" {
  timeout          = "8s"
  mapping          = { "/userId" = "/data/userId", "/a/b" = "/requestId", "/a" = "/data/a" }
  mapping_defaults = { "/userId" = "nobody" }
}
`
	c, err := Parse("test.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.PluginDir != "/opt/switchboard/plugins" || !c.RequirePinnedPlugins ||
		c.MaxBodyBytes != 2048 || c.DefaultActionTimeout != 5*time.Second || c.LogLevel != "debug" || c.LogFormat != "json" {
		t.Errorf("top level: %+v", c)
	}
	if c.ReadHeaderTimeout != DefaultReadHeaderTimeout || c.ShutdownTimeout != DefaultShutdownTimeout {
		t.Errorf("defaults not kept: %+v", c)
	}
	if b := c.Inbound.Basic; b == nil || b.Username != "genesys" || b.Password != "a-password-of-length-20" {
		t.Errorf("basic: %+v", b)
	}
	if k := c.Inbound.APIKey; k == nil || k.Header != DefaultAPIKeyHeader || len(k.Keys) != 1 || k.Keys[0] != "fallback-key-0123456789" {
		t.Errorf("api_key: %+v", k)
	}
	if p := c.Plugins["echo"]; !slices.Equal(p.Pins, []string{"a30fcf7db0a23e517bafa417ccf9243eabe2cc16047a9d7d071c6a76fd3f1548"}) {
		t.Errorf("pin not normalised: %q", p.Pins)
	}
	if p := c.Plugins["crm"]; !slices.Equal(p.Pins, []string{strings.Repeat("a", 64), strings.Repeat("b", 64)}) || !p.Accepts(strings.Repeat("b", 64)) || p.Accepts(strings.Repeat("c", 64)) {
		t.Errorf("a list of pins: %q", p.Pins)
	}
	a := c.Actions["fetchUserProfile"]
	if a.Timeout != 8*time.Second || len(a.Mapping) != 3 {
		t.Fatalf("action: %+v", a)
	}
	// Sorted by target, so parents come first; the default lands on its rule.
	if a.Mapping[0].Target != "/a" || a.Mapping[1].Target != "/a/b" || a.Mapping[2].Target != "/userId" || string(a.Mapping[2].Default) != `"nobody"` {
		t.Errorf("mapping: %+v", a.Mapping)
	}
}

func TestPluginSandboxAndGrants(t *testing.T) {
	src := `
sandbox          = "require"
sandbox_launcher = "/usr/libexec/switchboard-sandbox"
plugin_uid       = 10001
plugin_gid       = 10002

plugin "genesys-users" {
  connections  = ["genesys"]
  sandbox      = "best_effort"
  sandbox_read = ["/usr/lib/python3"]
  uid          = 20001
  limits {
    open_files       = 256
    processes        = 64
    address_space_mb = 2048
  }
}
plugin "echo" {}
`
	c, err := Parse("t.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Sandbox != "require" || c.SandboxLauncher != "/usr/libexec/switchboard-sandbox" || c.PluginUID != 10001 || c.PluginGID != 10002 {
		t.Errorf("top level: %+v", c)
	}
	p := c.Plugins["genesys-users"]
	if len(p.Connections) != 1 || p.Connections[0] != "genesys" || p.Sandbox != "best_effort" || len(p.SandboxRead) != 1 || p.UID != 20001 || p.GID != 0 {
		t.Errorf("plugin: %+v", p)
	}
	if p.Limits.OpenFiles != 256 || p.Limits.Processes != 64 || p.Limits.AddressSpace != 2048<<20 {
		t.Errorf("limits: %+v", p.Limits)
	}
	e := c.Plugins["echo"]
	if e.Connections != nil || e.Sandbox != "" || e.Limits.OpenFiles == 0 || e.GOMAXPROCS != DefaultPluginGOMAXPROCS {
		t.Errorf("an empty plugin block has no grants and the defaults: %+v", e)
	}
	if d := Default(); d.Sandbox != "best_effort" || d.PluginUID != DefaultPluginUser {
		t.Errorf("defaults: %+v", d)
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	tests := map[string]struct {
		src  string
		want []string
	}{
		"unknown key":        {"listen = \":1\"\nlisten_port = 2\n", []string{"t.hcl:2", `"listen_port" is not expected`}},
		"unknown block":      {"\nmetrics {\n}\n", []string{"t.hcl:2", "metrics"}},
		"bad duration":       {"read_timeout = \"soon\"\n", []string{"t.hcl:1", "read_timeout", "not a duration"}},
		"timeout over 60s":   {"action \"a\" {\n  timeout = \"61s\"\n}\n", []string{"t.hcl:2", "action \"a\"", "between"}},
		"unset env":          {"inbound {\n  api_key {\n    keys = [env(\"SB_TEST_NOT_SET_EVER\")]\n  }\n}\n", []string{"t.hcl:3", "SB_TEST_NOT_SET_EVER is not set"}},
		"short password":     {"inbound {\n  basic {\n    username = \"u\"\n    password = \"short\"\n  }\n}\n", []string{"t.hcl:2", "at least 16"}},
		"bad pin":            {"plugin \"echo\" { sha256 = \"abc\" }\n", []string{"t.hcl:1", "64 hex digits"}},
		"bad pin in a list":  {"plugin \"echo\" {\n  sha256 = [\"" + strings.Repeat("a", 64) + "\", \"abc\"]\n}\n", []string{"t.hcl:1", "64 hex digits"}},
		"empty pin list":     {"plugin \"echo\" {\n  sha256 = []\n}\n", []string{"t.hcl:1", "at least one hash"}},
		"pin of a number":    {"plugin \"echo\" {\n  sha256 = 3\n}\n", []string{"t.hcl:1", "one hash or a list"}},
		"bad log level":      {"log_level = \"loud\"\n", []string{"t.hcl:1", "log_level"}},
		"body limit":         {"max_body_bytes = 0\n", []string{"t.hcl:1", "max_body_bytes"}},
		"default not mapped": {"action \"a\" {\n  mapping_defaults = { \"/x\" = 1 }\n}\n", []string{"t.hcl:1", "mapping does not map"}},
		"duplicate action":   {"action \"a\" {\n}\naction \"a\" {\n}\n", []string{"t.hcl:3", "twice"}},
		"syntax":             {"listen = \n", []string{"t.hcl:1"}},
		"type":               {"max_body_bytes = \"big\"\n", []string{"t.hcl:1", "number"}},
		"sandbox mode":       {"sandbox = \"strict\"\n", []string{"t.hcl:1", `sandbox "strict"`, "best_effort"}},
		"plugin sandbox":     {"plugin \"x\" {\n  sandbox = \"on\"\n}\n", []string{"t.hcl:1", `plugin "x"`, `sandbox "on"`}},
		"root plugin user":   {"plugin_uid = 0\n", []string{"t.hcl:1", "plugin_uid 0", "other than root"}},
		"root plugin gid":    {"plugin \"x\" {\n  gid = 0\n}\n", []string{"t.hcl:1", "gid 0"}},
		"relative read path": {"plugin \"x\" {\n  sandbox_read = [\"lib\"]\n}\n", []string{"t.hcl:1", "absolute"}},
		"tiny limit":         {"plugin \"x\" {\n  limits {\n    open_files = 3\n  }\n}\n", []string{"t.hcl:1", "open_files"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("t.hcl", []byte(tc.src))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "none.hcl"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestConnections(t *testing.T) {
	t.Setenv("SB_TEST_SECRET", "s3cret")
	c, err := Parse("t.hcl", []byte(`
connection "genesys" {
  region = "mypurecloud.ie"
  oauth2 {
    client_id     = "id"
    client_secret = env("SB_TEST_SECRET")
    scopes        = ["users:readonly"]
    expiry_buffer = "2m"
  }
  max_concurrency = 8
  retry {
    max_attempts = 4
    base_delay   = "100ms"
    max_delay    = "2s"
  }
}
connection "crm" {
  base_url      = "https://crm.example.com/api/v2"
  allowed_hosts = ["cdn.example.com"]
  api_key {
    header = "X-API-Key"
    value  = "k"
  }
}
connection "local" {
  base_url = "http://127.0.0.1:9999"
}
`))
	if err != nil {
		t.Fatal(err)
	}
	g := c.Connections["genesys"]
	if g.BaseURL.String() != "https://api.mypurecloud.ie" || g.OAuth2.TokenURL != "https://login.mypurecloud.ie/oauth/token" ||
		g.OAuth2.ClientSecret != "s3cret" || g.OAuth2.ExpiryBuffer != 2*time.Minute || g.MaxConcurrency != 8 ||
		g.Retry != (Retry{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second}) || !g.HasCredential() {
		t.Errorf("genesys: %+v %+v", g, g.OAuth2)
	}
	crm := c.Connections["crm"]
	if crm.BaseURL.Path != "/api/v2" || crm.APIKey.Header != "X-API-Key" || crm.Retry.MaxAttempts != DefaultMaxAttempts || crm.MaxResponseBytes != DefaultMaxResponseBytes {
		t.Errorf("crm: %+v", crm)
	}
	if l := c.Connections["local"]; l.HasCredential() || l.Circuit.Failures != DefaultCircuitFailures {
		t.Errorf("local: %+v", l)
	}
}

func TestConnectionErrors(t *testing.T) {
	tests := map[string]struct{ src, want string }{
		"plain http":       {`connection "c" { base_url = "http://crm.example.com" }`, "only allowed to loopback"},
		"no base":          {"connection \"c\" {\n}\n", "set base_url or region"},
		"bad region":       {`connection "c" { region = "example.com" }`, "not a Genesys Cloud region"},
		"two credentials":  {"connection \"c\" {\n  base_url = \"https://x.example.com\"\n  api_key {\n    header = \"h\"\n    value = \"v\"\n  }\n  basic {\n    username = \"u\"\n    password = \"p\"\n  }\n}\n", "one credential at most"},
		"token over http":  {"connection \"c\" {\n  base_url = \"https://x.example.com\"\n  oauth2 {\n    token_url = \"http://login.example.com/t\"\n    client_id = \"a\"\n    client_secret = \"b\"\n  }\n}\n", "only allowed to loopback"},
		"query in base":    {`connection "c" { base_url = "https://x.example.com/?a=1" }`, "query"},
		"retry delays":     {"connection \"c\" {\n  base_url = \"https://x.example.com\"\n  retry {\n    base_delay = \"2s\"\n    max_delay = \"1s\"\n  }\n}\n", "below base_delay"},
		"allowed host url": {"connection \"c\" {\n  base_url = \"https://x.example.com\"\n  allowed_hosts = [\"https://y.example.com\"]\n}\n", "not a host name"},
		"unknown key":      {"connection \"c\" {\n  base_url = \"https://x.example.com\"\n  timeout = \"1s\"\n}\n", "t.hcl:3"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("t.hcl", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "t.hcl:") {
				t.Errorf("error %v, want one naming t.hcl and %q", err, tc.want)
			}
		})
	}
}

// TestErrorsRedactEnvironmentValues: a value that came from env() is never
// in an error, however the config misuses it.
func TestErrorsRedactEnvironmentValues(t *testing.T) {
	t.Setenv("SB_TEST_SECRET", "hunter2-very-secret")
	t.Setenv("SB_TEST_URL", "https://admin:hunter3-pass@crm.example.com/api")
	for name, src := range map[string]string{
		"log level":         `log_level = env("SB_TEST_SECRET")`,
		"base_url userinfo": "connection \"crm\" {\n  base_url = env(\"SB_TEST_URL\")\n}\n",
		"sandbox mode":      `sandbox = env("SB_TEST_SECRET")`,
		"a default":         `log_format = env("SB_TEST_UNSET_X", "fallback-secret-value")`,
	} {
		_, err := Parse("t.hcl", []byte(src))
		if err == nil {
			t.Fatalf("%s: Parse succeeded", name)
		}
		for _, secret := range []string{"hunter2", "hunter3", "fallback-secret"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error holds %q: %v", name, secret, err)
			}
		}
		if !strings.Contains(err.Error(), Redacted) || !strings.Contains(err.Error(), "t.hcl:") {
			t.Errorf("%s: %v", name, err)
		}
	}
	c, err := Parse("t.hcl", []byte(`log_level = env("SB_TEST_LEVEL", "info")`))
	if err != nil || len(c.Secrets()) != 1 {
		t.Errorf("Secrets: %v %v", c, err)
	}
}
