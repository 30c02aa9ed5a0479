package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
)

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

func TestFetchUserProfile(t *testing.T) {
	t.Parallel()
	g := startSim(t, sim.Options{})
	_, srv := startHost(t, withGenesys(g, nil))
	a := post(t, srv.URL+"/actions/fetchUserProfile", `{"userId":"`+sim.AgentUserID+`"}`)
	var u map[string]string
	if a.status != 200 || json.Unmarshal(a.body, &u) != nil || u["id"] != sim.AgentUserID || u["name"] != "Aoife Byrne" || u["email"] == "" {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	a = post(t, srv.URL+"/actions/fetchUserProfile", `{"userId":"00000000-0000-0000-0000-000000000000"}`)
	if a.status != 404 || a.errorBody(t)["code"] != "user_not_found" {
		t.Errorf("unknown user: %d %s", a.status, a.body)
	}
	a = post(t, srv.URL+"/actions/fetchUserProfile", `{}`)
	if a.status != 400 || a.errorBody(t)["code"] != "invalid_input" {
		t.Errorf("no userId: %d %s", a.status, a.body)
	}
	if st := g.Stats(); st.TokenRequests != 1 {
		t.Errorf("%d token requests, want 1", st.TokenRequests)
	}
}

func TestFetchUserProfileWhenGenesysFails(t *testing.T) {
	t.Parallel()
	g := startSim(t, sim.Options{})
	_, srv := startHost(t, withGenesys(g, nil))
	if err := g.AddFault(sim.Fault{Path: "/api/v2/users", Status: 503, Count: -1}); err != nil {
		t.Fatal(err)
	}
	a := post(t, srv.URL+"/actions/fetchUserProfile", `{"userId":"`+sim.AgentUserID+`"}`)
	e := a.errorBody(t)
	if a.status != 503 || e["code"] != "genesys_unavailable" || e["retryable"] != true || !strings.Contains(e["message"].(string), "after 3 attempt") {
		t.Errorf("persistent 503: %d %s", a.status, a.body)
	}
	if n := g.Stats().APIByStatus[503]; n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

// TestOutboundCallsEndWithTheActionsBudget: a downstream slower than the
// action's budget gets the action a 504, before the downstream would have
// answered, even for a call made without a context.
func TestOutboundCallsEndWithTheActionsBudget(t *testing.T) {
	t.Parallel()
	g := startSim(t, sim.Options{})
	_, srv := startHost(t, func(c *config.Config) {
		withGenesys(g, nil)(c)
		c.Actions["fetchUserProfile"] = config.Action{Timeout: time.Second}
		c.Actions["callOut"] = config.Action{Timeout: time.Second}
	})
	const latency = 5 * time.Second
	if err := g.AddFault(sim.Fault{Path: "/api/v2/users", Latency: latency, Count: -1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a := post(t, srv.URL+"/actions/fetchUserProfile", `{"userId":"`+sim.AgentUserID+`"}`)
	if took := time.Since(start); a.status != 504 || took >= latency {
		t.Errorf("a 5s downstream under a 1s budget: %d %s after %v", a.status, a.body, took)
	}
	// callOut makes its request without a context: the action's deadline applies anyway.
	start = time.Now()
	a = post(t, srv.URL+"/actions/callOut", `{"connection":"genesys","url":"/api/v2/users/x"}`)
	if took := time.Since(start); a.status != 504 || took >= latency {
		t.Errorf("callOut: %d %s after %v", a.status, a.body, took)
	}
}

func TestOutboundRefusals(t *testing.T) {
	t.Parallel()
	g := startSim(t, sim.Options{})
	var reached sync.Map
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Store(r.URL.Path, true) }))
	defer elsewhere.Close()
	_, srv := startHost(t, withGenesys(g, nil))
	tests := map[string]struct {
		body     string
		wantCode string
	}{
		"undeclared connection":  {`{"connection":"crm","url":"/x"}`, "outbound_refused"},
		"another host":           {`{"connection":"genesys","url":"` + elsewhere.URL + `/leak"}`, "outbound_refused"},
		"plugin's Authorization": {`{"connection":"genesys","url":"/api/v2/users/x","headerName":"Authorization","headerValue":"Bearer mine"}`, "outbound_refused"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := post(t, srv.URL+"/actions/callOut", tc.body)
			if a.status != 403 || a.errorBody(t)["code"] != tc.wantCode {
				t.Errorf("got %d %s, want 403 %s", a.status, a.body, tc.wantCode)
			}
		})
	}
	t.Cleanup(func() {
		reached.Range(func(k, _ any) bool {
			t.Errorf("a refused call reached %v", k)
			return true
		})
		if n := g.Stats().APIRequests; n != 0 {
			t.Errorf("%d refused calls reached Genesys", n)
		}
	})
}

func TestConnectionNotConfigured(t *testing.T) {
	t.Parallel()
	_, srv := startHost(t, nil)
	a := post(t, srv.URL+"/actions/callOut", `{"connection":"genesys","url":"/x"}`)
	if a.status != 500 || a.errorBody(t)["code"] != "connection_not_configured" {
		t.Errorf("got %d %s", a.status, a.body)
	}
}

func TestSecretsNeverReachAPlugin(t *testing.T) {
	t.Parallel()
	const secret = "canary-client-secret-5d2c9a"
	g := startSim(t, sim.Options{ClientSecret: secret})
	var logs bytes.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &syncWriter{w: &logs}, Level: hclog.Trace})
	_, srv := startHostWithLogger(t, logger, withGenesys(g, nil))

	var answers []string
	for _, call := range []struct{ path, body string }{
		{"/actions/fetchUserProfile", `{"userId":"` + sim.AgentUserID + `"}`},
		{"/actions/callOut", `{"connection":"genesys","url":"/api/v2/users/` + sim.AgentUserID + `"}`},
		{"/actions/callOut", `{"connection":"genesys","url":"/api/v2/users/none"}`},
		{"/actions/env", `{}`},
	} {
		a := post(t, srv.URL+call.path, call.body)
		if a.status >= 500 {
			t.Fatalf("%s: %d %s", call.path, a.status, a.body)
		}
		answers = append(answers, string(a.body))
	}
	tokens := g.seenTokens()
	if len(tokens) == 0 {
		t.Fatal("the simulator saw no token")
	}
	for _, canary := range append(tokens, secret) {
		for i, a := range answers {
			if strings.Contains(a, canary) {
				t.Errorf("answer %d (what the plugin returned, env included) holds a secret: %s", i, a)
			}
		}
		if strings.Contains(logs.String(), canary) {
			t.Errorf("the host's log holds a secret")
		}
	}
}

// syncWriter serializes writes from the host's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
