package outbound

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
)

// What the operator console shows of a connection: the token's state and
// never the token, the circuit, the rate limit.
func TestViewShowsStateNotSecrets(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		now = time.Now()
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c, s, _ := simConn(t, func(cfg *config.Connection) {
		cfg.RateLimit = &config.RateLimit{RequestsPerMinute: 6, Burst: 5} // refills 0.1/s: the limiter keeps real time
	}, Options{Now: clock})
	v := c.View()
	if v.Auth != "oauth2" || v.Token == nil || v.Token.State != "none" || v.Circuit != "closed" || v.RateLimit == nil || v.RateLimit.Used != 0 {
		t.Fatalf("before any call: %+v token %+v rate %+v", v, v.Token, v.RateLimit)
	}
	for range 3 {
		if _, err := c.Do(ctxWithin(t, 5*time.Second), getUser(sim.AgentUserID)); err != nil {
			t.Fatal(err)
		}
	}
	v = c.View()
	if v.Token.State != "valid" || v.Token.ExpiresInSeconds < 60 || v.RateLimit.Used < 2.5 || v.RateLimit.Burst != 5 || v.RateLimit.RequestsPerMinute != 6 {
		t.Fatalf("after 3 calls: token %+v rate %+v", v.Token, v.RateLimit)
	}
	if b, _ := json.Marshal(v); strings.Contains(string(b), s.ClientSecret()) || strings.Contains(string(b), "Bearer") || strings.Contains(string(b), `"access`) {
		t.Fatalf("the view shows a secret: %s", b)
	}
	mu.Lock()
	now = now.Add(48 * time.Hour)
	mu.Unlock()
	if v = c.View(); v.Token.State != "expired" || v.Token.ExpiresInSeconds != 0 {
		t.Fatalf("two days on: %+v", v.Token)
	}

	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) }))
	defer ts.Close()
	base, _ := url.Parse(ts.URL)
	cfg := config.NewConnection("crm", base)
	cfg.APIKey = &config.ConnectionAPIKey{Header: "X-Key", Value: "canary-key-9d1e"}
	cfg.Retry = config.Retry{MaxAttempts: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	cfg.Circuit = config.Circuit{Failures: 2, OpenFor: time.Minute}
	crm := NewConnection(cfg, Options{})
	for range 2 {
		crm.Do(ctxWithin(t, time.Second), &Call{Method: "GET", URL: "/"})
	}
	v = crm.View()
	if b, _ := json.Marshal(v); v.Auth != "api_key" || v.Token != nil || v.RateLimit != nil || v.Circuit != "open" || v.Circuits[""] != "open" || strings.Contains(string(b), "canary-key") {
		t.Fatalf("an API key connection whose circuit opened: %s", b)
	}
}

// A key in the base URL's query never shows.
func TestViewHidesTheBaseURLsQuery(t *testing.T) {
	t.Parallel()
	c, _, _ := simConn(t, func(cfg *config.Connection) {
		q := *cfg.BaseURL
		q.RawQuery = "api_key=canary-5d1e"
		cfg.BaseURL = &q
	}, Options{})
	if v := c.View(); strings.Contains(v.BaseURL, "canary") || !strings.HasSuffix(v.BaseURL, "?…") {
		t.Errorf("base URL shown as %q", v.BaseURL)
	}
}
