package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsCountWhatTheyAreTold: each observer call moves its series,
// the circuit gauge is one-hot per connection and plugin, the plugin
// collector reads its views at each scrape, and every family passes
// Prometheus's own lint.
func TestMetricsCountWhatTheyAreTold(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	views := []PluginState{{Name: "echo", State: "serving", Restarts: 2}}
	if err := reg.Register(NewPluginStates(func() []PluginState { return views }, "serving", "failed")); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(NewHost(func() bool { return true }, func() map[string]time.Duration { return map[string]time.Duration{"echo": 8 * time.Second} })); err != nil {
		t.Fatal(err)
	}
	m.Request("echo", 200, "ok", 3*time.Millisecond)
	m.Request("echo", 200, "ok", time.Second)
	m.Request("", 401, "unauthorized", time.Millisecond)
	m.InFlight(1)
	m.ValidationFailed("echo", "input")
	m.AuditFailure()
	m.AuthFailure("/actions/{name}", "rejected")
	o := m.Outbound()
	o.Request("genesys", 200, 1, 20*time.Millisecond)
	o.Attempt("genesys", 503, 5*time.Millisecond)
	o.Retry("genesys")
	o.TokenRefresh("genesys", nil)
	o.TokenRefresh("genesys", errors.New("refused"))
	o.CircuitState("genesys", "users", "closed")
	o.CircuitState("genesys", "users", "open")

	want := `
# HELP switchboard_requests_total Inbound requests by action, HTTP status and code ("ok" for success). Action is empty when the request named no known action.
# TYPE switchboard_requests_total counter
switchboard_requests_total{action="",code="unauthorized",status="401"} 1
switchboard_requests_total{action="echo",code="ok",status="200"} 2
# HELP switchboard_outbound_circuit_state 1 for the current state (closed, open, half-open) of each plugin's circuit breaker on each connection.
# TYPE switchboard_outbound_circuit_state gauge
switchboard_outbound_circuit_state{connection="genesys",plugin="users",state="closed"} 0
switchboard_outbound_circuit_state{connection="genesys",plugin="users",state="open"} 1
# HELP switchboard_oauth_token_requests_total OAuth token requests by connection and result (ok, error).
# TYPE switchboard_oauth_token_requests_total counter
switchboard_oauth_token_requests_total{connection="genesys",result="error"} 1
switchboard_oauth_token_requests_total{connection="genesys",result="ok"} 1
# HELP switchboard_plugin_state 1 for each plugin's current state (starting, serving, restarting, failed, refused).
# TYPE switchboard_plugin_state gauge
switchboard_plugin_state{plugin="echo",state="failed"} 0
switchboard_plugin_state{plugin="echo",state="serving"} 1
# HELP switchboard_ready 1 while the host answers GET /readyz with 200, else 0 (starting, a pinned plugin not serving, shutting down).
# TYPE switchboard_ready gauge
switchboard_ready 1
# HELP switchboard_action_timeout_seconds Each action's time budget.
# TYPE switchboard_action_timeout_seconds gauge
switchboard_action_timeout_seconds{action="echo"} 8
# HELP switchboard_plugin_restarts_total Restarts of each plugin after it exited or stopped answering.
# TYPE switchboard_plugin_restarts_total counter
switchboard_plugin_restarts_total{plugin="echo"} 2
`
	names := []string{"switchboard_requests_total", "switchboard_outbound_circuit_state", "switchboard_oauth_token_requests_total", "switchboard_plugin_state", "switchboard_plugin_restarts_total", "switchboard_ready", "switchboard_action_timeout_seconds"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	samples := map[string]float64{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "switchboard_") {
			t.Errorf("metric %s does not start with switchboard_", f.GetName())
		}
		for _, m := range f.GetMetric() {
			samples[f.GetName()] += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	for name, n := range map[string]float64{
		"switchboard_request_duration_seconds": 3, "switchboard_requests_in_flight": 1, "switchboard_validation_failures_total": 1,
		"switchboard_audit_write_failures_total": 1, "switchboard_auth_failures_total": 1, "switchboard_outbound_requests_total": 1,
		"switchboard_outbound_attempts_total": 1, "switchboard_outbound_retries_total": 1, "switchboard_outbound_request_duration_seconds": 1,
		"switchboard_outbound_attempt_duration_seconds": 1,
	} {
		if samples[name] != n {
			t.Errorf("%s: %v, want %v", name, samples[name], n)
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "switchboard_go_") || strings.HasPrefix(p.Metric, "switchboard_process_") {
			continue // the runtime collectors' own names
		}
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
