package app_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/audit"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
	"github.com/switchboard-dev/switchboard/host/internal/testutil"
	"github.com/switchboard-dev/switchboard/host/telemetry"
)

const (
	clientSecret = "canary-client-secret-77aa"
	hmacKey      = "audit-hmac-key-0123456789abcdef"
	inputCanary  = "canary-user-ce7c4800" // an input value: a caller's data
)

// observedHost is a host with inbound Basic auth, an audit file with a
// digest key, the genesys connection on a simulator, and its logs at trace.
func observedHost(t *testing.T, more ...hostOption) *testHost {
	t.Helper()
	return startHost(t, append([]hostOption{
		withSim(sim.Options{ClientSecret: clientSecret}), withAudit(), withBasicAuth(), withLogs(hclog.Trace, true),
		withConfig(func(c *config.Config) {
			c.LogLevel = "trace"
			c.Audit.HMACKey = hmacKey
			c.Actions["fetchUserProfile"] = config.Action{AuditHMAC: []string{"/userId"}}
		}),
	}, more...)...)
}

func TestOneAuditRecordPerRequest(t *testing.T) {
	t.Parallel()
	o := observedHost(t)
	type want struct {
		status int
		code   string
	}
	tests := []struct {
		id, method, path, body string
		auth                   bool
		want                   want
	}{
		{"ok-echo", "POST", "/actions/echo", `{"message":"hi"}`, true, want{200, "ok"}},
		{"ok-user", "POST", "/actions/fetchUserProfile", `{"userId":"` + sim.AgentUserID + `"}`, true, want{200, "ok"}},
		{"no-auth", "POST", "/actions/echo", `{"message":"hi"}`, false, want{401, "unauthorized"}},
		{"no-auth-admin", "GET", "/admin/plugins", ``, false, want{401, "unauthorized"}},
		{"no-auth-metrics", "GET", "/metrics", ``, false, want{401, "unauthorized"}},
		{"unknown-action", "POST", "/actions/nope", `{}`, true, want{404, "action_not_found"}},
		{"bad-json", "POST", "/actions/echo", `{"message":`, true, want{400, "invalid_json"}},
		{"bad-input", "POST", "/actions/echo", `{"message":` + `42}`, true, want{400, "invalid_input"}},
		{"bad-output", "POST", "/actions/badOutput", `{}`, true, want{502, "invalid_output"}},
		{"not-found-user", "POST", "/actions/fetchUserProfile", `{"userId":"` + inputCanary + `"}`, true, want{404, "user_not_found"}},
		{"panic", "POST", "/actions/panic", `{}`, true, want{500, "plugin_panic"}},
		{"wrong-method", "GET", "/actions/echo", ``, true, want{405, "method_not_allowed"}},
		{"no-route", "POST", "/nowhere", `{}`, true, want{404, "not_found"}},
		{"envelope", "POST", "/webhook/data-action", `{"action":"echo","data":{"message":"x"}}`, true, want{200, "ok"}},
		{"admin", "GET", "/admin/plugins", ``, true, want{200, "ok"}},
		{"crash", "POST", "/actions/exit", `{}`, true, want{503, "plugin_unavailable"}},
	}
	for _, tc := range tests {
		if a := o.as(t, tc.method, tc.path, tc.body, tc.id, tc.auth); a.status != tc.want.status {
			t.Fatalf("%s: got %d %s, want %d", tc.id, a.status, a.body, tc.want.status)
		}
	}
	records := testutil.AuditByID(t, o.auditPath)
	// Unauthenticated requests are recorded under ids of the host's; the
	// ids they claimed are kept as claims.
	claimed := map[string]string{} // host id → claimed id
	for id, recs := range records {
		if c := recs[0].Claimed; c != nil && strings.HasPrefix(c.RequestID, "no-auth") {
			if id == c.RequestID {
				t.Errorf("the unauthenticated request's claimed id %q was taken as its id", id)
			}
			claimed[id] = c.RequestID
		}
	}
	for id, as := range claimed {
		records[as] = records[id]
		delete(records, id)
	}
	if len(records) != len(tests) {
		t.Errorf("%d request ids in the audit log, want %d", len(records), len(tests))
	}
	for _, tc := range tests {
		recs := records[tc.id]
		if len(recs) != 1 {
			t.Errorf("%s: %d audit records, want exactly 1", tc.id, len(recs))
			continue
		}
		r := recs[0]
		if r.Status != tc.want.status || r.Code != tc.want.code || r.DurationMS <= 0 || r.Time.IsZero() || r.RemoteAddr == "" {
			t.Errorf("%s: record status %d code %s, want status %d code %s", tc.id, r.Status, r.Code, tc.want.status, tc.want.code)
		}
		if tc.auth && (r.Principal.Method != "basic" || r.Principal.ID != "genesys") {
			t.Errorf("%s: principal %+v", tc.id, r.Principal)
		}
	}
	if p := records["no-auth"][0].Principal; p.Method != "rejected" {
		t.Errorf("an unauthenticated request's principal: %+v", p)
	}
	user := records["ok-user"][0]
	if user.Action != "fetchUserProfile" || user.Plugin == nil || user.Plugin.Name != "genesys-users" || len(user.Plugin.SHA256) != 64 {
		t.Errorf("action and plugin: %+v %+v", user.Action, user.Plugin)
	}
	if len(user.Outbound) != 1 {
		t.Fatalf("outbound calls: %+v", user.Outbound)
	}
	if ob := user.Outbound[0]; ob.Connection != "genesys" || ob.Method != "GET" || ob.Path != "/api/v2/users/{userId}" || ob.Status != 200 || ob.Attempts != 1 || ob.Host == "" {
		t.Errorf("outbound summary: %+v", ob)
	}
	if v := records["bad-input"][0].Validation; len(v) != 1 || v[0] != (audit.Violation{Stage: "input", Location: "/message", Keyword: "type"}) {
		t.Errorf("validation details: %+v", v)
	}
	if v := records["bad-output"][0].Validation; len(v) != 1 || v[0].Stage != "output" || v[0].Location != "/id" {
		t.Errorf("output validation details: %+v", v)
	}
	// The named input field is a keyed digest an investigator can recompute.
	m := hmac.New(sha256.New, []byte(hmacKey))
	m.Write([]byte(inputCanary))
	if got := records["not-found-user"][0].InputHMAC["/userId"]; got != hex.EncodeToString(m.Sum(nil)) {
		t.Errorf("inputHmac /userId = %q, want the HMAC-SHA256 of the value", got)
	}
}

func TestCanariesAppearNowhere(t *testing.T) {
	t.Parallel()
	o := observedHost(t)
	for i, body := range []string{
		`{"userId":"` + sim.AgentUserID + `"}`,
		`{"userId":"` + inputCanary + `"}`,
		`{"userId":"` + inputCanary + `", "extra": 1}`,
	} {
		o.as(t, "POST", "/actions/fetchUserProfile", body, fmt.Sprintf("c-%d", i), true)
	}
	o.as(t, "POST", "/actions/echo", `{"message":"`+inputCanary+`"}`, "c-echo", true)
	o.as(t, "POST", "/actions/echo", `{"message":7, "note":"`+inputCanary+`"}`, "c-bad", true)
	o.as(t, "POST", "/actions/meta", `{}`, "c-meta", true)
	metricsText := o.as(t, "GET", "/metrics", ``, "c-metrics", true).body
	auditText, err := os.ReadFile(o.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	tokens := o.sim.seenTokens()
	if len(tokens) == 0 {
		t.Fatal("no token was used")
	}
	canaries := map[string]string{
		"client secret":  clientSecret,
		"access token":   tokens[0],
		"basic password": basicPassword,
		"input value":    inputCanary,
	}
	for what, canary := range canaries {
		for where, text := range map[string][]byte{"audit log": auditText, "host log": []byte(o.logs.String()), "metrics": metricsText} {
			if bytes.Contains(text, []byte(canary)) {
				t.Errorf("the %s appears in the %s", what, where)
			}
		}
	}
	// Plugin log lines reach the host's log under the plugin's name, with
	// the request id (read from the plugin's stderr, a little later).
	eventually(t, 5*time.Second, "a plugin log line with the request id in the host's log", func() bool {
		for _, line := range strings.Split(o.logs.String(), "\n") {
			if strings.Contains(line, "meta called") && strings.Contains(line, `"request_id":"c-meta"`) && strings.Contains(line, "testplugin") {
				return true
			}
		}
		return false
	})
}

func TestMetricsAgreeWithRequests(t *testing.T) {
	t.Parallel()
	o := observedHost(t)
	for i := 0; i < 7; i++ {
		o.as(t, "POST", "/actions/echo", `{"message":"x"}`, fmt.Sprintf("m-ok-%d", i), true)
	}
	for i := 0; i < 3; i++ {
		o.as(t, "POST", "/actions/echo", `{"message":1}`, fmt.Sprintf("m-bad-%d", i), true)
	}
	o.as(t, "POST", "/actions/echo", `{}`, "m-noauth", false)
	for i := 0; i < 2; i++ {
		o.as(t, "POST", "/actions/fetchUserProfile", `{"userId":"`+sim.AgentUserID+`"}`, fmt.Sprintf("m-u-%d", i), true)
	}
	if a := o.as(t, "GET", "/metrics", ``, "m-scrape-noauth", false); a.status != 401 {
		t.Errorf("/metrics without credentials: %d", a.status)
	}
	a := o.as(t, "GET", "/metrics", ``, "m-scrape", true)
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(a.body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	for name := range families {
		if !strings.HasPrefix(name, "switchboard_") {
			t.Errorf("metric %s does not start with switchboard_", name)
		}
	}
	count := func(family string, labels map[string]string) float64 {
		total := 0.0
		for _, m := range families[family].GetMetric() {
			match := true
			for k, v := range labels {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				match = match && found
			}
			if match {
				total += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
		return total
	}
	checks := []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"switchboard_requests_total", map[string]string{"action": "echo", "status": "200", "code": "ok"}, 7},
		{"switchboard_requests_total", map[string]string{"action": "echo", "status": "400", "code": "invalid_input"}, 3},
		// The unauthenticated action call and the unauthenticated scrape.
		{"switchboard_requests_total", map[string]string{"action": "", "status": "401", "code": "unauthorized"}, 2},
		{"switchboard_auth_failures_total", map[string]string{"route": "/actions/{name}", "result": "rejected"}, 1},
		{"switchboard_auth_failures_total", map[string]string{"route": "/metrics", "result": "rejected"}, 1},
		{"switchboard_requests_total", map[string]string{"action": "fetchUserProfile", "status": "200"}, 2},
		{"switchboard_request_duration_seconds", map[string]string{"action": "echo"}, 10},
		{"switchboard_validation_failures_total", map[string]string{"action": "echo", "stage": "input"}, 3},
		{"switchboard_outbound_requests_total", map[string]string{"connection": "genesys", "status": "200"}, 2},
		{"switchboard_outbound_attempts_total", map[string]string{"connection": "genesys", "status": "200"}, 2},
		{"switchboard_oauth_token_requests_total", map[string]string{"connection": "genesys", "result": "ok"}, 1},
		{"switchboard_outbound_circuit_state", map[string]string{"connection": "genesys", "state": "closed"}, 1},
		{"switchboard_plugin_state", map[string]string{"plugin": "echo", "state": "serving"}, 1},
		{"switchboard_plugin_restarts_total", map[string]string{"plugin": "echo"}, 0},
	}
	for _, c := range checks {
		if got := count(c.family, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.family, c.labels, got, c.want)
		}
	}
	if _, ok := families["switchboard_go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

func TestTracesConnectHostPluginAndDownstream(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tracing := telemetry.FromExporter(exp, 1, "switchboard-test", "test")
	o := observedHost(t, withOptions(app.Options{Tracing: tracing}))
	const genesysTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	h := map[string]string{"Traceparent": "00-" + genesysTrace + "-00f067aa0ba902b7-01"}
	if a := o.send(t, "POST", "/actions/fetchUserProfile", `{"userId":"`+sim.AgentUserID+`"}`, h); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	a := o.send(t, "POST", "/actions/meta", `{}`, h)
	var meta map[string]any
	json.Unmarshal(a.body, &meta)
	o.Tracing.Flush(context.Background())

	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		if s.SpanContext.TraceID().String() != genesysTrace {
			t.Errorf("span %q is not in the caller's trace", s.Name)
		}
		if _, seen := byName[s.Name]; !seen {
			byName[s.Name] = s
		}
	}
	inbound, invoke, out := byName["POST /actions/{name}"], byName["invoke fetchUserProfile"], byName["outbound genesys GET"]
	if !inbound.SpanContext.IsValid() || !invoke.SpanContext.IsValid() || !out.SpanContext.IsValid() {
		t.Fatalf("spans: %v", names(spans))
	}
	if invoke.Parent.SpanID() != inbound.SpanContext.SpanID() || out.Parent.SpanID() != invoke.SpanContext.SpanID() {
		t.Errorf("spans are not connected: inbound %s, invoke %s (parent %s), outbound %s (parent %s)",
			inbound.SpanContext.SpanID(), invoke.SpanContext.SpanID(), invoke.Parent.SpanID(), out.SpanContext.SpanID(), out.Parent.SpanID())
	}
	if downstream := o.sim.seenTraceparents(); len(downstream) == 0 || !strings.Contains(downstream[len(downstream)-1], genesysTrace) {
		t.Errorf("traceparent sent downstream: %v", downstream)
	}
	if tp, _ := meta["traceparent"].(string); !strings.Contains(tp, genesysTrace) {
		t.Errorf("traceparent seen by the plugin: %q", tp)
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
