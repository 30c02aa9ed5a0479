package config

import (
	"slices"
	"strings"
	"testing"
)

func TestSettingsRedactDiffAndRefuseFixedKeys(t *testing.T) {
	t.Setenv("SB_VIEW_KEY", "an-env-key-0123456789")
	parse := func(src string) Settings {
		t.Helper()
		c, err := Parse("t.hcl", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return c.Settings()
	}
	base := `listen = ":8080"
inbound {
  api_key {
    keys = [env("SB_VIEW_KEY"), "a-literal-key-0123456789"]
  }
}
connection "crm" {
  base_url = "https://crm.example.com/api"
  api_key {
    header = "X-Key"
    value  = "crm-secret-0123456789"
  }
}
action "lookup" {
  timeout = "5s"
}
`
	old := parse(base)
	red := old.Redacted()
	for k, want := range map[string]string{
		"listen": ":8080", "inbound.api_key.keys[0]": "(redacted)", "inbound.api_key.keys[1]": "(redacted)",
		"connections.crm.base_url": "https://crm.example.com/api", "connections.crm.api_key.value": "(redacted)",
		"connections.crm.api_key.header": "X-Key", "actions.lookup.timeout": "5s", "read_timeout": "30s",
	} {
		if red[k] != want {
			t.Errorf("%s = %q, want %q", k, red[k], want)
		}
	}
	for k, v := range red {
		if strings.Contains(v, "0123456789") {
			t.Errorf("%s shows a secret: %q", k, v)
		}
	}

	rotated := parse(strings.Replace(strings.Replace(base, "crm-secret-0123456789", "crm-secret-9876543210", 1), `"5s"`, `"7s"`, 1))
	changes := Diff(old, rotated)
	var lines []string
	for _, c := range changes {
		lines = append(lines, c.String())
	}
	want := []string{"~ actions.lookup.timeout: 5s -> 7s", "~ connections.crm.api_key.value: (redacted) -> (redacted)"}
	if !slices.Equal(lines, want) {
		t.Errorf("diff %q, want %q", lines, want)
	}
	if old.Digest() == rotated.Digest() || old.Digest() != parse(base).Digest() {
		t.Error("the digest does not follow the settings")
	}
	if fixed := FixedChanges(old, rotated, changes); len(fixed) != 0 {
		t.Errorf("live changes called fixed: %v", fixed)
	}

	moved := parse(strings.Replace(base, `":8080"`, `":9090"`, 1) + "tls {\n  cert_file = \"c.pem\"\n  key_file = \"k.pem\"\n}\naudit {\n  path = \"-\"\n}\n")
	if fixed := FixedChanges(old, moved, Diff(old, moved)); !slices.Equal(fixed, []string{"audit", "listen", "tls"}) {
		t.Errorf("fixed %v, want audit, listen, tls", fixed)
	}
}
