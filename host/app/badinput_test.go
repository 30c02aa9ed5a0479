package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/config"
)

// runningHost serves the API with its real server settings (timeouts,
// header limits) on 127.0.0.1:0, with an audit file.
func runningHost(t *testing.T) (url, auditPath string) {
	t.Helper()
	auditPath = filepath.Join(t.TempDir(), "audit.log")
	cfg := testConfig()
	cfg.PluginDir = pluginDir
	cfg.ReadHeaderTimeout, cfg.ReadTimeout = time.Second, 2*time.Second
	cfg.Audit = &config.Audit{Path: auditPath}
	host, err := app.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(host.Close)
	if _, err := host.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	api, _, _ := host.HTTPServers()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go api.Serve(ln)
	t.Cleanup(func() { api.Close() })
	return "http://" + ln.Addr().String(), auditPath
}

func TestBadInputSuite(t *testing.T) {
	t.Parallel()
	url, auditPath := runningHost(t)
	deep := strings.Repeat(`{"a":`, 60) + `1` + strings.Repeat(`}`, 60)
	tests := []struct {
		id, method, path, contentType, body string
		header                              map[string]string
		status                              int
		code                                string
	}{
		{"malformed", "POST", "/actions/echo", "application/json", `{"message" "hi"}`, nil, 400, "invalid_json"},
		{"truncated", "POST", "/actions/echo", "application/json", `{"message":"h`, nil, 400, "invalid_json"},
		{"array", "POST", "/actions/echo", "application/json", `[{"message":"hi"}]`, nil, 400, "invalid_json"},
		{"string", "POST", "/actions/echo", "application/json", `"hi"`, nil, 400, "invalid_json"},
		{"null", "POST", "/actions/echo", "application/json", `null`, nil, 400, "invalid_json"},
		{"content-type", "POST", "/actions/echo", "multipart/form-data; boundary=x", `{"message":"hi"}`, nil, 415, "unsupported_media_type"},
		{"nesting", "POST", "/actions/echo", "application/json", `{"message":"x","n":` + deep + `}`, nil, 400, "invalid_json"},
		{"10MiB", "POST", "/actions/echo", "application/json", `{"message":"` + strings.Repeat("x", 10<<20) + `"}`, nil, 413, "body_too_large"},
		{"huge-number", "POST", "/actions/echo", "application/json", `{"message":"x","n":1e400,"m":123456789012345678901234567890}`, nil, 200, "ok"},
		{"exponent", "POST", "/actions/echo", "application/json", `{"message":"x","n":1e1000001}`, nil, 400, "invalid_json"},
		{"long-number", "POST", "/actions/echo", "application/json", `{"message":"x","n":` + strings.Repeat("7", 200) + `}`, nil, 400, "invalid_json"},
		{"duplicate-key", "POST", "/actions/echo", "application/json", `{"message":"x","message":"y"}`, nil, 400, "invalid_json"},
		{"case-twins", "POST", "/actions/echo", "application/json", `{"message":"x","MESSAGE":"y"}`, nil, 400, "invalid_json"},
		{"cross-site", "POST", "/actions/echo", "text/plain", `{"message":"x"}`, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross_origin_refused"},
		{"utf-8", "POST", "/actions/echo", "application/json", "{\"message\":\"\xc3\x28\"}", nil, 400, "invalid_json"},
		{"header-flood", "POST", "/actions/echo", "application/json", `{"message":"x"}`, floodHeaders(100 << 10), 431, "headers_too_large"},
		{"unknown-action", "POST", "/actions/doesNotExist", "application/json", `{}`, nil, 404, "action_not_found"},
		{"long-action", "POST", "/actions/" + strings.Repeat("a", 4000), "application/json", `{}`, nil, 404, "action_not_found"},
		{"traversal-encoded", "POST", "/actions/..%2F..%2Fetc%2Fpasswd", "application/json", `{}`, nil, 400, "invalid_path"},
		{"traversal", "POST", "/actions/../../etc/passwd", "application/json", `{}`, nil, 400, "invalid_path"},
		{"double-slash", "POST", "//actions/echo", "application/json", `{"message":"x"}`, nil, 404, "not_found"}, // "//actions" reads as a host
		{"get", "GET", "/actions/echo", "", ``, nil, 405, "method_not_allowed"},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range tests {
		req, err := http.NewRequest(tc.method, url+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = tc.path // send the path exactly as written
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		req.Header.Set("X-Request-Id", tc.id)
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.id, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), `"`+tc.code+`"`) && tc.status != 200 {
			t.Errorf("%s: %d %.200s, want %d %s", tc.id, resp.StatusCode, body, tc.status, tc.code)
		}
	}
	slowloris(t, url)
	slowBody(t, url)

	// Every request has exactly one audit record with its outcome.
	records := readAudit(t, auditPath)
	for _, tc := range append(tests, struct {
		id, method, path, contentType, body string
		header                              map[string]string
		status                              int
		code                                string
	}{id: "slow-body", status: 400, code: "unreadable_body"}) {
		recs := records[tc.id]
		if len(recs) != 1 || recs[0].Status != tc.status || recs[0].Code != tc.code {
			t.Errorf("%s: audit records %d, first %+v; want one with %d %s", tc.id, len(recs), first(recs), tc.status, tc.code)
		}
	}
	// And the host keeps serving.
	if a := post(t, url+"/actions/echo", `{"message":"still serving"}`); a.status != 200 {
		t.Errorf("after the bad input: %d %s", a.status, a.body)
	}
}

func first[T any](s []*T) any {
	if len(s) == 0 {
		return nil
	}
	return *s[0]
}

// floodHeaders is a set of headers of about n bytes.
func floodHeaders(n int) map[string]string {
	h := map[string]string{}
	for i := 0; i*1000 < n; i++ {
		h[fmt.Sprintf("X-Flood-%d", i)] = strings.Repeat("f", 990)
	}
	return h
}

// slowloris trickles a request's headers; the host drops the connection
// after read_header_timeout while it serves everyone else.
func slowloris(t *testing.T, url string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	done := make(chan time.Duration, 1)
	go func() {
		buf := make([]byte, 1)
		conn.Read(buf) // returns when the host closes the connection
		done <- time.Since(start)
	}()
	fmt.Fprint(conn, "POST /actions/echo HTTP/1.1\r\nHost: x\r\n")
	for i := 0; i < 20; i++ {
		select {
		case took := <-done:
			if took > 3*time.Second {
				t.Errorf("the slow client was dropped after %v", took)
			}
			return
		case <-time.After(200 * time.Millisecond):
			if i == 2 {
				if a := post(t, url+"/actions/echo", `{"message":"meanwhile"}`); a.status != 200 {
					t.Errorf("while a slow client holds a connection: %d", a.status)
				}
			}
			fmt.Fprint(conn, "X")
		}
	}
	t.Error("the slow client was never dropped")
}

// slowBody sends complete headers and then a body too slowly: the read
// timeout ends it with an audited 400.
func slowBody(t *testing.T, url string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /actions/echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-body\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Errorf("slow body: %v", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("slow body: %d", resp.StatusCode)
	}
}
