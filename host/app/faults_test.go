package app_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
	"github.com/switchboard-dev/switchboard/host/internal/faultproxy"
)

// TestFaultsBetweenHostAndDownstream puts a fault-injecting proxy between
// the host and Genesys Cloud (the simulator): whatever the network or the
// downstream does, the host answers with the status and code the fault
// calls for, when its budget ends rather than when the fault would (each
// would hold a call for three budgets or more: host/pipeline's tests check
// the deadline itself).
func TestFaultsBetweenHostAndDownstream(t *testing.T) {
	t.Parallel()
	const budget = time.Second
	tests := map[string]struct {
		faults    faultproxy.Faults
		simFault  *sim.Fault
		status    int
		codes     []string
		minFaults int64 // simulator faults applied (0: not checked)
	}{
		"latency beyond the deadline": {faults: faultproxy.Faults{Latency: 3 * budget}, status: 504, codes: []string{"timeout", "downstream_timeout"}},
		"connection resets":           {faults: faultproxy.Faults{Reset: true}, status: 502, codes: []string{"downstream_unreachable"}},
		"bandwidth limit":             {faults: faultproxy.Faults{BytesPerSecond: 100}, status: 504, codes: []string{"timeout", "downstream_timeout"}},
		"429 storm":                   {simFault: &sim.Fault{Path: "/api/v2/users", Status: 429, RetryAfter: "1", Count: -1}, status: 503, codes: []string{"genesys_unavailable"}, minFaults: 2},
		"503 storm":                   {simFault: &sim.Fault{Path: "/api/v2/users", Status: 503, Count: -1}, status: 503, codes: []string{"genesys_unavailable"}, minFaults: 3},
		"token endpoint fails":        {simFault: &sim.Fault{Path: "/oauth/token", Status: 500, Count: -1}, status: 502, codes: []string{"token_unavailable"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := startSim(t, sim.Options{})
			simURL, _ := url.Parse(g.URL)
			proxy, err := faultproxy.Start(simURL.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			h := startHost(t, withPlugins("genesys-users"), withConfig(func(c *config.Config) {
				withGenesys(g, func(conn *config.Connection) {
					conn.BaseURL = &url.URL{Scheme: "http", Host: proxy.Addr()} // the API through the proxy, the token endpoint direct
					conn.Circuit = config.Circuit{Failures: 5, OpenFor: 300 * time.Millisecond}
				})(c)
				c.Actions["fetchUserProfile"] = config.Action{Timeout: budget}
			}))
			proxy.Set(tc.faults)
			if tc.simFault != nil {
				if err := g.AddFault(*tc.simFault); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < 3; i++ { // the later calls meet a warm token cache, or an open circuit
				start := time.Now()
				a := h.post(t, "/actions/fetchUserProfile", `{"userId":"`+sim.AgentUserID+`"}`)
				if took := time.Since(start); took >= 2*budget {
					t.Errorf("call %d answered after %v: not when its %v budget ended", i, took, budget)
				}
				code, _ := a.errorBody(t)["code"].(string)
				if code == "circuit_open" && a.status == 503 && i > 0 {
					continue // repeated failures opened the connection's circuit: answered at once
				}
				if a.status != tc.status || !contains(tc.codes, code) {
					t.Errorf("call %d: %d %s, want %d %v", i, a.status, a.body, tc.status, tc.codes)
				}
			}
			if n := g.Stats().FaultsApplied; n < tc.minFaults {
				t.Errorf("%d simulator faults applied, want at least %d", n, tc.minFaults)
			}
			// Once the network is well again, so is the action (after the
			// circuit's open time, one probe closes it).
			proxy.Set(faultproxy.Faults{})
			g.ClearFaults()
			eventually(t, 5*time.Second, "the action succeeds again", func() bool {
				return h.post(t, "/actions/fetchUserProfile", `{"userId":"`+sim.AgentUserID+`"}`).status == 200
			})
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
