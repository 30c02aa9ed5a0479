package app_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
)

func TestFetchUserProfile(t *testing.T) {
	t.Parallel()
	h := startHost(t, withPlugins("genesys-users"), withSim(sim.Options{}))
	g := h.sim
	a := h.post(t, "/actions/fetchUserProfile", `{"userId":"`+sim.AgentUserID+`"}`)
	var u map[string]string
	if a.status != 200 || json.Unmarshal(a.body, &u) != nil || u["id"] != sim.AgentUserID || u["name"] != "Aoife Byrne" || u["email"] == "" {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	a = h.post(t, "/actions/fetchUserProfile", `{"userId":"00000000-0000-0000-0000-000000000000"}`)
	if a.status != 404 || a.errorBody(t)["code"] != "user_not_found" {
		t.Errorf("unknown user: %d %s", a.status, a.body)
	}
	a = h.post(t, "/actions/fetchUserProfile", `{}`)
	if a.status != 400 || a.errorBody(t)["code"] != "invalid_input" {
		t.Errorf("no userId: %d %s", a.status, a.body)
	}
	if st := g.Stats(); st.TokenRequests != 1 {
		t.Errorf("%d token requests, want 1", st.TokenRequests)
	}
}

func TestFetchUserProfileWhenGenesysFails(t *testing.T) {
	t.Parallel()
	h := startHost(t, withPlugins("genesys-users"), withSim(sim.Options{}))
	g := h.sim
	if err := g.AddFault(sim.Fault{Path: "/api/v2/users", Status: 503, Count: -1}); err != nil {
		t.Fatal(err)
	}
	a := h.post(t, "/actions/fetchUserProfile", `{"userId":"`+sim.AgentUserID+`"}`)
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
	h := startHost(t, withPlugins("genesys-users", "testplugin"), withSim(sim.Options{}), withConfig(func(c *config.Config) {
		c.Actions["fetchUserProfile"] = config.Action{Timeout: 500 * time.Millisecond}
		c.Actions["callOut"] = config.Action{Timeout: 500 * time.Millisecond}
	}))
	g := h.sim
	const latency = 5 * time.Second
	if err := g.AddFault(sim.Fault{Path: "/api/v2/users", Latency: latency, Count: -1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a := h.post(t, "/actions/fetchUserProfile", `{"userId":"`+sim.AgentUserID+`"}`)
	if took := time.Since(start); a.status != 504 || took >= latency {
		t.Errorf("a 5s downstream under a 500ms budget: %d %s after %v", a.status, a.body, took)
	}
	// callOut makes its request without a context: the action's deadline applies anyway.
	start = time.Now()
	a = h.post(t, "/actions/callOut", `{"connection":"genesys","url":"/api/v2/users/x"}`)
	if took := time.Since(start); a.status != 504 || took >= latency {
		t.Errorf("callOut: %d %s after %v", a.status, a.body, took)
	}
}

func TestOutboundRefusals(t *testing.T) {
	t.Parallel()
	var reached sync.Map
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Store(r.URL.Path, true) }))
	defer elsewhere.Close()
	h := startHost(t, withPlugins("testplugin"), withSim(sim.Options{}))
	g := h.sim
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
			a := h.post(t, "/actions/callOut", tc.body)
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
	h := startHost(t, withPlugins("testplugin"))
	a := h.post(t, "/actions/callOut", `{"connection":"genesys","url":"/x"}`)
	if a.status != 500 || a.errorBody(t)["code"] != "connection_not_configured" {
		t.Errorf("got %d %s", a.status, a.body)
	}
}

func TestSecretsNeverReachAPlugin(t *testing.T) {
	t.Parallel()
	const secret = "canary-client-secret-5d2c9a"
	h := startHost(t, withPlugins("genesys-users", "testplugin"), withSim(sim.Options{ClientSecret: secret}), withLogs(hclog.Trace, false))
	g := h.sim

	var answers []string
	for _, call := range []struct{ path, body string }{
		{"/actions/fetchUserProfile", `{"userId":"` + sim.AgentUserID + `"}`},
		{"/actions/callOut", `{"connection":"genesys","url":"/api/v2/users/` + sim.AgentUserID + `"}`},
		{"/actions/callOut", `{"connection":"genesys","url":"/api/v2/users/none"}`},
		{"/actions/env", `{}`},
	} {
		a := h.post(t, call.path, call.body)
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
		if strings.Contains(h.logs.String(), canary) {
			t.Errorf("the host's log holds a secret")
		}
	}
}
