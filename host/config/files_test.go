package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileReadsMountedSecrets: file() reads a secret as Kubernetes and
// systemd mount them (with a trailing newline, trimmed), relative to the
// config file; its value is redacted from errors like env()'s; a missing
// file is an error naming the path, and a file that is no text is refused.
func TestFileReadsMountedSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "secrets"), 0o700)
	os.WriteFile(filepath.Join(dir, "secrets", "client-secret"), []byte("s3cret-from-a-file\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "secrets", "crlf"), []byte("windows-line-0123456789\r\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "secrets", "binary"), []byte{0xff, 0xfe, 0}, 0o600)
	cfgPath := filepath.Join(dir, "switchboard.hcl")
	write := func(src string) (*Config, error) {
		if err := os.WriteFile(cfgPath, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(cfgPath)
	}

	c, err := write(`inbound {
  api_key {
    keys = [file("secrets/client-secret"), file("` + filepath.Join(dir, "secrets", "crlf") + `")]
  }
}
`)
	if err != nil {
		t.Fatal(err)
	}
	if k := c.Inbound.APIKey.Keys; len(k) != 2 || k[0] != "s3cret-from-a-file" || k[1] != "windows-line-0123456789" {
		t.Errorf("keys %q", k)
	}
	if len(c.Secrets()) != 2 {
		t.Errorf("secrets %d, want 2: a file's value is redacted from logs", len(c.Secrets()))
	}

	_, err = write(`log_level = file("secrets/client-secret")`)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), Redacted) {
		t.Errorf("a bad value from a file: %v", err)
	}
	_, err = write(`log_level = file("secrets/none")`)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "secrets", "none")) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing file: %v", err)
	}
	if _, err = write(`log_level = file("secrets/binary")`); err == nil || !strings.Contains(err.Error(), "not UTF-8") {
		t.Errorf("a binary file: %v", err)
	}
}

// TestRelativePathsFollowTheConfigFile: a relative path in the config file
// means the same file whatever the host's working directory.
func TestRelativePathsFollowTheConfigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "etc", "switchboard.hcl")
	os.MkdirAll(filepath.Dir(cfgPath), 0o755)
	os.WriteFile(cfgPath, []byte(`plugin_dir       = "plugins"
sandbox_launcher = "../bin/switchboard-sandbox"
tls {
  cert_file = "tls/cert.pem"
  key_file  = "/abs/key.pem"
}
audit {
  path = "../log/audit.log"
}
`), 0o600)
	c, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	etc := filepath.Dir(cfgPath)
	for what, got := range map[string][2]string{
		"plugin_dir":       {c.PluginDir, filepath.Join(etc, "plugins")},
		"sandbox_launcher": {c.SandboxLauncher, filepath.Join(dir, "bin", "switchboard-sandbox")},
		"cert_file":        {c.TLS.CertFile, filepath.Join(etc, "tls", "cert.pem")},
		"key_file":         {c.TLS.KeyFile, "/abs/key.pem"},
		"audit path":       {c.Audit.Path, filepath.Join(dir, "log", "audit.log")},
	} {
		if got[0] != got[1] {
			t.Errorf("%s = %q, want %q", what, got[0], got[1])
		}
	}
	// Without a plugin_dir in the file the default stays as it was, and
	// standard output stays standard output.
	os.WriteFile(cfgPath, []byte("audit {\n  path = \"-\"\n}\n"), 0o600)
	if c, err := Load(cfgPath); err != nil || c.PluginDir != DefaultPluginDir || c.Audit.Path != "-" {
		t.Errorf("defaults: %+v %v", c, err)
	}
}
