package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// The faults of host/internal/brokenplugin.
var brokenVariants = []string{"contract", "deadline", "errors", "handshake", "nohealth"}

// TestPluginCheck: switchboard plugin check passes the example plugins and
// names the fault of each broken one, exiting 1.
func TestPluginCheck(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"echo", "genesys-users"} {
		out, err := switchboard("plugin", "check", filepath.Join(binDir, p)).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "every check passed") || strings.Contains(string(out), "FAIL") {
			t.Errorf("%s: %v\n%s", p, err, out)
		}
	}
	for v, want := range map[string][]string{
		"contract":  {"FAIL contract nested", "rule input-flat"},
		"deadline":  {"FAIL invoke rawEcho", "ignores its deadline"},
		"errors":    {"FAIL typed error", "not a typed Error"},
		"handshake": {"FAIL handshake and describe", "Plugin version: 7, Client versions: [1]"},
		// By hand it serves neither go-plugin's health nor its controller.
		"nohealth": {"FAIL health", "Unimplemented", "FAIL shutdown", "GRPCController"},
	} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			cmd := switchboard("plugin", "check", filepath.Join(binDir, "broken-"+v))
			out, _ := cmd.CombinedOutput()
			fails := strings.Count("\n"+string(out), "\nFAIL ")
			if cmd.ProcessState.ExitCode() != 1 || fails != strings.Count(strings.Join(want, " "), "FAIL ") {
				t.Errorf("exit %d, %d failed checks, want 1 and only the expected ones:\n%s", cmd.ProcessState.ExitCode(), fails, out)
			}
			for _, w := range want {
				if !strings.Contains(string(out), w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
		})
	}
}
