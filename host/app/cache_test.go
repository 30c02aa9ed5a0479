package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
	"github.com/switchboard-dev/switchboard/host/internal/testutil"
)

// simUsers are n users of the simulator, "00000000-0000-4000-8000-0000000000NN".
func simUsers(n int) ([]sim.User, []string) {
	users := make([]sim.User, n)
	ids := make([]string, n)
	for i := range users {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		users[i] = sim.User{ID: ids[i], Name: fmt.Sprint("User ", i), Email: fmt.Sprintf("u%d@example.com", i), State: "active", Username: fmt.Sprintf("u%d@example.com", i)}
	}
	return users, ids
}

// cachedUsers is a host whose fetchUserProfile is cached as policy says,
// over a simulator of 50 users.
func cachedUsers(t *testing.T, policy string, more ...hostOption) (*testHost, []string) {
	t.Helper()
	users, ids := simUsers(50)
	h := startHost(t, append([]hostOption{withPlugins("echo", "genesys-users"), withSim(sim.Options{Users: users}), withAudit(),
		withConfig(func(c *config.Config) {
			c.Cache = &config.Cache{Store: config.CacheMemory, MaxBytes: 1 << 20}
			c.Actions["fetchUserProfile"] = config.Action{Cache: parseActionCache(t, policy)}
		})}, more...)...)
	return h, ids
}

// parseActionCache reads an action's cache block as the config file would.
func parseActionCache(t *testing.T, block string) *config.ActionCache {
	t.Helper()
	c, err := config.Parse("t.hcl", []byte("action \"a\" {\n  cache {\n"+block+"\n  }\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	return c.Actions["a"].Cache
}

func (h *testHost) lookup(t *testing.T, id, org string) answer {
	t.Helper()
	return h.send(t, http.MethodPost, "/actions/fetchUserProfile", `{"userId":"`+id+`"}`, map[string]string{"ININ-Organization-Id": org})
}

// TestCacheAnswersRepeatedLookups: 1,000 lookups over 50 users make 50
// calls to Genesys Cloud; each answer says hit or miss in Cache-Status,
// the audit record and the metrics; another organization's lookup of the
// same user misses; a purge empties the action.
func TestCacheAnswersRepeatedLookups(t *testing.T) {
	t.Parallel()
	h, ids := cachedUsers(t, `ttl = "5m"`)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	var mu sync.Mutex
	statuses := map[string]int{}
	for i := range 1000 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			a := h.lookup(t, ids[i%50], "org-a")
			if a.status != 200 || !strings.Contains(string(a.body), ids[i%50]) {
				t.Errorf("lookup %d: %d %s", i, a.status, a.body)
			}
			mu.Lock()
			statuses[a.header.Get("Cache-Status")]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if st := h.sim.Stats(); st.APIRequests > 50 {
		t.Errorf("%d calls to Genesys Cloud for 50 users", st.APIRequests)
	}
	hit := 0
	for cs, n := range statuses {
		if strings.HasPrefix(cs, "switchboard; hit; ttl=") {
			hit += n
		}
	}
	stored, collapsed := statuses["switchboard; fwd=uri-miss; stored"], statuses["switchboard; fwd=uri-miss; collapsed"]
	if stored != 50 || hit+stored+collapsed != 1000 {
		t.Errorf("Cache-Status counts %v: want 50 stored misses, the rest hits or collapsed misses", statuses)
	}

	a := h.lookup(t, ids[0], "org-b")
	if cs := a.header.Get("Cache-Status"); cs != "switchboard; fwd=uri-miss; stored" {
		t.Errorf("another organization's lookup: %q", cs)
	}
	if a := h.lookup(t, ids[0], "org-b"); a.header.Get("Cache-Status") != "switchboard; hit; ttl=299" && a.header.Get("Cache-Status") != "switchboard; hit; ttl=300" {
		t.Errorf("its second lookup: %q", a.header.Get("Cache-Status"))
	}
	records := testutil.AuditByID(t, h.auditPath)
	hits := 0
	for _, rs := range records {
		for _, r := range rs {
			if r.Cache == "hit" {
				hits++
			}
		}
	}
	if hits != hit+1 { // and org-b's second lookup
		t.Errorf("%d audit records say hit, Cache-Status %d (+1)", hits, hit)
	}
	metrics := h.send(t, "GET", "/metrics", "", nil).body
	if !strings.Contains(string(metrics), `switchboard_cache_requests_total{action="fetchUserProfile",result="hit"}`) || !strings.Contains(string(metrics), "switchboard_cache_bytes ") {
		t.Errorf("no cache metrics:\n%s", grep(metrics, "switchboard_cache"))
	}

	p := h.send(t, "DELETE", "/admin/cache/fetchUserProfile", "", nil)
	if p.status != 200 || !strings.Contains(string(p.body), `"purged": 51`) {
		t.Errorf("purge: %d %s", p.status, p.body)
	}
	if a := h.lookup(t, ids[1], "org-a"); !strings.Contains(a.header.Get("Cache-Status"), "fwd=uri-miss") {
		t.Errorf("after the purge: %q", a.header.Get("Cache-Status"))
	}
	if a := h.send(t, "POST", "/actions/echo", `{"message":"x"}`, nil); a.header.Get("Cache-Status") != "" {
		t.Errorf("an action without a cache policy says %q", a.header.Get("Cache-Status"))
	}
}

// TestCacheServesStaleWhenGenesysFails: past its ttl an entry is fetched
// again; while Genesys Cloud answers 503 it is served stale, saying so;
// past stale_if_error the failure is the answer.
func TestCacheServesStaleWhenGenesysFails(t *testing.T) {
	t.Parallel()
	h, ids := cachedUsers(t, "ttl = \"1s\"\n    stale_if_error = \"2s\"")
	if a := h.lookup(t, ids[0], "org"); a.status != 200 {
		t.Fatalf("first: %d %s", a.status, a.body)
	}
	time.Sleep(1100 * time.Millisecond) // past ttl
	calls := h.sim.Stats().APIRequests
	if a := h.lookup(t, ids[0], "org"); a.status != 200 || !strings.Contains(a.header.Get("Cache-Status"), "fwd=uri-miss") || h.sim.Stats().APIRequests != calls+1 {
		t.Fatalf("past ttl: %d %q", a.status, a.header.Get("Cache-Status"))
	}
	time.Sleep(1100 * time.Millisecond)
	if err := h.sim.AddFault(sim.Fault{Path: "/api/v2/users", Status: 503, Count: -1}); err != nil {
		t.Fatal(err)
	}
	a := h.lookup(t, ids[0], "org")
	if cs := a.header.Get("Cache-Status"); a.status != 200 || !strings.Contains(string(a.body), ids[0]) || !strings.Contains(cs, "fwd=stale; fwd-status=503") || !strings.Contains(cs, `detail="stale-if-error"`) {
		t.Errorf("Genesys failing within stale_if_error: %d %q %s", a.status, cs, a.body)
	}
	time.Sleep(2 * time.Second) // past ttl + stale_if_error
	if a := h.lookup(t, ids[0], "org"); a.status < 500 {
		t.Errorf("past stale_if_error: %d %s", a.status, a.body)
	}
}

// TestAPluginSuggestsTheConfigDecides: a plugin's suggested policy caches
// its action (a memory store is there without a cache block); the config's
// ttl = "0s" turns it off.
func TestAPluginSuggestsTheConfigDecides(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, block string
		second      string
	}{
		{"suggested", "", "switchboard; hit; ttl=2"}, // 29 or 30 s left
		{"turned off", `ttl = "0s"`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := startHost(t, withPlugins("testplugin"), withConfig(func(cfg *config.Config) {
				if c.block != "" {
					cfg.Actions["serviceStatus"] = config.Action{Cache: parseActionCache(t, c.block)}
				}
			}))
			h.post(t, "/actions/serviceStatus", `{}`)
			if got := h.post(t, "/actions/serviceStatus", `{}`).header.Get("Cache-Status"); !strings.HasPrefix(got, c.second) || (c.second == "") != (got == "") {
				t.Errorf("second call: Cache-Status %q, want %q", got, c.second)
			}
		})
	}
}
