package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/internal/testutil"
)

// pluginDir holds the real plugin binaries, built once in TestMain;
// crashDir a crash-looping one; launcher is the sandbox launcher.
var pluginDir, crashDir, launcher string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchboard-app-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginDir, crashDir = filepath.Join(dir, "plugins"), filepath.Join(dir, "crash")
	err = os.Mkdir(pluginDir, 0o755)
	if err == nil {
		err = os.Mkdir(crashDir, 0o755)
	}
	if err == nil {
		err = testutil.Build(pluginDir, "plugins/echo", "plugins/genesys-users", "host/internal/testplugin")
	}
	if err == nil {
		err = testutil.Build(crashDir, "host/internal/crashplugin")
	}
	if err == nil {
		err = testutil.Build(dir, "host/cmd/switchboard-sandbox")
		launcher = filepath.Join(dir, "switchboard-sandbox")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testConfig is the default config over the test plugins, every plugin in
// the sandbox, with the connection grants the test plugins need.
func testConfig() *config.Config {
	cfg := config.Default()
	cfg.PluginDir = pluginDir
	cfg.SandboxLauncher = launcher
	for _, name := range []string{"genesys-users", "testplugin"} {
		p := config.DefaultPlugin()
		p.Connections = []string{"genesys"}
		cfg.Plugins[name] = p
	}
	return cfg
}

// startHost starts a host over the test plugins, serving on 127.0.0.1:0.
func startHost(t *testing.T, mutate func(*config.Config)) (*app.Host, *httptest.Server) {
	t.Helper()
	return startHostWithLogger(t, nil, mutate)
}

func startHostWithLogger(t *testing.T, logger hclog.Logger, mutate func(*config.Config)) (*app.Host, *httptest.Server) {
	t.Helper()
	cfg := testConfig()
	cfg.PluginDir = pluginDir
	if mutate != nil {
		mutate(cfg)
	}
	host, err := app.New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(host.Close)
	problems, err := host.Load(context.Background())
	if err != nil || len(problems) > 0 {
		t.Fatalf("Load: %v %v", err, problems)
	}
	srv := httptest.NewServer(host.Handler())
	t.Cleanup(srv.Close)
	return host, srv
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) errorBody(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, a.body)
	}
	return m
}

func do(t *testing.T, method, url, contentType string, body []byte, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func post(t *testing.T, url, body string) answer {
	t.Helper()
	return do(t, http.MethodPost, url, "application/json", []byte(body), nil)
}

func TestEchoAsCurlSendsIt(t *testing.T) {
	t.Parallel()
	_, srv := startHost(t, nil)
	// curl -d sends application/x-www-form-urlencoded.
	a := do(t, http.MethodPost, srv.URL+"/actions/echo", "application/x-www-form-urlencoded", []byte(`{"message":"hi"}`), nil)
	if a.status != 200 || string(a.body) != `{"message":"hi"}` {
		t.Fatalf("got %d %s, want 200 {\"message\":\"hi\"}", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if len(a.header.Get("X-Request-Id")) != 36 {
		t.Errorf("X-Request-Id = %q, want a new UUID", a.header.Get("X-Request-Id"))
	}
	// Other properties are allowed and come back unchanged.
	in := `{"message":"hi","extra":{"n":12345678901234567890,"s":"é"}}`
	if a := post(t, srv.URL+"/actions/echo", in); a.status != 200 || string(a.body) != in {
		t.Errorf("got %d %s, want 200 %s", a.status, a.body, in)
	}
}

func TestEnvelopeAndRequestIDs(t *testing.T) {
	t.Parallel()
	_, srv := startHost(t, nil)
	env := `{"requestId":"r-1","action":"echo","data":{"message":"x"}}`
	tests := map[string]struct {
		url, body string
		header    map[string]string
		wantID    string
		wantBody  string
	}{
		"envelope": {
			"/webhook/data-action", env, nil,
			"r-1", `{"requestId":"r-1","data":{"message":"x"}}`,
		},
		"envelope, correlation id wins": {
			"/webhook/data-action", env, map[string]string{"ININ-Correlation-Id": "abc"},
			"abc", `{"requestId":"abc","data":{"message":"x"}}`,
		},
		"correlation id": {
			"/actions/echo", `{"message":"x"}`, map[string]string{"ININ-Correlation-Id": "abc"},
			"abc", `{"message":"x"}`,
		},
		"x-request-id": {
			"/actions/echo", `{"message":"x"}`, map[string]string{"X-Request-Id": "req-7"},
			"req-7", `{"message":"x"}`,
		},
		"correlation id over x-request-id": {
			"/actions/echo", `{"message":"x"}`, map[string]string{"X-Request-Id": "req-7", "ININ-Correlation-Id": "abc"},
			"abc", `{"message":"x"}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := do(t, http.MethodPost, srv.URL+tc.url, "application/json", []byte(tc.body), tc.header)
			if a.status != 200 || string(a.body) != tc.wantBody {
				t.Fatalf("got %d %s, want 200 %s", a.status, a.body, tc.wantBody)
			}
			if got := a.header.Get("X-Request-Id"); got != tc.wantID {
				t.Errorf("X-Request-Id = %q, want %q", got, tc.wantID)
			}
		})
	}
	// An id that could forge log lines is replaced by a fresh one.
	a := do(t, http.MethodPost, srv.URL+"/actions/echo", "", []byte(`{"message":"x"}`), map[string]string{"X-Request-Id": "a b\tc"})
	if id := a.header.Get("X-Request-Id"); a.status != 200 || len(id) != 36 {
		t.Errorf("invalid X-Request-Id: got %d, id %q; want 200 and a new UUID", a.status, id)
	}
}

func TestBadInputGetsClearErrors(t *testing.T) {
	t.Parallel()
	_, srv := startHost(t, func(c *config.Config) { c.MaxBodyBytes = 1024 })
	big := `{"message":"` + strings.Repeat("x", 2048) + `"}`
	tests := map[string]struct {
		method, path, contentType, body string
		wantStatus                      int
		wantCode                        string
		wantInMessage                   string
	}{
		"malformed json":         {"POST", "/actions/echo", "application/json", `{"message":}`, 400, "invalid_json", "malformed JSON at byte"},
		"truncated json":         {"POST", "/actions/echo", "application/json", `{"message":"hi"`, 400, "invalid_json", "ends too soon"},
		"empty body":             {"POST", "/actions/echo", "application/json", ``, 400, "invalid_json", "empty"},
		"array body":             {"POST", "/actions/echo", "application/json", `["hi"]`, 400, "invalid_json", "array, not an object"},
		"two values":             {"POST", "/actions/echo", "application/json", `{"message":"a"}{}`, 400, "invalid_json", "more data"},
		"invalid utf-8":          {"POST", "/actions/echo", "application/json", "{\"message\":\"\xff\"}", 400, "invalid_json", "UTF-8"},
		"schema: wrong type":     {"POST", "/actions/echo", "application/json", `{"message":3}`, 400, "invalid_input", "/message"},
		"schema: missing field":  {"POST", "/actions/echo", "application/json", `{}`, 400, "invalid_input", "message"},
		"unknown action":         {"POST", "/actions/nope", "application/json", `{}`, 404, "action_not_found", `"nope"`},
		"wrong method":           {"GET", "/actions/echo", "", ``, 405, "method_not_allowed", "POST"},
		"body over the limit":    {"POST", "/actions/echo", "application/json", big, 413, "body_too_large", "1024"},
		"wrong content type":     {"POST", "/actions/echo", "text/xml", `{"message":"x"}`, 415, "unsupported_media_type", "text/xml"},
		"unknown route":          {"POST", "/nothing/here", "application/json", `{}`, 404, "not_found", "/nothing/here"},
		"mapping source missing": {"POST", "/actions/lookup", "application/json", `{"user":{}}`, 400, "mapping_source_missing", "/data/user/id"},
		"output breaks schema":   {"POST", "/actions/badOutput", "application/json", `{}`, 502, "invalid_output", "/id"},
		"output not an object":   {"POST", "/actions/notObject", "application/json", `{}`, 502, "invalid_output", "not a JSON object"},
		"typed plugin error":     {"POST", "/actions/fail", "application/json", `{"typed":true}`, 404, "user_not_found", "no such user"},
		"plain plugin error":     {"POST", "/actions/fail", "application/json", `{"typed":false}`, 500, "action_failed", `action "fail" failed`},
		"handler panic":          {"POST", "/actions/panic", "application/json", `{}`, 500, "plugin_panic", "panic"},
		"envelope without data":  {"POST", "/webhook/data-action", "application/json", `{"action":"echo"}`, 400, "invalid_envelope", "data"},
		"envelope of bad json":   {"POST", "/webhook/data-action", "application/json", `{"action":`, 400, "invalid_json", "ends too soon"},
		"envelope, wrong types":  {"POST", "/webhook/data-action", "application/json", `{"action":1,"data":{}}`, 400, "invalid_envelope", "action"},
		"envelope, unknown":      {"POST", "/webhook/data-action", "application/json", `{"action":"nope","data":{}}`, 404, "action_not_found", "nope"},
		"envelope, bad data":     {"POST", "/webhook/data-action", "application/json", `{"action":"echo","data":{"message":1}}`, 400, "invalid_input", "/message"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := do(t, tc.method, srv.URL+tc.path, tc.contentType, []byte(tc.body), nil)
			if a.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", a.status, tc.wantStatus, a.body)
			}
			e := a.errorBody(t)
			if e["status"] != float64(tc.wantStatus) || e["code"] != tc.wantCode {
				t.Errorf("body %s: want status %d code %q", a.body, tc.wantStatus, tc.wantCode)
			}
			if msg, _ := e["message"].(string); !strings.Contains(msg, tc.wantInMessage) {
				t.Errorf("message %q does not mention %q", msg, tc.wantInMessage)
			}
			if id := a.header.Get("X-Request-Id"); id == "" || e["requestId"] != id {
				t.Errorf("requestId %v, X-Request-Id %q: want the same, not empty", e["requestId"], id)
			}
			if strings.Contains(string(a.body), "hunter2") {
				t.Errorf("a plain error's text reached the caller: %s", a.body)
			}
		})
	}
	if a := do(t, "GET", srv.URL+"/actions/echo", "", nil, nil); a.header.Get("Allow") != "POST" {
		t.Errorf("405 without Allow: POST: %v", a.header)
	}
	a := post(t, srv.URL+"/actions/echo", `{"message":3}`)
	details, _ := a.errorBody(t)["details"].([]any)
	if len(details) != 1 || details[0].(map[string]any)["location"] != "/message" {
		t.Errorf("details %v: want one at /message", details)
	}
	// After all of that, the host still serves.
	if a := post(t, srv.URL+"/actions/echo", `{"message":"still here"}`); a.status != 200 {
		t.Errorf("after bad input: %d %s", a.status, a.body)
	}
}

func TestPanicDoesNotStopThePlugin(t *testing.T) {
	t.Parallel()
	_, srv := startHost(t, nil)
	for i := 0; i < 3; i++ {
		if a := post(t, srv.URL+"/actions/panic", `{}`); a.status != 500 {
			t.Fatalf("panic: got %d %s", a.status, a.body)
		}
		if a := post(t, srv.URL+"/actions/meta", `{}`); a.status != 200 {
			t.Fatalf("after a panic, the same plugin answered %d %s", a.status, a.body)
		}
	}
}

func TestTimeoutAnswers504InTime(t *testing.T) {
	t.Parallel()
	_, srv := startHost(t, nil)
	const budget = 300 * time.Millisecond // the "slow" action's own timeout
	for name, body := range map[string]string{
		"handler ignores its deadline": `{"ms":5000}`,
		"handler honours its deadline": `{"ms":5000,"honourDeadline":true}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			a := post(t, srv.URL+"/actions/slow", body)
			took := time.Since(start)
			if a.status != 504 || a.errorBody(t)["code"] != "timeout" {
				t.Fatalf("got %d %s, want 504 timeout", a.status, a.body)
			}
			if took > budget+100*time.Millisecond {
				t.Errorf("answered after %v, want within %v", took, budget+100*time.Millisecond)
			}
		})
	}
	if a := post(t, srv.URL+"/actions/slow", `{"ms":10}`); a.status != 200 {
		t.Errorf("a fast call: %d %s", a.status, a.body)
	}
}

func TestConfigTimeoutOverridesPlugin(t *testing.T) {
	t.Parallel()
	_, srv := startHost(t, func(c *config.Config) {
		c.Actions["slow"] = config.Action{Timeout: time.Second}
	})
	if a := post(t, srv.URL+"/actions/slow", `{"ms":500}`); a.status != 200 {
		t.Errorf("500ms within a 1s config budget: %d %s", a.status, a.body)
	}
}

func TestPluginThatDiesAnswers503(t *testing.T) {
	t.Parallel()
	_, srv := startHost(t, nil)
	a := post(t, srv.URL+"/actions/exit", `{}`)
	if a.status != 503 || a.errorBody(t)["code"] != "plugin_unavailable" {
		t.Fatalf("got %d %s, want 503 plugin_unavailable", a.status, a.body)
	}
	if a.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	// The dead plugin's other actions fail the same way; other plugins serve.
	if a := post(t, srv.URL+"/actions/meta", `{}`); a.status != 503 {
		t.Errorf("dead plugin's other action: %d %s", a.status, a.body)
	}
	if a := post(t, srv.URL+"/actions/echo", `{"message":"x"}`); a.status != 200 {
		t.Errorf("another plugin: %d %s", a.status, a.body)
	}
}

func TestPluginSeesNoHostEnvironment(t *testing.T) {
	const canary = "canary-6a1f0c9e-host-secret"
	t.Setenv("SWITCHBOARD_TEST_CANARY", canary)
	_, srv := startHost(t, nil)
	a := post(t, srv.URL+"/actions/env", `{}`)
	if a.status != 200 {
		t.Fatalf("env: %d %s", a.status, a.body)
	}
	if strings.Contains(string(a.body), canary) {
		t.Fatalf("the plugin read the host's environment: %s", a.body)
	}
	var out struct {
		Env []string `json:"env"`
		WD  string   `json:"wd"`
	}
	if err := json.Unmarshal(a.body, &out); err != nil {
		t.Fatal(err)
	}
	allowed := []string{"TMPDIR=", "HOME=", "SWITCHBOARD_LOG_LEVEL=", "GOMAXPROCS=", "SWITCHBOARD_PLUGIN=", "PLUGIN_"}
	for _, kv := range out.Env {
		ok := false
		for _, p := range allowed {
			ok = ok || strings.HasPrefix(kv, p)
		}
		if !ok {
			t.Errorf("unexpected variable in the plugin's environment: %s", kv)
		}
	}
	if wd, _ := os.Getwd(); out.WD == wd {
		t.Errorf("the plugin runs in the host's working directory %s", wd)
	}
}

func TestMappingAndMetadata(t *testing.T) {
	t.Parallel()
	_, srv := startHost(t, nil)
	headers := map[string]string{"ININ-Correlation-Id": "corr-1", "ININ-Organization-Id": "org-1", "ININ-User-Id": "user-9"}
	a := do(t, "POST", srv.URL+"/actions/lookup", "application/json", []byte(`{"user":{"id":"u-1"},"ignored":true}`), headers)
	want := `{"lang":"en-IE","org":"org-1","requestId":"corr-1","userId":"u-1"}`
	if a.status != 200 || string(a.body) != want {
		t.Errorf("lookup: %d %s, want %s", a.status, a.body, want)
	}
	a = do(t, "POST", srv.URL+"/actions/meta", "application/json", []byte(`{}`), headers)
	var md map[string]any
	json.Unmarshal(a.body, &md)
	for k, v := range map[string]any{"requestId": "corr-1", "correlationId": "corr-1", "organizationId": "org-1", "userId": "user-9", "deadlineSet": true, "action": "meta"} {
		if md[k] != v {
			t.Errorf("meta %s = %v, want %v (%s)", k, md[k], v, a.body)
		}
	}
}

func TestConfigMappingOverridesPlugin(t *testing.T) {
	t.Parallel()
	_, srv := startHost(t, func(c *config.Config) {
		c.Actions["lookup"] = config.Action{Mapping: nil}
		cfg, err := config.Parse("test.hcl", []byte(`action "lookup" {
			mapping = { "/userId" = "/data/uid" }
			mapping_defaults = { "/userId" = "nobody" }
		}`))
		if err != nil {
			t.Fatal(err)
		}
		c.Actions = cfg.Actions
	})
	if a := post(t, srv.URL+"/actions/lookup", `{"uid":"u-2"}`); string(a.body) != `{"userId":"u-2"}` {
		t.Errorf("config mapping: %d %s", a.status, a.body)
	}
	if a := post(t, srv.URL+"/actions/lookup", `{}`); string(a.body) != `{"userId":"nobody"}` {
		t.Errorf("config mapping default: %d %s", a.status, a.body)
	}
}

func TestInboundAuth(t *testing.T) {
	t.Parallel()
	const password, key = "correct-horse-battery", "k-0123456789abcdef-key"
	_, srv := startHost(t, func(c *config.Config) {
		c.Inbound = config.Inbound{
			Basic:  &config.Basic{Username: "genesys", Password: password},
			APIKey: &config.APIKey{Header: "X-Switchboard-Key", Keys: []string{"another-key-0000000", key}},
		}
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
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := do(t, "POST", srv.URL+"/actions/echo", "application/json", []byte(`{"message":"x"}`), tc.header)
			if a.status != tc.want {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tc.want)
			}
			if tc.want == 401 {
				if a.errorBody(t)["code"] != "unauthorized" || !strings.Contains(a.header.Get("WWW-Authenticate"), "Basic") {
					t.Errorf("401 body %s, WWW-Authenticate %q", a.body, a.header.Get("WWW-Authenticate"))
				}
				if strings.Contains(string(a.body), password) || strings.Contains(string(a.body), key) {
					t.Error("a credential is echoed in the answer")
				}
			}
		})
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if a := do(t, "GET", srv.URL+path, "", nil, nil); a.status != 200 {
			t.Errorf("%s without credentials: %d", path, a.status)
		}
	}
}

func TestReadyzBeforeLoad(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.PluginDir = pluginDir
	host, err := app.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	srv := httptest.NewServer(host.Handler())
	defer srv.Close()
	if a := do(t, "GET", srv.URL+"/readyz", "", nil, nil); a.status != 503 {
		t.Errorf("readyz before load: %d", a.status)
	}
	if _, err := host.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a := do(t, "GET", srv.URL+"/readyz", "", nil, nil); a.status != 200 {
		t.Errorf("readyz after load: %d", a.status)
	}
}

func TestServeRefusesWithoutInboundAuth(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	if err := app.CheckInbound(cfg, false); err == nil || !strings.Contains(err.Error(), "--dev") {
		t.Errorf("CheckInbound without auth = %v, want a refusal naming --dev", err)
	}
	if err := app.CheckInbound(cfg, true); err != nil {
		t.Errorf("CheckInbound --dev = %v", err)
	}
}
