package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/catalog"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
	"github.com/switchboard-dev/switchboard/host/internal/testutil"
)

// The tests of this package run real plugin binaries, sandboxed, in hosts
// built as serve builds them: what only real processes can show (the wire,
// the sandbox, crashes, the plugins directory, downstream calls). The HTTP
// contract is tested in host/server, the supervisor's state machine in
// host/catalog, both in memory.

// pluginDir holds the real plugin binaries, built once in TestMain;
// launcher is the sandbox launcher; badContract a plugin whose contract
// breaks a Genesys Cloud rule.
var pluginDir, launcher, badContract string

func TestMain(m *testing.M) {
	testutil.Main(m, "app", func(dir string) error {
		bin, plugins := filepath.Join(dir, "bin"), []string{"echo", "genesys-users", "testplugin"}
		pluginDir, launcher, badContract = filepath.Join(dir, "plugins"), filepath.Join(bin, "switchboard-sandbox"), filepath.Join(bin, "badcontract")
		if err := os.Mkdir(pluginDir, 0o755); err != nil {
			return err
		}
		// One go build links them all, in parallel.
		if err := testutil.Build(bin, "plugins/echo", "plugins/genesys-users", "host/internal/testplugin", "host/internal/badcontract", "host/cmd/switchboard-sandbox"); err != nil {
			return err
		}
		for _, p := range plugins {
			if err := os.Link(filepath.Join(bin, p), filepath.Join(pluginDir, p)); err != nil {
				return err
			}
		}
		return nil
	})
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

// testHost is a host over real plugins, its API served by the host's own
// HTTP server (limits, TLS) on 127.0.0.1:0.
type testHost struct {
	*app.Host
	URL       string
	auditPath string // with withAudit
	logs      *testutil.Buffer
	sim       *genesysSim       // with withSim
	auth      map[string]string // the headers of withBasicAuth's credential
	client    *http.Client
}

type hostSetup struct {
	cfg     *config.Config
	opts    app.Options
	plugins []string // nil: all of pluginDir
	sim     *sim.Options
	audit   bool
	basic   bool
	mutate  []func(*config.Config)
	client  *http.Client
	logs    hclog.LoggerOptions
}

// hostOption changes how startHost builds a host.
type hostOption func(*hostSetup)

// withConfig changes the config, after the other options.
func withConfig(f func(*config.Config)) hostOption {
	return func(s *hostSetup) { s.mutate = append(s.mutate, f) }
}

func withOptions(o app.Options) hostOption { return func(s *hostSetup) { s.opts = o } }

// withPlugins runs only the named plugins, from a directory of the test's
// own (so that the test may change it).
func withPlugins(names ...string) hostOption {
	return func(s *hostSetup) { s.plugins = append([]string{}, names...) }
}

// withSupervision watches the plugins as serve does, fast.
func withSupervision(sup catalog.Supervision) hostOption {
	return func(s *hostSetup) { s.opts.Supervision = sup }
}

// withSim points the genesys connection at a simulator of the test's own.
func withSim(o sim.Options) hostOption { return func(s *hostSetup) { s.sim = &o } }

// withAudit writes the audit log to a file of the test's own.
func withAudit() hostOption { return func(s *hostSetup) { s.audit = true } }

// withBasicAuth requires inbound Basic auth; requests carry it unless sent
// with as(…, false).
func withBasicAuth() hostOption { return func(s *hostSetup) { s.basic = true } }

// withLogs sets the level and format of the host's log (default: info, JSON).
func withLogs(level hclog.Level, json bool) hostOption {
	return func(s *hostSetup) { s.logs.Level, s.logs.JSONFormat = level, json }
}

// withClient sends requests with c (TLS client settings).
func withClient(c *http.Client) hostOption { return func(s *hostSetup) { s.client = c } }

const basicPassword = "canary-basic-password-81f3"

// fastSupervision watches the directory and reacts in tens of milliseconds.
var fastSupervision = catalog.Supervision{
	Watch:          true,
	Debounce:       100 * time.Millisecond,
	HealthInterval: -1,
	RestartDelay:   20 * time.Millisecond,
	Grace:          200 * time.Millisecond,
}

// startHost builds, loads and serves a host; the test's cleanup stops it.
func startHost(t *testing.T, options ...hostOption) *testHost {
	t.Helper()
	s := &hostSetup{cfg: testConfig(), client: http.DefaultClient, logs: hclog.LoggerOptions{Level: hclog.Info, JSONFormat: true}}
	for _, o := range options {
		o(s)
	}
	h := &testHost{logs: &testutil.Buffer{}, client: s.client}
	if s.plugins != nil {
		s.cfg.PluginDir = privateDir(t, s.plugins...)
	}
	if s.sim != nil {
		h.sim = startSim(t, *s.sim)
		withGenesys(h.sim, nil)(s.cfg)
	}
	if s.audit {
		h.auditPath = filepath.Join(t.TempDir(), "audit.log")
		s.cfg.Audit = &config.Audit{Path: h.auditPath}
	}
	if s.basic {
		s.cfg.Inbound.Basic = &config.Basic{Username: "genesys", Password: basicPassword}
		req, _ := http.NewRequest("GET", "/", nil)
		req.SetBasicAuth("genesys", basicPassword)
		h.auth = map[string]string{"Authorization": req.Header.Get("Authorization")}
	}
	for _, f := range s.mutate {
		f(s.cfg)
	}
	s.logs.Output = h.logs
	logger := hclog.New(&s.logs)
	host, err := app.NewWithOptions(s.cfg, logger, s.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(host.Close)
	if _, err := host.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.Host = host
	api, _, _ := host.HTTPServers()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if api.TLSConfig != nil {
		scheme = "https"
		go api.ServeTLS(ln, "", "")
	} else {
		go api.Serve(ln)
	}
	t.Cleanup(func() { api.Close() })
	h.URL = scheme + "://" + ln.Addr().String()
	return h
}

// privateDir copies the named built plugins into a directory of the test's own.
func privateDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		copyFile(t, filepath.Join(pluginDir, n), filepath.Join(dir, n))
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
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

// send sends a request with the host's credential, if it requires one.
func (h *testHost) send(t *testing.T, method, path, body string, header map[string]string) answer {
	t.Helper()
	return h.request(t, method, path, body, header, true)
}

func (h *testHost) post(t *testing.T, path, body string) answer {
	t.Helper()
	return h.request(t, http.MethodPost, path, body, nil, true)
}

// as sends a request under a request id, with or without the credential.
func (h *testHost) as(t *testing.T, method, path, body, id string, auth bool) answer {
	t.Helper()
	return h.request(t, method, path, body, map[string]string{"X-Request-Id": id}, auth)
}

func (h *testHost) request(t *testing.T, method, path, body string, header map[string]string, auth bool) answer {
	t.Helper()
	req, err := http.NewRequest(method, h.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth {
		for k, v := range h.auth {
			req.Header.Set(k, v)
		}
	}
	a := testutil.Do(t, h.client, req, header)
	return answer{status: a.Status, header: a.Header, body: a.Body}
}

// views are the host's plugins by name, as the admin API shows them.
func (h *testHost) views(t *testing.T) map[string]catalog.PluginView {
	t.Helper()
	a := h.send(t, "GET", "/admin/plugins", "", nil)
	var views []catalog.PluginView
	if err := json.Unmarshal(a.body, &views); err != nil {
		t.Fatalf("/admin/plugins: %v: %s", err, a.body)
	}
	out := map[string]catalog.PluginView{}
	for _, v := range views {
		out[v.Name] = v
	}
	return out
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// genesysSim is a Genesys Cloud simulator that remembers the bearer tokens
// it has seen, so that tests can look for them where they must not be.
type genesysSim struct {
	*sim.Server
	URL          string
	hits         atomic.Int64 // every request, whatever its path
	mu           sync.Mutex
	tokens       []string
	traceparents []string
}

func startSim(t *testing.T, opts sim.Options) *genesysSim {
	t.Helper()
	g := &genesysSim{Server: sim.New(opts)}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hits.Add(1)
		g.mu.Lock()
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			g.tokens = append(g.tokens, tok)
		}
		if tp := r.Header.Get("Traceparent"); tp != "" {
			g.traceparents = append(g.traceparents, tp)
		}
		g.mu.Unlock()
		g.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	g.URL = ts.URL
	return g
}

func (g *genesysSim) seenTraceparents() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.traceparents...)
}

func (g *genesysSim) seenTokens() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.tokens...)
}

// withGenesys points the host's genesys connection at the simulator.
func withGenesys(g *genesysSim, mutate func(*config.Connection)) func(*config.Config) {
	return func(c *config.Config) {
		base, _ := url.Parse(g.URL)
		conn := config.NewConnection("genesys", base)
		conn.OAuth2 = &config.OAuth2{TokenURL: g.URL + "/oauth/token", ClientID: g.ClientID(), ClientSecret: g.ClientSecret(), ExpiryBuffer: time.Minute}
		conn.Retry = config.Retry{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}
		if mutate != nil {
			mutate(conn)
		}
		c.Connections["genesys"] = conn
	}
}

// grep returns the lines of b that hold s.
func grep(b []byte, s string) string {
	var out []string
	for _, l := range bytes.Split(b, []byte("\n")) {
		if bytes.Contains(l, []byte(s)) {
			out = append(out, string(l))
		}
	}
	return strings.Join(out, "\n")
}
