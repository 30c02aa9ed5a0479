// Package systemd_test checks deploy/systemd/switchboard.service with
// systemd's own tools.
package systemd_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// verify runs systemd-analyze verify on the unit, with ExecStart pointed at
// a binary this machine has (verify checks that it exists), and returns
// what it said.
func verify(t *testing.T, unit []byte) (string, error) {
	t.Helper()
	unit = bytes.ReplaceAll(unit, []byte("/usr/local/bin/switchboard "), []byte("/bin/true "))
	path := filepath.Join(t.TempDir(), "switchboard.service")
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
	return string(out), err
}

// TestUnitIsValidAndConfined: systemd-analyze verify says nothing of the
// unit (an unknown key, which systemd only warns about, fails the test), and
// its offline security assessment rates the exposure at most 3.5 of 10.
func TestUnitIsValidAndConfined(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	unit, err := os.ReadFile("switchboard.service")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := verify(t, unit); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The check can fail: a misspelt key is reported.
	if out, _ := verify(t, bytes.Replace(unit, []byte("ProtectSystem="), []byte("ProtectSystm="), 1)); !strings.Contains(out, "Unknown key") {
		t.Errorf("a misspelt key went unreported: %q", out)
	}
	for _, want := range []string{"User=switchboard", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "ProtectSystem=strict", "StateDirectory=", "LogsDirectory=", "ExecReload="} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "switchboard.service")
	os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/switchboard "), []byte("/bin/true ")), 0o644)
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", path).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for switchboard.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 3.5 {
		t.Errorf("exposure level %v, want at most 3.5", level)
	}
	t.Logf("systemd-analyze security: exposure %s", m[1])
}
