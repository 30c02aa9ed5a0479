// Package prometheus_test checks the alert rules (deploy/prometheus) and the
// dashboard (deploy/grafana): promtool checks and unit-tests the rules, and
// every switchboard_ metric either queries is one the host exposes.
package prometheus_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-dev/switchboard/host/metrics"
)

func TestRulesPassPromtool(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Skip("promtool is not installed (Debian: apt-get install prometheus)")
	}
	for _, args := range [][]string{{"check", "rules", "switchboard-rules.yml"}, {"test", "rules", "switchboard-rules_test.yml"}} {
		if out, err := exec.Command("promtool", args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// exposed are the names of every metric family the host registers.
func exposed(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(metrics.NewPluginStates(func() []metrics.PluginState { return []metrics.PluginState{{Name: "p", State: "serving"}} }, "serving"))
	reg.MustRegister(metrics.NewHost(func() bool { return true }, func() map[string]time.Duration { return map[string]time.Duration{"a": time.Second} }))
	// Vectors appear once they have a series.
	m.Request("a", 200, "ok", time.Millisecond)
	m.ValidationFailed("a", "input")
	m.AuthFailure("/actions/{name}", "rejected")
	o := m.Outbound()
	o.Request("c", 200, 1, time.Millisecond)
	o.Attempt("c", 200, time.Millisecond)
	o.Retry("c")
	o.TokenRefresh("c", nil)
	o.CircuitState("c", "p", "closed")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	return names
}

var metricName = regexp.MustCompile(`\bswitchboard_[a-z_]+`)

// queried returns the switchboard_ metrics an expression names, without
// the suffixes of a histogram's series.
func queried(expr string) []string {
	var out []string
	for _, n := range metricName.FindAllString(expr, -1) {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			n = strings.TrimSuffix(n, suffix)
		}
		out = append(out, n)
	}
	return out
}

func TestRulesAndDashboardQueryWhatTheHostExposes(t *testing.T) {
	names := exposed(t)
	rules, err := os.ReadFile("switchboard-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	raw, err := os.ReadFile("../grafana/switchboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	exprs := map[string]string{"rules": string(rules)}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			exprs["panel "+p.Title] += tg.Expr + "\n"
		}
	}
	seen := 0
	for where, expr := range exprs {
		for _, n := range queried(expr) {
			seen++
			if !names[n] {
				t.Errorf("%s queries %s, which the host does not expose", where, n)
			}
		}
	}
	if seen < 20 {
		t.Errorf("only %d metric references found: the check looked at nothing", seen)
	}
}
