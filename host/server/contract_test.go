package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/inbound"
	"github.com/switchboard-dev/switchboard/host/internal/testutil"
	"github.com/switchboard-dev/switchboard/host/pipeline"
)

// The HTTP contract: what a caller sends and what it gets back, on the
// in-process fixture.

func TestEchoAsCurlSendsIt(t *testing.T) {
	t.Parallel()
	f := serve(t, nil)
	// curl -d sends application/x-www-form-urlencoded.
	a := f.send(t, "POST", "/actions/echo", "application/x-www-form-urlencoded", `{"message":"hi"}`, nil)
	if a.status != 200 || string(a.body) != `{"message":"hi"}` {
		t.Fatalf("got %d %s, want 200 {\"message\":\"hi\"}", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if len(a.header.Get("X-Request-Id")) != 36 {
		t.Errorf("X-Request-Id = %q, want a new UUID", a.header.Get("X-Request-Id"))
	}
	// Other properties are allowed and come back unchanged, numbers exactly.
	in := `{"message":"hi","extra":{"n":12345678901234567890,"s":"é"}}`
	if a := f.post(t, "/actions/echo", in, nil); a.status != 200 || string(a.body) != in {
		t.Errorf("got %d %s, want 200 %s", a.status, a.body, in)
	}
}

// TestRequestIDs: the first valid of ININ-Correlation-Id, X-Request-Id and
// the envelope's requestId is the request's id; an invalid one is skipped,
// never a reason to drop a valid one after it.
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	f := serve(t, nil)
	env := `{"requestId":"r-1","action":"echo","data":{"message":"x"}}`
	const forged = "a b\tc [ERROR] forged"
	tests := map[string]struct {
		path, body string
		header     map[string]string
		wantID     string // "" for a new UUID
	}{
		"envelope":                          {"/webhook/data-action", env, nil, "r-1"},
		"envelope, correlation id wins":     {"/webhook/data-action", env, map[string]string{"ININ-Correlation-Id": "abc"}, "abc"},
		"envelope, x-request-id wins":       {"/webhook/data-action", env, map[string]string{"X-Request-Id": "req-7"}, "req-7"},
		"envelope, invalid x-request-id":    {"/webhook/data-action", env, map[string]string{"X-Request-Id": forged}, "r-1"},
		"envelope, invalid correlation id":  {"/webhook/data-action", env, map[string]string{"ININ-Correlation-Id": strings.Repeat("i", 129)}, "r-1"},
		"envelope, invalid everywhere":      {"/webhook/data-action", `{"requestId":"r 1","action":"echo","data":{"message":"x"}}`, nil, ""},
		"correlation id":                    {"/actions/echo", `{"message":"x"}`, map[string]string{"ININ-Correlation-Id": "abc"}, "abc"},
		"x-request-id":                      {"/actions/echo", `{"message":"x"}`, map[string]string{"X-Request-Id": "req-7"}, "req-7"},
		"correlation id over x-request-id":  {"/actions/echo", `{"message":"x"}`, map[string]string{"X-Request-Id": "req-7", "ININ-Correlation-Id": "abc"}, "abc"},
		"invalid correlation id is skipped": {"/actions/echo", `{"message":"x"}`, map[string]string{"X-Request-Id": "req-7", "ININ-Correlation-Id": forged}, "req-7"},
		"an id that could forge log lines":  {"/actions/echo", `{"message":"x"}`, map[string]string{"X-Request-Id": forged}, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := f.post(t, tc.path, tc.body, tc.header)
			id := a.header.Get("X-Request-Id")
			if a.status != 200 || tc.wantID != "" && id != tc.wantID || tc.wantID == "" && len(id) != 36 {
				t.Fatalf("got %d, X-Request-Id %q; want 200 and %q (or a new UUID)", a.status, id, tc.wantID)
			}
			want := `{"message":"x"}`
			if tc.path == "/webhook/data-action" {
				want = `{"requestId":"` + id + `","data":{"message":"x"}}`
			}
			if string(a.body) != want {
				t.Errorf("body %s, want %s", a.body, want)
			}
		})
	}
}

func floodHeaders(n int) map[string]string {
	h := map[string]string{}
	for i := 0; i*1000 < n; i++ {
		h[fmt.Sprintf("X-Flood-%d", i)] = strings.Repeat("f", 990)
	}
	return h
}

// TestBadInputGetsClearErrors: every malformed, hostile or failing request
// gets the error body with its status, code, a message that says what is
// wrong and the request id; exactly one audit record; and the host serves on.
func TestBadInputGetsClearErrors(t *testing.T) {
	t.Parallel()
	f := serve(t, nil)
	deep := strings.Repeat(`{"a":`, 60) + `1` + strings.Repeat(`}`, 60)
	fifty := `{"ms":1,"x":[` + strings.TrimSuffix(strings.Repeat("1e999999,", 50), ",") + `]}`
	tests := []struct {
		id, method, path, contentType, body string
		header                              map[string]string
		status                              int
		code, inMessage                     string
	}{
		{"malformed", "POST", "/actions/echo", "application/json", `{"message":}`, nil, 400, "invalid_json", "malformed JSON at byte"},
		{"malformed-2", "POST", "/actions/echo", "application/json", `{"message" "hi"}`, nil, 400, "invalid_json", ""},
		{"truncated", "POST", "/actions/echo", "application/json", `{"message":"hi"`, nil, 400, "invalid_json", "ends too soon"},
		{"empty", "POST", "/actions/echo", "application/json", ``, nil, 400, "invalid_json", "empty"},
		{"array", "POST", "/actions/echo", "application/json", `["hi"]`, nil, 400, "invalid_json", "array, not an object"},
		{"string", "POST", "/actions/echo", "application/json", `"hi"`, nil, 400, "invalid_json", ""},
		{"null", "POST", "/actions/echo", "application/json", `null`, nil, 400, "invalid_json", ""},
		{"two-values", "POST", "/actions/echo", "application/json", `{"message":"a"}{}`, nil, 400, "invalid_json", "more data"},
		{"utf-8", "POST", "/actions/echo", "application/json", "{\"message\":\"\xff\"}", nil, 400, "invalid_json", "UTF-8"},
		{"utf-8-2", "POST", "/actions/echo", "application/json", "{\"message\":\"\xc3\x28\"}", nil, 400, "invalid_json", ""},
		{"nesting", "POST", "/actions/echo", "application/json", `{"message":"x","n":` + deep + `}`, nil, 400, "invalid_json", ""},
		{"huge-number", "POST", "/actions/echo", "application/json", `{"message":"x","n":1e400,"m":123456789012345678901234567890}`, nil, 200, "ok", ""},
		{"exponent", "POST", "/actions/slow", "application/json", `{"ms": 1e1000001}`, nil, 400, "invalid_json", "exponent beyond"},
		{"many-exponents", "POST", "/actions/slow", "application/json", fifty, nil, 400, "invalid_json", "exponent beyond"},
		{"long-number", "POST", "/actions/echo", "application/json", `{"message":"x","n":` + strings.Repeat("7", 200) + `}`, nil, 400, "invalid_json", ""},
		{"duplicate-key", "POST", "/actions/echo", "application/json", `{"message":"ok","message":"evil"}`, nil, 400, "invalid_json", "appears twice"},
		{"case-twins", "POST", "/actions/lookup", "application/json", `{"user":{"id":"u-1"},"userId":"ok","USERID":"admin"}`, nil, 400, "invalid_json", "differ only in case"},
		{"schema-type", "POST", "/actions/echo", "application/json", `{"message":3}`, nil, 400, "invalid_input", "/message"},
		{"schema-missing", "POST", "/actions/echo", "application/json", `{}`, nil, 400, "invalid_input", "message"},
		{"unknown-action", "POST", "/actions/nope", "application/json", `{}`, nil, 404, "action_not_found", `"nope"`},
		{"long-action", "POST", "/actions/" + strings.Repeat("a", 4000), "application/json", `{}`, nil, 404, "action_not_found", ""},
		{"wrong-method", "GET", "/actions/echo", "", ``, nil, 405, "method_not_allowed", "POST"},
		{"over-the-limit", "POST", "/actions/echo", "application/json", `{"message":"` + strings.Repeat("x", 2*maxBody) + `"}`, nil, 413, "body_too_large", "4096"},
		{"10MiB", "POST", "/actions/echo", "application/json", `{"message":"` + strings.Repeat("x", 10<<20) + `"}`, nil, 413, "body_too_large", ""},
		{"content-type", "POST", "/actions/echo", "text/xml", `{"message":"x"}`, nil, 415, "unsupported_media_type", "text/xml"},
		{"multipart", "POST", "/actions/echo", "multipart/form-data; boundary=x", `{"message":"hi"}`, nil, 415, "unsupported_media_type", ""},
		{"cross-site", "POST", "/actions/echo", "text/plain", `{"message":"x"}`, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross_origin_refused", ""},
		{"header-flood", "POST", "/actions/echo", "application/json", `{"message":"x"}`, floodHeaders(100 << 10), 431, "headers_too_large", ""},
		{"unknown-route", "POST", "/nothing/here", "application/json", `{}`, nil, 404, "not_found", "/nothing/here"},
		{"traversal-encoded", "POST", "/actions/..%2F..%2Fetc%2Fpasswd", "application/json", `{}`, nil, 400, "invalid_path", ""},
		{"traversal", "POST", "/actions/../../etc/passwd", "application/json", `{}`, nil, 400, "invalid_path", ""},
		{"double-slash", "POST", "//actions/echo", "application/json", `{"message":"x"}`, nil, 404, "not_found", ""}, // "//actions" reads as a host
		{"mapping-source", "POST", "/actions/lookup", "application/json", `{"user":{}}`, nil, 400, "mapping_source_missing", "/data/user/id"},
		{"bad-output", "POST", "/actions/badOutput", "application/json", `{}`, nil, 502, "invalid_output", "/id"},
		{"not-object", "POST", "/actions/notObject", "application/json", `{}`, nil, 502, "invalid_output", "not a JSON object"},
		{"typed-error", "POST", "/actions/fail", "application/json", `{"typed":true}`, nil, 404, "user_not_found", "no such user"},
		{"plain-error", "POST", "/actions/fail", "application/json", `{"typed":false}`, nil, 500, "internal_error", ""},
		{"envelope-no-data", "POST", "/webhook/data-action", "application/json", `{"action":"echo"}`, nil, 400, "invalid_envelope", "data"},
		{"envelope-bad-json", "POST", "/webhook/data-action", "application/json", `{"action":`, nil, 400, "invalid_json", "ends too soon"},
		{"envelope-types", "POST", "/webhook/data-action", "application/json", `{"action":1,"data":{}}`, nil, 400, "invalid_envelope", "action"},
		{"envelope-unknown", "POST", "/webhook/data-action", "application/json", `{"action":"nope","data":{}}`, nil, 404, "action_not_found", "nope"},
		{"envelope-bad-data", "POST", "/webhook/data-action", "application/json", `{"action":"echo","data":{"message":1}}`, nil, 400, "invalid_input", "/message"},
	}
	t.Run("requests", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.id, func(t *testing.T) {
				t.Parallel()
				h := map[string]string{"X-Request-Id": tc.id}
				for k, v := range tc.header {
					h[k] = v
				}
				a := f.send(t, tc.method, tc.path, tc.contentType, tc.body, h)
				if a.status != tc.status {
					t.Fatalf("status %d, want %d: %.300s", a.status, tc.status, a.body)
				}
				if tc.status == 200 {
					return
				}
				e := a.errorBody(t)
				if e.Status != tc.status || e.Code != tc.code || !strings.Contains(e.Message, tc.inMessage) || e.RequestID != tc.id || a.header.Get("X-Request-Id") != tc.id {
					t.Errorf("body %.300s: want status %d, code %q, a message holding %q, requestId %q", a.body, tc.status, tc.code, tc.inMessage, tc.id)
				}
				if strings.Contains(string(a.body), "hunter2") {
					t.Errorf("a plain error's text reached the caller: %s", a.body)
				}
			})
		}
		t.Run("slow clients", func(t *testing.T) {
			t.Parallel()
			slowloris(t, f)
			slowBody(t, f)
		})
		t.Run("details and Allow", func(t *testing.T) {
			t.Parallel()
			if a := f.send(t, "GET", "/actions/echo", "", "", map[string]string{"X-Request-Id": "allow"}); a.header.Get("Allow") != "POST" {
				t.Errorf("405 without Allow: POST: %v", a.header)
			}
			details := f.post(t, "/actions/echo", `{"message":3}`, map[string]string{"X-Request-Id": "details"}).errorBody(t).Details
			if len(details) != 1 || details[0].Location != "/message" || details[0].Keyword != "type" {
				t.Errorf("details %+v: want one at /message, keyword type", details)
			}
		})
	})
	// Every request has exactly one audit record with its outcome.
	records := testutil.AuditByID(t, f.auditPath)
	want := map[string]string{"slow-body": "400 unreadable_body"}
	for _, tc := range tests {
		want[tc.id] = fmt.Sprint(tc.status, " ", tc.code)
	}
	for id, outcome := range want {
		if recs := records[id]; len(recs) != 1 || fmt.Sprint(recs[0].Status, " ", recs[0].Code) != outcome {
			t.Errorf("%s: %d audit records; want one with %s", id, len(recs), outcome)
		}
	}
	if a := f.post(t, "/actions/echo", `{"message":"still serving"}`, nil); a.status != 200 {
		t.Errorf("after the bad input: %d %s", a.status, a.body)
	}
}

// slowloris trickles a request's headers; the host drops the connection
// after its read-header limit while it serves everyone else.
func slowloris(t *testing.T, f *fixture) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dropped := make(chan struct{})
	go func() {
		conn.Read(make([]byte, 1)) // returns when the host closes the connection
		close(dropped)
	}()
	fmt.Fprint(conn, "POST /actions/echo HTTP/1.1\r\nHost: x\r\n")
	tick := time.NewTicker(fixtureLimits.ReadHeader / 10)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-dropped:
			if i < 5 {
				t.Errorf("dropped after %d trickles, before its limit", i)
			}
			return
		case <-tick.C:
			if i == 2 {
				if a := f.post(t, "/actions/echo", `{"message":"meanwhile"}`, nil); a.status != 200 {
					t.Errorf("while a slow client holds a connection: %d", a.status)
				}
			}
			if i == 1000 {
				t.Fatal("the slow client was never dropped")
			}
			fmt.Fprint(conn, "X")
		}
	}
}

// slowBody sends complete headers and then a body too slowly: the read
// limit ends it with an audited 400.
func slowBody(t *testing.T, f *fixture) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /actions/echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-body\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("slow body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("slow body: %d", resp.StatusCode)
	}
}

// TestErrorsAsData: an action with errors = "data" answers its failures
// with 200 and {"ok": false, …} an Architect flow can branch on, its
// successes with "ok": true; the audit log and the metrics still count the
// failure's code.
func TestErrorsAsData(t *testing.T) {
	t.Parallel()
	f := serve(t, nil)
	tests := map[string]struct{ path, body, want string }{
		"typed failure": {"/actions/failAsData", `{"typed":true}`, `{"ok":false,"status":404,"code":"user_not_found","message":"no such user","retryable":false}`},
		"plain failure": {"/actions/failAsData", `{}`, `{"ok":false,"status":500,"code":"internal_error","message":"internal error","retryable":false}`},
		"success":       {"/actions/echoAsData", `{"message":"x"}`, `{"ok":true,"message":"x"}`},
		"empty success": {"/actions/echoAsData", `{}`, `{"ok":true}`},
		"enveloped":     {"/webhook/data-action", `{"requestId":"r-9","action":"failAsData","data":{"typed":true}}`, `{"requestId":"data","data":{"ok":false,"status":404,"code":"user_not_found","message":"no such user","retryable":false}}`},
	}
	for name, tc := range tests {
		if a := f.post(t, tc.path, tc.body, map[string]string{"X-Request-Id": "data"}); a.status != 200 || string(a.body) != tc.want {
			t.Errorf("%s: %d %s, want 200 %s", name, a.status, a.body, tc.want)
		}
	}
	if n := f.counter(t, "switchboard_requests_total", map[string]string{"action": "failAsData", "status": "200", "code": "user_not_found"}); n != 2 {
		t.Errorf("failures answered as data counted %v times under their code, want 2", n)
	}
	codes := map[string]int{}
	for _, r := range testutil.AuditByID(t, f.auditPath)["data"] {
		codes[r.Code]++
	}
	if codes["user_not_found"] != 2 || codes["internal_error"] != 1 || codes["ok"] != 2 {
		t.Errorf("audited codes %v", codes)
	}
}

// TestTimeoutAnswers504: a handler still running at the end of the budget
// gets 504 "timeout", not its late answer; the pipeline stops waiting
// Margin before the budget (pipeline's tests check the deadline exactly).
func TestTimeoutAnswers504(t *testing.T) {
	t.Parallel()
	f := serve(t, nil)
	start := time.Now()
	a := f.post(t, "/actions/slow", `{"ms":60000}`, nil)
	if took := time.Since(start); a.status != 504 || a.errorBody(t).Code != "timeout" || took < slowBudget-pipeline.Margin(slowBudget) {
		t.Errorf("got %d %s after %v, want 504 timeout after %v", a.status, a.body, took, slowBudget-pipeline.Margin(slowBudget))
	}
	if a := f.post(t, "/actions/slow", `{"ms":1}`, nil); a.status != 200 {
		t.Errorf("a fast call: %d %s", a.status, a.body)
	}
	// The config's timeout overrides the plugin's.
	if a := f.post(t, "/actions/slowWithMore", `{"ms":`+fmt.Sprint((2*slowBudget).Milliseconds())+`}`, nil); a.status != 200 {
		t.Errorf("within the config's budget: %d %s", a.status, a.body)
	}
}

// TestMappingAndMetadata: the mapping builds the input from the body, the
// request id and Genesys Cloud's headers, which the handler also gets.
func TestMappingAndMetadata(t *testing.T) {
	t.Parallel()
	f := serve(t, nil)
	headers := map[string]string{"ININ-Correlation-Id": "corr-1", "ININ-Organization-Id": "org-1", "ININ-User-Id": "user-9", "ININ-Home-Organization-Id": "bad id"}
	a := f.post(t, "/actions/lookup", `{"user":{"id":"u-1"},"ignored":true}`, headers)
	if want := `{"lang":"en-IE","org":"org-1","requestId":"corr-1","userId":"u-1"}`; a.status != 200 || string(a.body) != want {
		t.Errorf("lookup: %d %s, want %s", a.status, a.body, want)
	}
	a = f.post(t, "/actions/meta", `{}`, headers)
	if want := `{"metadata":{"correlationId":"corr-1","organizationId":"org-1","userId":"user-9"},"requestId":"corr-1"}`; string(a.body) != want {
		t.Errorf("meta: %s, want %s (an invalid header is not passed on)", a.body, want)
	}
}

// TestInboundAuth: with Basic and API keys configured, only a right
// credential is admitted, 401s say how to authenticate and echo nothing;
// health and readiness need no credential.
func TestInboundAuth(t *testing.T) {
	t.Parallel()
	const password, key = "correct-horse-battery", "k-0123456789abcdef-key"
	f := serve(t, func(o *Options) {
		o.Auth = inbound.New(config.Inbound{
			Basic:  &config.Basic{Username: "genesys", Password: password},
			APIKey: &config.APIKey{Header: "X-Switchboard-Key", Keys: []string{"another-key-0000000", key}},
		})
	})
	basic := func(u, p string) map[string]string {
		req, _ := http.NewRequest("POST", "/", nil)
		req.SetBasicAuth(u, p)
		return map[string]string{"Authorization": req.Header.Get("Authorization")}
	}
	tests := map[string]struct {
		header map[string]string
		want   int
	}{
		"no credentials":  {nil, 401},
		"wrong password":  {basic("genesys", "wrong"), 401},
		"wrong user":      {basic("admin", password), 401},
		"basic":           {basic("genesys", password), 200},
		"api key":         {map[string]string{"X-Switchboard-Key": key}, 200},
		"wrong api key":   {map[string]string{"X-Switchboard-Key": key + "x"}, 401},
		"key in a bearer": {map[string]string{"Authorization": "Bearer " + key}, 401},
	}
	for name, tc := range tests {
		a := f.post(t, "/actions/echo", `{"message":"x"}`, tc.header)
		if a.status != tc.want {
			t.Errorf("%s: got %d %s, want %d", name, a.status, a.body, tc.want)
			continue
		}
		if tc.want == 401 {
			if a.errorBody(t).Code != "unauthorized" || !strings.Contains(a.header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("%s: 401 body %s, WWW-Authenticate %q", name, a.body, a.header.Get("WWW-Authenticate"))
			}
			if strings.Contains(string(a.body), password) || strings.Contains(string(a.body), key) {
				t.Errorf("%s: a credential is echoed in the answer", name)
			}
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if a := f.send(t, "GET", path, "", "", nil); a.status != 200 {
			t.Errorf("%s without credentials: %d", path, a.status)
		}
	}
}

// TestReadiness: /readyz answers 503 with the reason while the host is not
// ready (its plugins load), 200 once it is; an unknown action answers 503
// not_ready until then, 404 after.
func TestReadiness(t *testing.T) {
	t.Parallel()
	var ready atomic.Bool
	f := serve(t, func(o *Options) {
		o.Readiness = func() (bool, string) {
			if ready.Load() {
				return true, ""
			}
			return false, "loading plugins"
		}
	})
	if a := f.send(t, "GET", "/readyz", "", "", nil); a.status != 503 || string(a.body) != `{"reason":"loading plugins","status":"starting"}` {
		t.Errorf("before: %d %s", a.status, a.body)
	}
	// Until then an action not (yet) loaded is unavailable, not missing;
	// the loaded ones serve.
	for _, path := range []string{"/actions/notYet", "/webhook/data-action"} {
		a := f.post(t, path, `{"action":"notYet","data":{}}`, nil)
		if e := a.errorBody(t); a.status != 503 || e.Code != "not_ready" || !strings.Contains(e.Message, "loading plugins") || a.header.Get("Retry-After") == "" {
			t.Errorf("%s before: %d %s", path, a.status, a.body)
		}
	}
	if a := f.post(t, "/actions/echo", `{"message":"x"}`, nil); a.status != 200 {
		t.Errorf("a loaded action before: %d %s", a.status, a.body)
	}
	ready.Store(true)
	if a := f.send(t, "GET", "/readyz", "", "", nil); a.status != 200 || string(a.body) != `{"status":"ready"}` {
		t.Errorf("after: %d %s", a.status, a.body)
	}
	if a := f.post(t, "/actions/notYet", `{}`, nil); a.status != 404 || a.errorBody(t).Code != "action_not_found" {
		t.Errorf("after: %d %s", a.status, a.body)
	}
}

// fakeAdmin is the admin API's back end: it counts reloads; a config
// reload fails while refuse is set.
type fakeAdmin struct {
	reloads, configReloads atomic.Int32
	refuse                 atomic.Bool
}

func (a *fakeAdmin) Config() any { return map[string]string{"digest": "d1"} }

func (a *fakeAdmin) PurgeCache(_ context.Context, action string, input json.RawMessage, org string) (int, error) {
	if action != "echo" {
		return 0, ErrUnknownAction
	}
	if len(input) > 0 {
		return 1, nil
	}
	return 7, nil
}

func (a *fakeAdmin) ReloadConfig(_ context.Context, dryRun bool) (any, error) {
	if a.refuse.Load() {
		return map[string]any{"ok": false}, errors.New("t.hcl:3: an argument named \"listen_port\" is not expected here")
	}
	if !dryRun {
		a.configReloads.Add(1)
	}
	return map[string]any{"ok": true, "dryRun": dryRun}, nil
}

func (a *fakeAdmin) Plugins() any { return []map[string]string{{"name": "fixture"}} }

func (a *fakeAdmin) Reload(_ context.Context, name string) (any, error) {
	if name != "fixture" {
		return nil, ErrUnknownPlugin
	}
	a.reloads.Add(1)
	return map[string]string{"name": name}, nil
}

// TestConfigRoutes: GET /admin/config, POST /admin/config/reload (and its
// dry run) answer what the host says; a refused config is a 422 naming why;
// each is a JSON POST, refused from browsers of other sites.
func TestConfigRoutes(t *testing.T) {
	t.Parallel()
	admin := &fakeAdmin{}
	f := serve(t, func(o *Options) { o.Admin = admin })
	if a := f.send(t, "GET", "/admin/config", "", "", nil); a.status != 200 || !strings.Contains(string(a.body), `"digest": "d1"`) {
		t.Errorf("GET /admin/config: %d %s", a.status, a.body)
	}
	if a := f.send(t, "POST", "/admin/config/reload?dry_run=true", "application/json", "", nil); a.status != 200 || admin.configReloads.Load() != 0 {
		t.Errorf("dry run: %d %s", a.status, a.body)
	}
	if a := f.send(t, "POST", "/admin/config/reload?dry_run=maybe", "application/json", "", nil); a.status != 400 {
		t.Errorf("dry_run=maybe: %d %s", a.status, a.body)
	}
	if a := f.send(t, "POST", "/admin/config/reload", "application/json", "", map[string]string{"Origin": "https://evil.example"}); a.status != 403 || admin.configReloads.Load() != 0 {
		t.Errorf("cross-site reload: %d %s", a.status, a.body)
	}
	if a := f.send(t, "POST", "/admin/config/reload", "application/json", "", nil); a.status != 200 || admin.configReloads.Load() != 1 {
		t.Errorf("reload: %d %s", a.status, a.body)
	}
	admin.refuse.Store(true)
	a := f.send(t, "POST", "/admin/config/reload", "application/json", "", nil)
	if e := a.errorBody(t); a.status != 422 || e.Code != "config_refused" || !strings.Contains(e.Message, "listen_port") || !strings.Contains(e.Message, "the one in effect stays") {
		t.Errorf("refused reload: %d %s", a.status, a.body)
	}
}

// TestPurgeRoute: DELETE /admin/cache/{action} purges the action, or with
// a JSON body one input's entry; other methods, other content types and
// other sites are refused.
func TestPurgeRoute(t *testing.T) {
	t.Parallel()
	f := serve(t, func(o *Options) { o.Admin = &fakeAdmin{} })
	for _, c := range []struct {
		method, path, ctype, body string
		header                    map[string]string
		status                    int
		want                      string
	}{
		{"DELETE", "/admin/cache/echo", "", "", nil, 200, `"purged": 7`},
		{"DELETE", "/admin/cache/echo", "application/json", `{"input":{"message":"x"},"organizationId":"o"}`, nil, 200, `"purged": 1`},
		{"DELETE", "/admin/cache/nope", "", "", nil, 404, "action_not_found"},
		{"POST", "/admin/cache/echo", "application/json", "", nil, 405, "method_not_allowed"},
		{"DELETE", "/admin/cache/echo", "text/plain", `{"input":{}}`, nil, 415, "unsupported_media_type"},
		{"DELETE", "/admin/cache/echo", "application/json", `{"inputs":{}}`, nil, 400, "invalid_json"},
		{"DELETE", "/admin/cache/echo", "", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross_origin_refused"},
	} {
		a := f.send(t, c.method, c.path, c.ctype, c.body, c.header)
		if a.status != c.status || !strings.Contains(string(a.body), c.want) {
			t.Errorf("%s %s %s: %d %s, want %d %s", c.method, c.path, c.body, a.status, a.body, c.status, c.want)
		}
	}
}

// TestSetAuthRotatesCredentials: from SetAuth on, a removed key is refused
// and an added one admitted; the token endpoint follows the oauth block.
func TestSetAuthRotatesCredentials(t *testing.T) {
	t.Parallel()
	keys := func(k ...string) *inbound.Authenticator {
		return inbound.New(config.Inbound{APIKey: &config.APIKey{Header: config.DefaultAPIKeyHeader, Keys: k}})
	}
	f := serve(t, func(o *Options) { o.Auth = keys("old-key-0123456789abcdef") })
	srv := f.server
	call := func(key string) int {
		return f.post(t, "/actions/echo", `{"message":"x"}`, map[string]string{config.DefaultAPIKeyHeader: key}).status
	}
	if call("old-key-0123456789abcdef") != 200 || call("new-key-0123456789abcdef") != 401 {
		t.Fatal("before the rotation")
	}
	srv.SetAuth(keys("new-key-0123456789abcdef"))
	if s := call("old-key-0123456789abcdef"); s != 401 {
		t.Errorf("the removed key: %d", s)
	}
	if s := call("new-key-0123456789abcdef"); s != 200 {
		t.Errorf("the added key: %d", s)
	}
	if a := f.send(t, "POST", tokenRoute, "application/x-www-form-urlencoded", "grant_type=client_credentials", nil); a.status != 404 {
		t.Errorf("token endpoint without oauth: %d", a.status)
	}
	srv.SetAuth(inbound.New(config.Inbound{OAuth: &config.InboundOAuth{ClientID: "genesys", ClientSecret: "oauth-secret-0123456789", TokenTTL: time.Hour}}))
	if a := f.send(t, "POST", tokenRoute, "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=genesys&client_secret=oauth-secret-0123456789", nil); a.status != 200 {
		t.Errorf("token endpoint once oauth is configured: %d %s", a.status, a.body)
	}
}

// TestCrossSiteRequestsAreRefused: a page of another site cannot make a
// browser restart a plugin, nor call an action of a host without inbound
// auth (--dev); Genesys Cloud's server-to-server calls, which send neither
// Origin nor Sec-Fetch-Site, are served.
func TestCrossSiteRequestsAreRefused(t *testing.T) {
	t.Parallel()
	admin := &fakeAdmin{}
	f := serve(t, func(o *Options) { o.Admin = admin })
	for _, h := range []map[string]string{
		{"Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site", "Origin": "https://sub.example.com"},
	} {
		if a := f.send(t, "POST", "/admin/plugins/fixture/reload", "application/x-www-form-urlencoded", "", h); a.status != 403 {
			t.Errorf("cross-site reload with %v: %d %s", h, a.status, a.body)
		}
		if a := f.send(t, "POST", "/actions/echo", "text/plain", `{"message":"x"}`, h); a.status != 403 || a.errorBody(t).Code != "cross_origin_refused" {
			t.Errorf("cross-site action call with %v: %d %s", h, a.status, a.body)
		}
	}
	// Without a JSON content type an admin POST is refused even from no browser.
	if a := f.send(t, "POST", "/admin/plugins/fixture/reload", "application/x-www-form-urlencoded", "", nil); a.status != 415 {
		t.Errorf("form reload: %d %s", a.status, a.body)
	}
	if n := admin.reloads.Load(); n != 0 {
		t.Fatalf("refused requests reloaded the plugin %d times", n)
	}
	if a := f.send(t, "POST", "/actions/echo", "application/json", `{"message":"x"}`, map[string]string{"Sec-Fetch-Site": "same-origin"}); a.status != 200 {
		t.Errorf("same-origin action call: %d %s", a.status, a.body)
	}
	if a := f.send(t, "POST", "/admin/plugins/fixture/reload", "application/json", "", nil); a.status != 200 || admin.reloads.Load() != 1 {
		t.Errorf("a JSON reload from a program: %d %s", a.status, a.body)
	}
	if a := f.send(t, "POST", "/admin/plugins/nope/reload", "application/json", "", nil); a.status != 404 || a.errorBody(t).Code != "plugin_not_found" {
		t.Errorf("reload of an unknown plugin: %d %s", a.status, a.body)
	}
}

// TestRepeatedAuthFailuresAreThrottled: after ten failures from one address
// its requests get 429 with Retry-After, even with the right credentials;
// the token endpoint and /metrics are throttled too, and each refusal is
// audited and counted.
func TestRepeatedAuthFailuresAreThrottled(t *testing.T) {
	t.Parallel()
	const secret = "oauth-secret-0123456789"
	var f *fixture
	f = serve(t, func(o *Options) {
		o.Auth = inbound.New(config.Inbound{
			Basic: &config.Basic{Username: "genesys", Password: "basic-password-0123"},
			OAuth: &config.InboundOAuth{ClientID: "genesys", ClientSecret: secret, TokenTTL: time.Hour},
		})
		o.MetricsHandler = promhttp.Handler()
	})
	right := map[string]string{"Authorization": "Basic Z2VuZXN5czpiYXNpYy1wYXNzd29yZC0wMTIz"} // genesys:basic-password-0123
	if a := f.post(t, "/actions/echo", `{"message":"x"}`, right); a.status != 200 {
		t.Fatalf("the right credentials, before: %d %s", a.status, a.body)
	}
	for i := range 10 {
		if a := f.post(t, "/actions/echo", `{"message":"x"}`, map[string]string{"X-Request-Id": "guess"}); a.status != 401 {
			t.Fatalf("failure %d: %d", i, a.status)
		}
	}
	a := f.post(t, "/actions/echo", `{"message":"x"}`, right)
	if a.status != 429 || a.header.Get("Retry-After") == "" || a.errorBody(t).Code != "too_many_auth_failures" {
		t.Errorf("after ten failures, the right credentials: %d %v %s", a.status, a.header, a.body)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"genesys"}, "client_secret": {secret}}.Encode()
	if a := f.send(t, "POST", "/oauth/token", "application/x-www-form-urlencoded", form, nil); a.status != 429 {
		t.Errorf("the token endpoint while throttled: %d %s", a.status, a.body)
	}
	if a := f.send(t, "GET", "/metrics", "", "", right); a.status != 429 {
		t.Errorf("/metrics while throttled: %d", a.status)
	}
	if n := f.counter(t, "switchboard_auth_failures_total", map[string]string{"route": "/actions/{name}", "result": "rejected"}); n != 10 {
		t.Errorf("rejections counted: %v, want 10", n)
	}
	if n := f.counter(t, "switchboard_auth_failures_total", map[string]string{"result": "throttled"}); n != 3 {
		t.Errorf("throttled requests counted: %v, want 3", n)
	}
}

// TestUnauthenticatedTraceparentIsNotContinued: a caller that did not
// authenticate cannot put the host's spans into a trace of its choosing,
// nor have its request id taken as fact; an authenticated one can.
func TestUnauthenticatedTraceparentIsNotContinued(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	f := serve(t, func(o *Options) {
		o.Tracer = tp.Tracer("test")
		o.Auth = inbound.New(config.Inbound{APIKey: &config.APIKey{Header: "X-Key", Keys: []string{"key-0123456789abcdef"}}})
	})
	const trace = "0af7651916cd43dd8448eb211c80319c"
	h := map[string]string{"Traceparent": "00-" + trace + "-b7ad6b7169203331-01", "X-Request-Id": "claimed-1", "ININ-Organization-Id": "org-1"}
	if a := f.post(t, "/actions/echo", `{"message":"x"}`, h); a.status != 401 || a.header.Get("X-Request-Id") == "claimed-1" {
		t.Fatalf("%d, id %q", a.status, a.header.Get("X-Request-Id"))
	}
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].SpanContext.TraceID().String() == trace || spans[0].Parent.IsValid() {
		t.Errorf("spans %+v: want one, not continuing the unauthenticated caller's trace", spans)
	}
	for id, recs := range testutil.AuditByID(t, f.auditPath) {
		if c := recs[0].Claimed; id == "claimed-1" || c == nil || c.RequestID != "claimed-1" || c.OrganizationID != "org-1" || recs[0].OrganizationID != "" {
			t.Errorf("audit record %s: %+v; want the ids only as claims", id, recs[0])
		}
	}
	h["X-Key"] = "key-0123456789abcdef"
	exp.Reset()
	if a := f.post(t, "/actions/echo", `{"message":"x"}`, h); a.status != 200 || a.header.Get("X-Request-Id") != "claimed-1" {
		t.Fatalf("authenticated: %d, id %q", a.status, a.header.Get("X-Request-Id"))
	}
	if spans := exp.GetSpans(); len(spans) == 0 || spans[0].SpanContext.TraceID().String() != trace {
		t.Errorf("an authenticated caller's trace was not continued: %+v", spans)
	}
}

// TestOutputFailuresNameNoValue: the output breaks its schema's "format";
// neither the caller's body nor the host's log quotes the value.
func TestOutputFailuresNameNoValue(t *testing.T) {
	t.Parallel()
	logs := &testutil.Buffer{}
	f := serve(t, func(o *Options) {
		o.Logger = hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace})
	})
	a := f.post(t, "/actions/badEmail", `{}`, map[string]string{"X-Request-Id": "bad-email"})
	d := a.errorBody(t).Details
	if a.status != 502 || len(d) != 1 || d[0].Keyword != "format" || d[0].Location != "/email" {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if strings.Contains(string(a.body), "jane") {
		t.Errorf("the answer quotes the output: %s", a.body)
	}
	if l := logs.String(); !strings.Contains(l, "bad-email") || strings.Contains(l, "jane") {
		t.Errorf("the log quotes the output, or says nothing of the request:\n%s", l)
	}
}

// TestAuditFailClosed: when a record cannot be written, fail_closed answers
// 503 audit_unavailable instead of the result; otherwise the request is
// served; either way the failure is logged and counted.
func TestAuditFailClosed(t *testing.T) {
	t.Parallel()
	for name, failClosed := range map[string]bool{"fail closed": true, "fail open": false} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			logs := &testutil.Buffer{}
			f := serve(t, func(o *Options) {
				o.FailClosed = failClosed
				o.Logger = hclog.New(&hclog.LoggerOptions{Output: logs})
			})
			f.audit.Close() // the file goes away underneath the host
			a := f.post(t, "/actions/echo", `{"message":"x"}`, nil)
			if failClosed && (a.status != 503 || a.errorBody(t).Code != "audit_unavailable") {
				t.Errorf("fail closed: %d %s", a.status, a.body)
			}
			if !failClosed && a.status != 200 {
				t.Errorf("fail open: %d %s", a.status, a.body)
			}
			if !strings.Contains(logs.String(), "audit record not written") {
				t.Error("the audit failure is not logged")
			}
			if n := f.counter(t, "switchboard_audit_write_failures_total", nil); n != 1 {
				t.Errorf("audit failures counted: %v, want 1", n)
			}
		})
	}
}
