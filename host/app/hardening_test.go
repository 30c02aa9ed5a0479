package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/telemetry"
)

// TestAuditPathsHoldNoInputValue: the audit log writes a downstream path as
// the plugin's template, or with every segment that is not base_url's
// replaced; plain-word values (Z-9, ZZ, smith) and the query never appear.
func TestAuditPathsHoldNoInputValue(t *testing.T) {
	t.Parallel()
	o := startObservedHost(t, nil, app.Options{})
	calls := map[string]struct {
		body, want string
	}{
		"a-1": {`{"connection":"genesys","url":"/orders/Z-9"}`, "/{}/{}"},
		"a-2": {`{"connection":"genesys","url":"/orders/ZZ?email=smith%40example.com"}`, "/{}/{}"},
		"a-3": {`{"connection":"genesys","url":"/orders/smith"}`, "/{}/{}"},
		"a-4": {`{"connection":"genesys","url":"/orders/{id}","arg":"Z-9"}`, "/orders/{id}"},
		"a-5": {`{"connection":"genesys","url":"/orders/{id}?q=smith","arg":"smith"}`, "/orders/{id}"},
	}
	for id, c := range calls {
		if a := o.send(t, "POST", "/actions/callOut", c.body, id, true); a.status != 200 {
			t.Fatalf("%s: %d %s", id, a.status, a.body)
		}
	}
	records := readAudit(t, o.auditPath)
	for id, c := range calls {
		recs := records[id]
		if len(recs) != 1 || len(recs[0].Outbound) != 1 || recs[0].Outbound[0].Path != c.want {
			t.Errorf("%s: outbound %+v, want path %s", id, recs[0].Outbound, c.want)
		}
	}
	raw, _ := os.ReadFile(o.auditPath)
	for _, value := range []string{"Z-9", "ZZ", "smith", "email", "q="} {
		if bytes.Contains(raw, []byte(value)) {
			t.Errorf("the audit log holds %q", value)
		}
	}
}

// TestInputsAPluginWouldReadDifferentlyAreRefused: keys equal but for case
// (the SDK's Request.Decode would take the unvalidated one) and numbers
// that panicked the schema library get a 400, an audit record and a metric.
func TestInputsAPluginWouldReadDifferentlyAreRefused(t *testing.T) {
	t.Parallel()
	o := startObservedHost(t, nil, app.Options{})
	fifty := `{"ms":1,"x":[` + strings.TrimSuffix(strings.Repeat("1e999999,", 50), ",") + `]}`
	tests := map[string]struct {
		action, body, want string
	}{
		"case": {"lookup", `{"user":{"id":"u-1"},"userId":"ok","USERID":"admin"}`, "differ only in case"},
		"dup":  {"echo", `{"message":"ok","message":"evil"}`, "appears twice"},
		"huge": {"slow", `{"ms": 1e1000001}`, "exponent beyond"},
		"many": {"slow", fifty, "exponent beyond"},
	}
	for id, tc := range tests {
		a := o.send(t, "POST", "/actions/"+tc.action, tc.body, id, true)
		if a.status != 400 || !strings.Contains(string(a.body), `"code":"invalid_json"`) || !strings.Contains(string(a.body), tc.want) {
			t.Errorf("%s: %d %s", id, a.status, a.body)
		}
	}
	records := readAudit(t, o.auditPath)
	for id := range tests {
		if recs := records[id]; len(recs) != 1 || recs[0].Status != 400 || recs[0].Code != "invalid_json" {
			t.Errorf("%s: audit %+v", id, recs)
		}
	}
}

// TestOutputFailuresNameNoValue: the output breaks its schema's "format";
// neither the caller's body nor the host's log quotes the value.
func TestOutputFailuresNameNoValue(t *testing.T) {
	t.Parallel()
	o := startObservedHost(t, nil, app.Options{})
	a := o.send(t, "POST", "/actions/badEmail", `{}`, "bad-email", true)
	if a.status != 502 || !strings.Contains(string(a.body), `"keyword":"format"`) || !strings.Contains(string(a.body), `"location":"/email"`) {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if strings.Contains(string(a.body), "jane") {
		t.Errorf("the answer quotes the output: %s", a.body)
	}
	if logs := o.logs.String(); !strings.Contains(logs, "bad-email") || strings.Contains(logs, "jane") {
		t.Errorf("the log quotes the output, or says nothing of the request:\n%s", grep([]byte(logs), "jane"))
	}
}

// TestPluginLogLinesCannotForgeHostLines: a value a plugin logs, with a
// newline and what would be a host log line after it, stays on one line.
func TestPluginLogLinesCannotForgeHostLines(t *testing.T) {
	t.Parallel()
	logs := &syncWriter{w: &bytes.Buffer{}}
	logger := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info, Name: "switchboard"})
	_, srv := startHostWithLogger(t, logger, nil)
	forged := "2026-12-02T10:00:00.000Z [ERROR] switchboard: forged: admin logged in"
	body, _ := json.Marshal(map[string]string{"value": "x\n" + forged + "\r\n\x1b[2J"})
	if a := post(t, srv.URL+"/actions/logInput", string(body)); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var found bool
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "2026-12-02T10:00:00.000Z") || strings.Contains(line, "\x1b") {
			t.Errorf("a forged log line: %q", line)
		}
		if strings.Contains(line, "the caller sent:") {
			found = true
			if !strings.Contains(line, `\n2026-12-02T10:00:00.000Z [ERROR]`) {
				t.Errorf("the value was not kept, escaped, on its line: %q", line)
			}
		}
	}
	if !found {
		t.Errorf("the plugin's line is not in the host's log:\n%s", logs)
	}
}

// TestUnauthenticatedTraceparentIsNotContinued: a caller that did not
// authenticate cannot put the host's spans into a trace of its choosing.
func TestUnauthenticatedTraceparentIsNotContinued(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	o := startObservedHost(t, nil, app.Options{Tracing: telemetry.FromExporter(exp, 1, "switchboard-test", "test")})
	const trace = "0af7651916cd43dd8448eb211c80319c"
	a := do(t, "POST", o.srv.URL+"/actions/echo", "application/json", []byte(`{"message":"x"}`),
		map[string]string{"Traceparent": "00-" + trace + "-b7ad6b7169203331-01"})
	if a.status != 401 {
		t.Fatalf("%d", a.status)
	}
	o.host.Tracing.Flush(context.Background())
	spans := exp.GetSpans()
	if len(spans) == 0 {
		t.Fatal("no span")
	}
	for _, s := range spans {
		if s.SpanContext.TraceID().String() == trace || s.Parent.IsValid() {
			t.Errorf("span %q continues the unauthenticated caller's trace", s.Name)
		}
	}
}

// TestCrossSiteRequestsAreRefused: a page of another site cannot make a
// browser restart a plugin, nor call an action of a --dev host; Genesys
// Cloud's server-to-server calls, which send neither Origin nor
// Sec-Fetch-Site, are served.
func TestCrossSiteRequestsAreRefused(t *testing.T) {
	t.Parallel()
	host, srv := startHost(t, nil) // no inbound auth, as --dev
	before, _ := host.Plugins.Plugin("echo")
	forms := []map[string]string{
		{"Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site", "Origin": "https://sub.example.com"},
	}
	for _, h := range forms {
		if a := do(t, "POST", srv.URL+"/admin/plugins/echo/reload", "application/x-www-form-urlencoded", nil, h); a.status != 403 {
			t.Errorf("cross-site reload with %v: %d %s", h, a.status, a.body)
		}
		if a := do(t, "POST", srv.URL+"/actions/echo", "text/plain", []byte(`{"message":"x"}`), h); a.status != 403 || !strings.Contains(string(a.body), "cross_origin_refused") {
			t.Errorf("cross-site action call with %v: %d %s", h, a.status, a.body)
		}
	}
	// Without a JSON content type an admin POST is refused even from no browser.
	if a := do(t, "POST", srv.URL+"/admin/plugins/echo/reload", "application/x-www-form-urlencoded", nil, nil); a.status != 415 {
		t.Errorf("form reload: %d %s", a.status, a.body)
	}
	if after, _ := host.Plugins.Plugin("echo"); after.PID != before.PID {
		t.Fatalf("a refused request restarted the plugin (%d → %d)", before.PID, after.PID)
	}
	if a := do(t, "POST", srv.URL+"/actions/echo", "application/json", []byte(`{"message":"x"}`), map[string]string{"Sec-Fetch-Site": "same-origin"}); a.status != 200 {
		t.Errorf("same-origin action call: %d %s", a.status, a.body)
	}
	if a := do(t, "POST", srv.URL+"/admin/plugins/echo/reload", "application/json", nil, nil); a.status != 200 {
		t.Errorf("a JSON reload from a program: %d %s", a.status, a.body)
	}
}

// TestRepeatedAuthFailuresAreThrottled: after ten failures from one address
// its requests get 429 with Retry-After, even with the right credentials;
// the token endpoint is throttled too.
func TestRepeatedAuthFailuresAreThrottled(t *testing.T) {
	t.Parallel()
	o := startObservedHost(t, func(c *config.Config) {
		c.Inbound.OAuth = &config.InboundOAuth{ClientID: "genesys", ClientSecret: "oauth-secret-0123456789", TokenTTL: 3600e9}
	}, app.Options{})
	for i := 0; i < 10; i++ {
		if a := o.send(t, "POST", "/actions/echo", `{"message":"x"}`, "guess", false); a.status != 401 {
			t.Fatalf("failure %d: %d", i, a.status)
		}
	}
	a := o.send(t, "POST", "/actions/echo", `{"message":"x"}`, "right", true)
	if a.status != 429 || a.header.Get("Retry-After") == "" || !strings.Contains(string(a.body), "too_many_auth_failures") {
		t.Errorf("after ten failures, the right credentials: %d %v %s", a.status, a.header, a.body)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"genesys"}, "client_secret": {"oauth-secret-0123456789"}}.Encode()
	if a := do(t, "POST", o.srv.URL+"/oauth/token", "application/x-www-form-urlencoded", []byte(form), nil); a.status != 429 {
		t.Errorf("the token endpoint while throttled: %d %s", a.status, a.body)
	}
	if a := o.send(t, "GET", "/metrics", "", "scrape", true); a.status != 429 {
		t.Errorf("/metrics while throttled: %d", a.status)
	}
}

// TestDeclaredVersionsAreShown: Version("1.0.0") on an action reaches the
// admin API and the audit log.
func TestDeclaredVersionsAreShown(t *testing.T) {
	t.Parallel()
	o := startObservedHost(t, nil, app.Options{})
	if a := o.send(t, "POST", "/actions/echo", `{"message":"x"}`, "v-1", true); a.status != 200 {
		t.Fatal(a.status)
	}
	a := o.send(t, "GET", "/admin/plugins", "", "v-2", true)
	if !regexp.MustCompile(`"actionVersions": \{\s*"echo": "1.0.0"`).Match(a.body) {
		t.Errorf("/admin/plugins: %s", a.body)
	}
	if p := readAudit(t, o.auditPath)["v-1"][0].Plugin; p == nil || p.Version != "1.0.0" {
		t.Errorf("audit plugin: %+v", p)
	}
}

// TestPathsCannotEscapeBaseURL: with base_url …/api/v2, a plugin's path
// that climbs out of it is refused before anything leaves the host.
func TestPathsCannotEscapeBaseURL(t *testing.T) {
	t.Parallel()
	o := startObservedHost(t, func(c *config.Config) {
		base, _ := url.Parse(c.Connections["genesys"].BaseURL.String() + "/api/v2")
		c.Connections["genesys"].BaseURL = base
	}, app.Options{})
	before := o.sim.hits.Load()
	for _, p := range []string{"../../admin", "/../../admin", "%2e%2e/%2e%2e/admin", o.sim.URL + "/admin", "users/..%2F..%2Fadmin"} {
		body, _ := json.Marshal(map[string]string{"connection": "genesys", "url": p})
		a := o.send(t, "POST", "/actions/callOut", string(body), "escape", true)
		if a.status != 403 || !strings.Contains(string(a.body), "outbound_refused") {
			t.Errorf("%s: %d %s", p, a.status, a.body)
		}
	}
	if after := o.sim.hits.Load(); after != before {
		t.Errorf("%d requests reached the downstream", after-before)
	}
	body, _ := json.Marshal(map[string]string{"connection": "genesys", "url": "users/{id}", "arg": "x"})
	if a := o.send(t, "POST", "/actions/callOut", string(body), "inside", true); a.status != 200 || !strings.Contains(string(a.body), `"status":404`) {
		t.Errorf("a path under base_url: %d %s", a.status, a.body)
	}
}
