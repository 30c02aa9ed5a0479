package registry

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/cache"
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

// TestCachePolicy: a secure action is cached only when the config allows
// it; the contract digest follows the schemas, the version and the errors
// mode, and nothing else.
func TestCachePolicy(t *testing.T) {
	p := &cache.Policy{TTL: time.Minute}
	desc := Description{Name: "lookup", InputSchema: []byte(`{"type":"object"}`)}
	build := func(d Description, ov Overrides) *Action {
		t.Helper()
		a, err := NewAction(d, Plugin{Name: "p"}, nil, ov, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := build(desc, Overrides{Cache: p}); a.Cache != p {
		t.Error("the policy was not applied")
	}
	secure := desc
	secure.Secure = true
	if a := build(secure, Overrides{Cache: p}); a.Cache != nil {
		t.Error("a secure action is cached without allow_secure")
	}
	if a := build(secure, Overrides{Cache: p, CacheSecure: true}); a.Cache != p {
		t.Error("allow_secure was not applied")
	}
	base := build(desc, Overrides{}).Contract
	v2 := desc
	v2.Version = "2.0.0"
	schema := desc
	schema.OutputSchema = []byte(`{"type":"object","properties":{"a":{"type":"string"}}}`)
	for name, c := range map[string]string{"version": build(v2, Overrides{}).Contract, "schema": build(schema, Overrides{}).Contract,
		"errors mode": build(desc, Overrides{ErrorsAsData: true}).Contract} {
		if c == base {
			t.Errorf("another %s, the same contract", name)
		}
	}
	if build(desc, Overrides{Timeout: time.Second}).Contract != base {
		t.Error("a budget changed the contract")
	}
}

// TestSuggestedCachePolicy: the plugin's suggestion applies without a
// config policy; the config's replaces it or turns it off; a bad
// suggestion refuses the action.
func TestSuggestedCachePolicy(t *testing.T) {
	desc := Description{Name: "lookup", Cache: &CacheSuggestion{TTL: time.Minute, Key: []string{"/userId"}}}
	a, err := NewAction(desc, Plugin{Name: "p"}, nil, Overrides{}, Options{})
	if err != nil || a.Cache == nil || a.Cache.TTL != time.Minute || len(a.Cache.Key) != 1 {
		t.Fatalf("suggested: %+v %v", a, err)
	}
	mine := &cache.Policy{TTL: time.Hour}
	if a, _ := NewAction(desc, Plugin{Name: "p"}, nil, Overrides{Cache: mine}, Options{}); a.Cache != mine {
		t.Error("the config's policy does not win")
	}
	if a, _ := NewAction(desc, Plugin{Name: "p"}, nil, Overrides{CacheOff: true}, Options{}); a.Cache != nil {
		t.Error("ttl = 0s does not turn the suggestion off")
	}
	bad := desc
	bad.Cache = &CacheSuggestion{TTL: time.Minute, Key: []string{"userId"}}
	if _, err := NewAction(bad, Plugin{Name: "p"}, nil, Overrides{}, Options{}); err == nil {
		t.Error("a bad suggested key was taken")
	}
}
