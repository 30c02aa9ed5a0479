package app_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/catalog"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/sandbox"
)

// loadWith loads a host over the test plugins on a machine that can do
// only what caps says, and returns its plugins and its log.
func loadWith(t *testing.T, caps sandbox.Capabilities, mutate func(*config.Config)) (map[string]catalog.PluginView, string) {
	t.Helper()
	h := startHost(t, withOptions(app.Options{Capabilities: &caps}), withConfig(mutate), withLogs(hclog.Warn, false))
	views := map[string]catalog.PluginView{}
	for _, v := range h.Plugins.Plugins() {
		views[v.Name] = v
	}
	return views, h.logs.String()
}

func procStatus(t *testing.T, pid int, field string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestSandboxModesOnAMachineThatLacksFeatures injects a machine with
// Landlock ABI 3 (no TCP rules, no scopes) and no seccomp: require refuses
// the plugins and names what is missing; best_effort starts them with the
// rest and says what is missing; a plugin block overrides the mode.
func TestSandboxModesOnAMachineThatLacksFeatures(t *testing.T) {
	t.Parallel()
	old := sandbox.Capabilities{Launcher: launcher, LandlockABI: 3, Seccomp: false}
	missing := []string{"landlock_tcp: this kernel's Landlock ABI is 3; it needs 4", "landlock_scope: this kernel's Landlock ABI is 3; it needs 6", "seccomp: "}

	t.Run("require", func(t *testing.T) {
		t.Parallel()
		views, _ := loadWith(t, old, func(c *config.Config) { c.Sandbox = sandbox.Require })
		for name, v := range views {
			if v.State != catalog.StateRefused || v.PID != 0 {
				t.Errorf("%s: %s, want refused", name, v.State)
			}
			for _, m := range missing {
				if !strings.Contains(v.Error, m) {
					t.Errorf("%s: the refusal %q does not name %q", name, v.Error, m)
				}
			}
		}
	})
	t.Run("best_effort", func(t *testing.T) {
		t.Parallel()
		views, logs := loadWith(t, old, func(c *config.Config) {})
		echo := views["echo"]
		if echo.State != catalog.StateServing || echo.Sandbox == nil {
			t.Fatalf("echo: %+v", echo)
		}
		if got := strings.Join(echo.Sandbox.Missing, "|"); !strings.Contains(got, missing[0]) || !strings.Contains(got, missing[1]) || !strings.Contains(got, missing[2]) {
			t.Errorf("missing: %q", echo.Sandbox.Missing)
		}
		if got := strings.Join(echo.Sandbox.Applied, ","); got != "no_new_privs,fds_closed,rlimits,landlock_fs" {
			t.Errorf("applied: %s", got)
		}
		if !strings.Contains(logs, "plugin sandbox incomplete") || !strings.Contains(logs, "landlock_tcp") {
			t.Errorf("the log does not say what is missing:\n%s", logs)
		}
		// What was planned is what the process has: no seccomp filter.
		if s := procStatus(t, echo.PID, "Seccomp"); s != "0" {
			t.Errorf("Seccomp: %s, want 0 (the machine was said to have none)", s)
		}
		if s := procStatus(t, echo.PID, "NoNewPrivs"); s != "1" {
			t.Errorf("NoNewPrivs: %s", s)
		}
	})
	t.Run("a plugin block overrides the mode", func(t *testing.T) {
		t.Parallel()
		views, _ := loadWith(t, old, func(c *config.Config) {
			p := config.DefaultPlugin()
			p.Sandbox = sandbox.Require
			c.Plugins["echo"] = p
		})
		if views["echo"].State != catalog.StateRefused || views["genesys-users"].State != catalog.StateServing {
			t.Errorf("echo %s (want refused), genesys-users %s (want serving)", views["echo"].State, views["genesys-users"].State)
		}
	})
	t.Run("no launcher", func(t *testing.T) {
		t.Parallel()
		views, _ := loadWith(t, sandbox.Capabilities{LandlockABI: 7, Seccomp: true}, func(c *config.Config) { c.Sandbox = sandbox.Require })
		if v := views["echo"]; v.State != catalog.StateRefused || !strings.Contains(v.Error, "no sandbox launcher") {
			t.Errorf("echo: %+v", v)
		}
	})
	t.Run("the launcher refuses what the kernel lacks", func(t *testing.T) {
		t.Parallel()
		claims := sandbox.Probe(launcher)
		claims.LandlockABI = 99 // more than any kernel offers: the launcher must fail, and say why
		views, _ := loadWith(t, claims, func(c *config.Config) {})
		if v := views["echo"]; v.State != catalog.StateRefused || !strings.Contains(v.Error, "switchboard-sandbox: landlock:") {
			t.Errorf("echo: %+v", v)
		}
	})
	t.Run("the full sandbox by default", func(t *testing.T) {
		t.Parallel()
		views, _ := loadWith(t, sandbox.Probe(launcher), func(c *config.Config) {})
		v := views["echo"]
		if v.State != catalog.StateServing || len(v.Sandbox.Missing) > 0 {
			t.Fatalf("echo: %+v", v)
		}
		if s := procStatus(t, v.PID, "Seccomp"); s != "2" {
			t.Errorf("Seccomp: %s, want 2 (filter)", s)
		}
		if os.Geteuid() == 0 && procStatus(t, v.PID, "Uid") == "0\t0\t0\t0" {
			t.Error("the plugin runs as root")
		}
	})
}
