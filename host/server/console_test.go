package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/switchboard-dev/switchboard/host/audit"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/inbound"
	"github.com/switchboard-dev/switchboard/host/stats"
)

// fakeConsole is the console's back end.
type fakeConsole struct{}

func (fakeConsole) Actions() any {
	return map[string]any{"actions": []map[string]string{{"name": "echo"}}}
}
func (fakeConsole) Connections() any {
	return map[string]any{"connections": []map[string]string{{"name": "genesys"}}}
}

func consoleFixture(t *testing.T) (*fixture, *stats.Stats) {
	st := stats.New(nil)
	return serve(t, func(o *Options) { o.Admin, o.Console, o.Stats = &fakeAdmin{}, fakeConsole{}, st }), st
}

func TestConsolePageHeaders(t *testing.T) {
	f, _ := consoleFixture(t)
	for path, ctype := range map[string]string{
		"/admin/console":             "text/html; charset=utf-8",
		"/admin/console/console.js":  "text/javascript; charset=utf-8",
		"/admin/console/console.css": "text/css; charset=utf-8",
	} {
		a := f.send(t, "GET", path, "", "", nil)
		if a.status != 200 || a.header.Get("Content-Type") != ctype || len(a.body) < 200 {
			t.Errorf("%s: %d %q, %d bytes", path, a.status, a.header.Get("Content-Type"), len(a.body))
		}
		if got := a.header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
			t.Errorf("%s: CSP %q", path, got)
		}
		if a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, a.header)
		}
	}
	page := string(f.send(t, "GET", "/admin/console", "", "", nil).body)
	for _, inline := range []string{"<script>", "style=", "<style", "http://", "https://", "onclick"} {
		if strings.Contains(page, inline) {
			t.Errorf("the page holds %q: the CSP forbids inline code and the console uses no other site", inline)
		}
	}
	js := string(f.send(t, "GET", "/admin/console/console.js", "", "", nil).body)
	for _, bad := range []string{"eval(", "new Function", "innerHTML", "https://", "setAttribute(\"style\""} {
		if strings.Contains(js, bad) {
			t.Errorf("console.js uses %q", bad)
		}
	}
	for _, path := range []string{"/admin/console/other.js", "/admin/console/console.go"} {
		if a := f.send(t, "GET", path, "", "", nil); a.status != 404 || a.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q, want a JSON 404", path, a.status, a.header.Get("Content-Type"))
		}
	}
	if a := f.send(t, "POST", "/admin/console", "application/json", "{}", nil); a.status != 405 {
		t.Errorf("POST /admin/console: %d, want 405", a.status)
	}
}

func TestConsoleTryAndFailures(t *testing.T) {
	f, st := consoleFixture(t)
	a := f.post(t, "/admin/actions/echo/try", `{"input":{"message":"hi"}}`, nil)
	var ans struct {
		RequestID string
		Status    int
		Code      string
		Body      json.RawMessage
		Stages    []struct {
			Name       string
			DurationMS float64 `json:"durationMs"`
			Error      string
		}
	}
	if err := json.Unmarshal(a.body, &ans); a.status != 200 || err != nil {
		t.Fatalf("try: %d %v %s", a.status, err, a.body)
	}
	var names []string
	for _, s := range ans.Stages {
		names = append(names, s.Name)
	}
	var compact bytes.Buffer
	json.Compact(&compact, ans.Body)
	if ans.Status != 200 || ans.Code != "ok" || compact.String() != `{"message":"hi"}` || strings.Join(names, ",") != "decode,validate input,invoke,validate output" {
		t.Fatalf("try echo: status %d code %s body %s stages %v", ans.Status, ans.Code, ans.Body, names)
	}

	// A failure with errors = "data": the body Genesys would get is the 200
	// with ok:false; the run is a failure of the stage that failed.
	a = f.post(t, "/admin/actions/failAsData/try", `{"input":{"typed":true}}`, nil)
	json.Unmarshal(a.body, &ans)
	var body map[string]any
	json.Unmarshal(ans.Body, &body)
	if ans.Status != 200 || ans.Code != "user_not_found" || body["ok"] != false || body["code"] != "user_not_found" {
		t.Fatalf("try failAsData: %s", a.body)
	}
	// An input that breaks the schema: the error body, the stage named.
	a = f.post(t, "/admin/actions/echo/try", `{"input":{"message":5}}`, nil)
	json.Unmarshal(a.body, &ans)
	if ans.Status != 400 || ans.Code != "invalid_input" || ans.Stages[len(ans.Stages)-1].Error == "" {
		t.Fatalf("try with a bad input: %s", a.body)
	}
	if a := f.post(t, "/admin/actions/nope/try", `{"input":{}}`, nil); a.status != 404 {
		t.Errorf("try of an unknown action: %d", a.status)
	}
	if a := f.post(t, "/admin/actions/echo/try", `{"message":"hi"}`, nil); a.status != 400 {
		t.Errorf("try without input: %d", a.status)
	}
	f.post(t, "/actions/fail", `{"typed":false}`, nil) // a failure of Genesys's own route

	failures := st.Failures()
	if len(failures) != 3 {
		t.Fatalf("failures: %+v, want 3", failures)
	}
	if g := failures[0]; g.Action != "fail" || g.Status < 500 || g.Stage != "invoke" || g.Console || g.RequestID == "" {
		t.Errorf("newest failure: %+v", g)
	}
	if g := failures[1]; g.Action != "echo" || g.Status != 400 || g.Code != "invalid_input" || g.Stage != "validate input" || !g.Console {
		t.Errorf("the bad-input try: %+v", g)
	}
	if g := failures[2]; g.Action != "failAsData" || g.Code != "user_not_found" || g.Stage != "invoke" || !g.Console {
		t.Errorf("the failAsData try: %+v", g)
	}
	if s := st.Action("echo"); s.Requests != 2 || s.Errors != 1 {
		t.Errorf("echo's stats: %d requests, %d errors; want 2, 1", s.Requests, s.Errors)
	}
	// GET /admin/failures: the same, and never a value.
	a = f.send(t, "GET", "/admin/failures", "", "", nil)
	if a.status != 200 || !strings.Contains(string(a.body), `"stage": "validate input"`) || strings.Contains(string(a.body), "hunter2") {
		t.Errorf("GET /admin/failures: %d %s", a.status, a.body)
	}
	for _, path := range []string{"/admin/actions", "/admin/connections"} {
		if a := f.send(t, "GET", path, "", "", nil); a.status != 200 || a.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s", path, a.status, a.body)
		}
	}

	// The audit records of the tries: marked, no values.
	f.audit.Close()
	raw, _ := os.ReadFile(f.auditPath)
	tries := 0
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var r audit.Record
		json.Unmarshal([]byte(line), &r)
		if r.Route == tryRoute {
			tries++
			if !r.Console {
				t.Errorf("a try's audit record is not marked: %s", line)
			}
		} else if r.Console {
			t.Errorf("a record marked as a console test: %s", line)
		}
	}
	if tries != 5 || strings.Contains(string(raw), `"hi"`) {
		t.Errorf("%d try records (want 5), or a value in the log: %s", tries, raw)
	}
}

// A page of another site cannot run an action through the console.
func TestConsoleTryRefusesCrossSite(t *testing.T) {
	f, st := consoleFixture(t)
	for _, h := range []struct {
		ctype  string
		header map[string]string
		status int
	}{
		{"application/json", map[string]string{"Origin": "http://127.0.0.1:1"}, 403},
		{"application/json", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"text/plain", nil, 415}, // what a form or a no-cors fetch can send
		{"application/x-www-form-urlencoded", nil, 415},
	} {
		a := f.send(t, "POST", "/admin/actions/echo/try", h.ctype, `{"input":{"message":"x"}}`, h.header)
		if a.status != h.status {
			t.Errorf("%s %v: %d %s, want %d", h.ctype, h.header, a.status, a.body, h.status)
		}
	}
	if s := st.Action("echo"); s.Requests != 0 {
		t.Errorf("a refused try ran the action %d times", s.Requests)
	}
}

// The console is where the admin API is: behind inbound auth, whose
// principal a try's audit record names; or only on the admin address.
func TestConsoleRoutesFollowTheAdminAPI(t *testing.T) {
	st := stats.New(nil)
	f := serve(t, func(o *Options) {
		o.Admin, o.Console, o.Stats = &fakeAdmin{}, fakeConsole{}, st
		o.Auth = inbound.New(config.Inbound{Basic: &config.Basic{Username: "operator", Password: "console-password-0123"}})
	})
	right := map[string]string{"Authorization": "Basic b3BlcmF0b3I6Y29uc29sZS1wYXNzd29yZC0wMTIz"} // operator:console-password-0123
	for _, path := range []string{"/admin/console", "/admin/console/console.js", "/admin/actions", "/admin/connections", "/admin/failures"} {
		if a := f.send(t, "GET", path, "", "", nil); a.status != 401 || !strings.Contains(a.header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s without credentials: %d %v", path, a.status, a.header)
		}
		if a := f.send(t, "GET", path, "", "", right); a.status != 200 {
			t.Errorf("%s with credentials: %d", path, a.status)
		}
	}
	if a := f.post(t, "/admin/actions/echo/try", `{"input":{"message":"x"}}`, nil); a.status != 401 || st.Action("echo").Requests != 0 {
		t.Errorf("a try without credentials: %d, echo ran %d times", a.status, st.Action("echo").Requests)
	}
	if a := f.post(t, "/admin/actions/echo/try", `{"input":{"message":"x"}}`, right); a.status != 200 {
		t.Fatalf("a try with credentials: %d %s", a.status, a.body)
	}
	f.audit.Close()
	raw, _ := os.ReadFile(f.auditPath)
	if line := grepLine(raw, `"route":"/admin/actions/{name}/try","principal":{"method":"basic","id":"operator"}`); !strings.Contains(line, `"console":true`) {
		t.Errorf("the try's audit record does not name the operator: %s", raw)
	}

	sep := newServer(t, func(o *Options) { o.Admin, o.Console, o.SeparateAdmin = &fakeAdmin{}, fakeConsole{}, true })
	for _, h := range []struct {
		name string
		h    http.Handler
		want int
	}{{"the API", sep, 404}, {"the admin address", sep.AdminHandler(), 200}} {
		rec := httptest.NewRecorder()
		h.h.ServeHTTP(rec, httptest.NewRequest("GET", "/admin/console", nil))
		if rec.Code != h.want {
			t.Errorf("GET /admin/console on %s: %d, want %d", h.name, rec.Code, h.want)
		}
	}
}

func grepLine(b []byte, s string) string {
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// A console page whose audit record cannot be written, under fail_closed,
// is the JSON 503 of every route, not an HTML page.
func TestConsolePageFailsClosed(t *testing.T) {
	f := serve(t, func(o *Options) { o.Admin, o.Console, o.FailClosed = &fakeAdmin{}, fakeConsole{}, true })
	f.audit.Close()
	a := f.send(t, "GET", "/admin/console", "", "", nil)
	if a.status != 503 || a.header.Get("Content-Type") != "application/json" || a.errorBody(t).Code != "audit_unavailable" {
		t.Errorf("GET /admin/console with the audit log gone: %d %q %s", a.status, a.header.Get("Content-Type"), a.body)
	}
}
