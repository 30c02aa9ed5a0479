package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
)

// simConn starts a Genesys Cloud simulator and a connection to it.
func simConn(t *testing.T, mutate func(*config.Connection), opts Options) (*Connection, *sim.Server, *Counters) {
	t.Helper()
	s := sim.New(sim.Options{})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	base, _ := url.Parse(ts.URL)
	cfg := config.NewConnection("genesys", base)
	cfg.OAuth2 = &config.OAuth2{TokenURL: ts.URL + "/oauth/token", ClientID: s.ClientID(), ClientSecret: s.ClientSecret(), ExpiryBuffer: time.Minute}
	cfg.Retry = config.Retry{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}
	if mutate != nil {
		mutate(cfg)
	}
	counters := &Counters{}
	if opts.Observer == nil {
		opts.Observer = counters
	}
	return NewConnection(cfg, opts), s, counters
}

func getUser(id string) *Call {
	return &Call{Method: http.MethodGet, URL: "/api/v2/users/" + id, Header: http.Header{"Accept": {"application/json"}}}
}

func ctxWithin(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestFetchesAUserWithAToken(t *testing.T) {
	t.Parallel()
	c, s, counters := simConn(t, nil, Options{})
	resp, err := c.Do(ctxWithin(t, 5*time.Second), getUser(sim.AgentUserID))
	if err != nil {
		t.Fatal(err)
	}
	var u struct{ ID, Name string }
	if resp.Status != 200 || json.Unmarshal(resp.Body, &u) != nil || u.ID != sim.AgentUserID || resp.Attempts != 1 {
		t.Fatalf("got %d %s (attempts %d)", resp.Status, resp.Body, resp.Attempts)
	}
	if st := s.Stats(); st.TokenRequests != 1 || st.APIRequests != 1 {
		t.Errorf("sim stats %+v", st)
	}
	if cc := counters.Get("genesys"); cc.Requests != 1 || cc.Attempts != 1 || cc.TokenRefreshes != 1 || cc.RequestsByStatus[200] != 1 {
		t.Errorf("counters %+v", cc)
	}
}

func TestConcurrentCallsShareOneToken(t *testing.T) {
	t.Parallel()
	c, s, _ := simConn(t, func(cfg *config.Connection) { cfg.MaxConcurrency = 200 }, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Do(ctxWithin(t, 10*time.Second), getUser(sim.AgentUserID))
			if err == nil && resp.Status != 200 {
				err = errors.New(resp.Header.Get("Content-Type") + string(resp.Body))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.TokenRequests != 1 || st.APIRequests != 200 {
		t.Errorf("200 concurrent calls: %d token requests (want 1), %d API requests", st.TokenRequests, st.APIRequests)
	}
}

func TestExpiredTokenIsRefreshedOnce(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	c, s, _ := simConn(t, nil, Options{Now: now})
	ctx := ctxWithin(t, 10*time.Second)
	for i := 0; i < 3; i++ {
		if _, err := c.Do(ctx, getUser(sim.AgentUserID)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Stats().TokenRequests; n != 1 {
		t.Fatalf("%d token requests before expiry, want 1", n)
	}
	// The simulator's tokens live 24 h; one minute before that (the expiry
	// buffer) the cache must fetch a new one, once.
	offset.Store(int64(24*time.Hour - 30*time.Second))
	for i := 0; i < 3; i++ {
		if _, err := c.Do(ctx, getUser(sim.AgentUserID)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Stats().TokenRequests; n != 2 {
		t.Errorf("%d token requests after expiry, want 2", n)
	}
}

func TestUnauthorizedRefreshesAndRetriesOnce(t *testing.T) {
	t.Parallel()
	c, s, _ := simConn(t, nil, Options{})
	ctx := ctxWithin(t, 10*time.Second)
	if _, err := c.Do(ctx, getUser(sim.AgentUserID)); err != nil {
		t.Fatal(err)
	}
	s.RevokeTokens()
	// A POST would never be retried for a failure; a 401 means it was not run.
	resp, err := c.Do(ctx, &Call{Method: http.MethodGet, URL: "/api/v2/users/" + sim.AgentUserID})
	if err != nil || resp.Status != 200 || resp.Attempts != 2 {
		t.Fatalf("after revocation: %v %+v", err, resp)
	}
	st := s.Stats()
	if st.TokenRequests != 2 || st.APIByStatus[401] != 1 || st.APIRequests != 3 {
		t.Errorf("sim stats %+v: want 2 token requests, one 401, 3 API requests", st)
	}
	// Revoked again and the token endpoint refuses: the 401 is the answer, once.
	s.RevokeTokens()
	if err := s.AddFault(sim.Fault{Path: "/oauth/token", Status: 500, Count: -1}); err != nil {
		t.Fatal(err)
	}
	resp, err = c.Do(ctx, getUser(sim.AgentUserID))
	if err != nil || resp.Status != 401 {
		t.Errorf("refresh failing: %v %+v, want the 401", err, resp)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	for name, retryAfter := range map[string]func() string{
		"seconds":   func() string { return "1" },
		"HTTP date": func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, s, counters := simConn(t, nil, Options{})
			if err := s.AddFault(sim.Fault{Path: "/api/v2/users", Status: 429, RetryAfter: retryAfter(), Count: 1}); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			resp, err := c.Do(ctxWithin(t, 10*time.Second), getUser(sim.AgentUserID))
			if err != nil || resp.Status != 200 || resp.Attempts != 2 {
				t.Fatalf("%v %+v", err, resp)
			}
			// An HTTP date has whole-second resolution: at least 1 s remains.
			if waited := time.Since(start); waited < 900*time.Millisecond {
				t.Errorf("retried after %v, before Retry-After", waited)
			}
			if cc := counters.Get("genesys"); cc.Retries != 1 || cc.AttemptsByStatus[429] != 1 {
				t.Errorf("counters %+v", cc)
			}
		})
	}
}

func TestRetryAfterBeyondTheDeadlineReturnsTheLastAnswer(t *testing.T) {
	t.Parallel()
	c, s, _ := simConn(t, nil, Options{})
	if err := s.AddFault(sim.Fault{Path: "/api/v2/users", Status: 429, RetryAfter: "30", Count: -1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := c.Do(ctxWithin(t, time.Second), getUser(sim.AgentUserID))
	if err != nil || resp.Status != 429 || resp.Attempts != 1 {
		t.Fatalf("%v %+v: want the 429 at once", err, resp)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("took %v: it waited for a retry that could not fit the deadline", took)
	}
}

func TestPersistent503GivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	c, s, _ := simConn(t, nil, Options{})
	ctx := ctxWithin(t, 10*time.Second)
	if _, err := c.Do(ctx, getUser(sim.AgentUserID)); err != nil { // token first
		t.Fatal(err)
	}
	if err := s.AddFault(sim.Fault{Path: "/api/v2/users", Status: 503, Count: -1}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(ctx, getUser(sim.AgentUserID))
	if err != nil || resp.Status != 503 || resp.Attempts != 3 {
		t.Fatalf("%v %+v: want the 503 after 3 attempts", err, resp)
	}
	if n := s.Stats().APIByStatus[503]; n != 3 {
		t.Errorf("%d attempts reached the simulator, want 3", n)
	}
}

func TestWhichCallsAreRetried(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		call *Call
		want int
	}{
		"GET":                          {&Call{Method: "GET", URL: "/api/v2/users/x"}, 3},
		"PUT":                          {&Call{Method: "PUT", URL: "/api/v2/users/x"}, 3},
		"DELETE":                       {&Call{Method: "DELETE", URL: "/api/v2/users/x"}, 3},
		"POST":                         {&Call{Method: "POST", URL: "/api/v2/users/x", Body: []byte(`{}`)}, 1},
		"PATCH":                        {&Call{Method: "PATCH", URL: "/api/v2/users/x", Body: []byte(`{}`)}, 1},
		"POST of an idempotent action": {&Call{Method: "POST", URL: "/api/v2/users/x", Body: []byte(`{}`), Idempotent: true}, 3},
		"POST with Idempotency-Key":    {&Call{Method: "POST", URL: "/api/v2/users/x", Body: []byte(`{}`), Header: http.Header{"Idempotency-Key": {"k-1"}}}, 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var bodies []string
			var mu sync.Mutex
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b := make([]byte, r.ContentLength)
				r.Body.Read(b)
				mu.Lock()
				bodies = append(bodies, string(b))
				mu.Unlock()
				w.WriteHeader(503)
			}))
			defer ts.Close()
			base, _ := url.Parse(ts.URL)
			cfg := config.NewConnection("crm", base)
			cfg.Retry = config.Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}
			resp, err := NewConnection(cfg, Options{}).Do(ctxWithin(t, 5*time.Second), tc.call)
			if err != nil || resp.Status != 503 || resp.Attempts != tc.want || len(bodies) != tc.want {
				t.Fatalf("%v %+v, %d requests; want %d attempts", err, resp, len(bodies), tc.want)
			}
			for _, b := range bodies {
				if b != string(tc.call.Body) {
					t.Errorf("a retry sent %q, want the same body %q", b, tc.call.Body)
				}
			}
		})
	}
}

func TestNoCallOutlivesItsDeadline(t *testing.T) {
	t.Parallel()
	c, s, _ := simConn(t, nil, Options{})
	if err := s.AddFault(sim.Fault{Latency: 3 * time.Second, Count: -1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := c.Do(ctxWithin(t, 300*time.Millisecond), getUser(sim.AgentUserID))
	var e *apierr.Error
	if !errors.As(err, &e) || e.Status != 504 {
		t.Fatalf("err %v, want 504", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the call took %v with a 300ms deadline", took)
	}
}

func TestRefusedCallsNeverLeaveTheHost(t *testing.T) {
	t.Parallel()
	var other atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { other.Add(1) }))
	defer elsewhere.Close()
	c, s, _ := simConn(t, nil, Options{})
	tests := map[string]*Call{
		"another host":            {Method: "GET", URL: elsewhere.URL + "/steal"},
		"user info":               {Method: "GET", URL: "https://user:pw@example.com/"},
		"plugin sets credentials": {Method: "GET", URL: "/api/v2/users/x", Header: http.Header{"Authorization": {"Bearer forged"}}},
		"lower-case header":       {Method: "GET", URL: "/api/v2/users/x", Header: http.Header{"authorization": {"Bearer forged"}}},
		"proxy credentials":       {Method: "GET", URL: "/api/v2/users/x", Header: http.Header{"Proxy-Authorization": {"Basic eDp5"}}},
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.Do(ctxWithin(t, time.Second), call)
			var e *apierr.Error
			if !errors.As(err, &e) || e.Status != 403 || e.Code != "outbound_refused" {
				t.Fatalf("err %v, want 403 outbound_refused", err)
			}
		})
	}
	if other.Load() != 0 || s.Stats().APIRequests != 0 || s.Stats().TokenRequests != 0 {
		t.Errorf("a refused call left the host: %d elsewhere, sim %+v", other.Load(), s.Stats())
	}
}

func TestAllowedHostsGetNoCredential(t *testing.T) {
	t.Parallel()
	var auth atomic.Value
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		w.Write([]byte(`{}`))
	}))
	defer allowed.Close()
	u, _ := url.Parse(allowed.URL)
	c, _, _ := simConn(t, func(cfg *config.Connection) { cfg.AllowedHosts = []string{u.Host} }, Options{})
	resp, err := c.Do(ctxWithin(t, 5*time.Second), &Call{Method: "GET", URL: allowed.URL + "/page/2"})
	if err != nil || resp.Status != 200 {
		t.Fatalf("%v %+v", err, resp)
	}
	if a := auth.Load(); a != "" {
		t.Errorf("the credential went to an allowed host that is not the base host: %q", a)
	}
}

func TestRedirectsToOtherHostsAreNotFollowed(t *testing.T) {
	t.Parallel()
	var followed atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed.Add(1) }))
	defer elsewhere.Close()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			w.Write([]byte(`{"here":true}`))
			return
		}
		target := elsewhere.URL + "/x"
		if r.URL.Path == "/local" {
			target = "/same"
		}
		http.Redirect(w, r, target, http.StatusFound)
	}))
	defer ts.Close()
	base, _ := url.Parse(ts.URL)
	c := NewConnection(config.NewConnection("crm", base), Options{})
	resp, err := c.Do(ctxWithin(t, 5*time.Second), &Call{Method: "GET", URL: "/away"})
	if err != nil || resp.Status != http.StatusFound || followed.Load() != 0 {
		t.Errorf("redirect away: %v %+v, followed %d", err, resp, followed.Load())
	}
	resp, err = c.Do(ctxWithin(t, 5*time.Second), &Call{Method: "GET", URL: "/local"})
	if err != nil || resp.Status != 200 || string(resp.Body) != `{"here":true}` {
		t.Errorf("redirect on the same host: %v %+v", err, resp)
	}
}

func TestResponseBodyIsCapped(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 2048)))
	}))
	defer ts.Close()
	base, _ := url.Parse(ts.URL)
	cfg := config.NewConnection("crm", base)
	cfg.MaxResponseBytes = 1024
	_, err := NewConnection(cfg, Options{}).Do(ctxWithin(t, 5*time.Second), &Call{Method: "GET", URL: "/big"})
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != "downstream_response_too_large" || e.Status != 502 {
		t.Errorf("err %v, want 502 downstream_response_too_large", err)
	}
}

func TestCircuitBreakerOpensAndAnswersAtOnce(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(502)
	}))
	defer ts.Close()
	base, _ := url.Parse(ts.URL)
	cfg := config.NewConnection("crm", base)
	cfg.Retry = config.Retry{MaxAttempts: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	cfg.Circuit = config.Circuit{Failures: 3, OpenFor: time.Minute}
	counters := &Counters{}
	c := NewConnection(cfg, Options{Observer: counters})
	for i := 0; i < 3; i++ {
		if resp, err := c.Do(ctxWithin(t, time.Second), &Call{Method: "GET", URL: "/"}); err != nil || resp.Status != 502 {
			t.Fatalf("call %d: %v %+v", i, err, resp)
		}
	}
	start := time.Now()
	_, err := c.Do(ctxWithin(t, time.Second), &Call{Method: "GET", URL: "/"})
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != "circuit_open" || e.Status != 503 || e.RetryAfter != time.Minute {
		t.Fatalf("err %v, want 503 circuit_open", err)
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("an open circuit answered after %v", took)
	}
	if hits.Load() != 3 {
		t.Errorf("%d requests reached the downstream, want 3 (none while open)", hits.Load())
	}
	if st := counters.Get("crm").Circuit[""]; st != "open" {
		t.Errorf("circuit state %q, want open", st)
	}
}

func TestRetryAfterForms(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		v    string
		want time.Duration
		ok   bool
	}{
		"seconds":     {"3", 3 * time.Second, true},
		"zero":        {"0", 0, true},
		"date":        {"Sun, 29 Nov 2026 12:00:05 GMT", 5 * time.Second, true},
		"date passed": {"Sun, 29 Nov 2026 11:00:00 GMT", 0, true},
		"negative":    {"-1", 0, false},
		"fraction":    {"1.5", 0, false},
		"garbage":     {"soon", 0, false},
		"absent":      {"", 0, false},
	}
	for name, tc := range tests {
		h := http.Header{}
		if tc.v != "" {
			h.Set("Retry-After", tc.v)
		}
		got, ok := retryAfter(h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: retryAfter(%q) = %v, %v; want %v, %v", name, tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

// TestPoolUpdateKeepsUnchangedConnections: a reload that leaves a
// connection's config as it was keeps the connection and its token; a
// changed one is built anew (and fetches its own token); a removed one is
// gone. A call that holds the old connection finishes on it.
func TestPoolUpdateKeepsUnchangedConnections(t *testing.T) {
	t.Parallel()
	s := sim.New(sim.Options{})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	base, _ := url.Parse(ts.URL)
	conf := func(maxConc int) map[string]*config.Connection {
		cfg := config.NewConnection("genesys", base)
		cfg.OAuth2 = &config.OAuth2{TokenURL: ts.URL + "/oauth/token", ClientID: s.ClientID(), ClientSecret: s.ClientSecret(), ExpiryBuffer: time.Minute}
		cfg.MaxConcurrency = maxConc
		return map[string]*config.Connection{"genesys": cfg}
	}
	call := func(c *Connection) {
		t.Helper()
		if resp, err := c.Do(ctxWithin(t, 5*time.Second), getUser(sim.AgentUserID)); err != nil || resp.Status != 200 {
			t.Fatalf("call: %v %+v", err, resp)
		}
	}
	p := NewPool(conf(64), Options{})
	first, _ := p.Get("genesys")
	call(first)

	if changed := p.Update(conf(64)); len(changed) != 0 {
		t.Errorf("an identical config changed %v", changed)
	}
	if c, _ := p.Get("genesys"); c != first {
		t.Error("an unchanged connection was rebuilt")
	}
	call(first)
	if st := s.Stats(); st.TokenRequests != 1 {
		t.Errorf("%d token requests after an unchanged reload, want 1", st.TokenRequests)
	}

	if changed := p.Update(conf(8)); len(changed) != 1 || changed[0] != "genesys" {
		t.Errorf("changed %v, want [genesys]", changed)
	}
	second, _ := p.Get("genesys")
	if second == first {
		t.Fatal("a changed connection was kept")
	}
	call(second)
	call(first) // a call that looked the old one up finishes on it
	if st := s.Stats(); st.TokenRequests != 2 {
		t.Errorf("%d token requests, want 2 (one per connection)", st.TokenRequests)
	}

	if changed := p.Update(nil); len(changed) != 1 {
		t.Errorf("removing: changed %v", changed)
	}
	if _, ok := p.Get("genesys"); ok || len(p.Names()) != 0 {
		t.Error("a removed connection is still there")
	}
}
