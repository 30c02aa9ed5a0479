package registry

import (
	"strings"
	"testing"
	"time"
)

// TestBudget: the config's timeout wins over the plugin's, which wins over
// the host's default; none exceeds Genesys Cloud's 60 s.
func TestBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		plugin, config, def, want time.Duration
	}{
		{0, 0, 0, 10 * time.Second},
		{0, 0, 3 * time.Second, 3 * time.Second},
		{2 * time.Second, 0, 3 * time.Second, 2 * time.Second},
		{2 * time.Second, 5 * time.Second, 3 * time.Second, 5 * time.Second},
		{0, 90 * time.Second, 0, MaxTimeout},
	} {
		a, err := NewAction(Description{Name: "a", Timeout: tc.plugin}, Plugin{Name: "p"}, nil, Overrides{Timeout: tc.config}, Options{DefaultTimeout: tc.def})
		if err != nil {
			t.Fatal(err)
		}
		if a.Timeout != tc.want {
			t.Errorf("plugin %v, config %v, default %v: budget %v, want %v", tc.plugin, tc.config, tc.def, a.Timeout, tc.want)
		}
	}
}

// TestNewActionRefusesWhatCannotBeServed, naming the action, its plugin and
// every problem at once.
func TestNewActionRefusesWhatCannotBeServed(t *testing.T) {
	t.Parallel()
	_, err := NewAction(Description{
		Name:         "a",
		Timeout:      2 * time.Minute,
		InputSchema:  []byte(`{"type":`),
		OutputSchema: []byte(`{"type":"object","properties":{"ok":{"type":"boolean"}}}`),
	}, Plugin{Name: "p"}, nil, Overrides{ErrorsAsData: true, AuditHMAC: []string{"no-slash"}}, Options{})
	if err == nil {
		t.Fatal("NewAction accepted it")
	}
	for _, want := range []string{`action "a" of plugin "p"`, "timeout 2m0s: must be at most 1m0s", "input schema", `already declares "ok"`, "audit_hmac"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v: does not say %q", err, want)
		}
	}
}

func TestSnapshotRefusesTwoActionsOfOneName(t *testing.T) {
	t.Parallel()
	a, _ := NewAction(Description{Name: "a"}, Plugin{Name: "p"}, nil, Overrides{}, Options{})
	b, _ := NewAction(Description{Name: "a"}, Plugin{Name: "q"}, nil, Overrides{}, Options{})
	if _, err := NewSnapshot(a, b); err == nil || !strings.Contains(err.Error(), `plugin "p" and plugin "q"`) {
		t.Errorf("NewSnapshot: %v", err)
	}
}
