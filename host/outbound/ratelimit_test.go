package outbound

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/internal/testutil"
)

// downstream counts the requests it answers, with their times.
type downstream struct {
	mu    sync.Mutex
	times []time.Time
	url   *url.URL
}

func newDownstream(t *testing.T) *downstream {
	d := &downstream{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.times = append(d.times, time.Now())
		d.mu.Unlock()
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(ts.Close)
	d.url, _ = url.Parse(ts.URL)
	return d
}

// maxInWindow is the most requests any window of length w saw.
func (d *downstream) maxInWindow(w time.Duration) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	best := 0
	for i := range d.times {
		n := 0
		for j := i; j < len(d.times) && d.times[j].Sub(d.times[i]) < w; j++ {
			n++
		}
		best = max(best, n)
	}
	return best
}

func (d *downstream) count() int { d.mu.Lock(); defer d.mu.Unlock(); return len(d.times) }

func limited(d *downstream, rpm, burst int, shared *Shared, obs Observer) *Connection {
	cfg := config.NewConnection("crm", d.url)
	cfg.RateLimit = &config.RateLimit{RequestsPerMinute: rpm, Burst: burst}
	cfg.MaxConcurrency = 200
	cfg.MaxConcurrencyPerPlugin = 200
	return NewConnection(cfg, Options{Shared: shared, Observer: obs})
}

// hammer sends n calls at once, each with the deadline given, and returns
// how many succeeded and the refusals.
func hammer(c *Connection, n int, deadline time.Duration) (ok int, refused []*apierr.Error, other []error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			_, err := c.Do(ctx, &Call{Method: "GET", URL: "/x"})
			mu.Lock()
			defer mu.Unlock()
			var e *apierr.Error
			switch {
			case err == nil:
				ok++
			case errors.As(err, &e) && e.Code == "rate_limited":
				refused = append(refused, e)
			default:
				other = append(other, err)
			}
		}()
	}
	wg.Wait()
	return ok, refused, other
}

// TestRateLimitPacesCalls: calls beyond the burst wait their turn; no
// second of the downstream's sees more than the rate (+5 %) past the burst.
func TestRateLimitPacesCalls(t *testing.T) {
	t.Parallel()
	d := newDownstream(t)
	obs := &Counters{}
	ok, refused, other := hammer(limited(d, 1200, 5, nil, obs), 40, 10*time.Second)
	if ok != 40 || len(refused)+len(other) > 0 {
		t.Fatalf("%d ok, refused %v, failed %v", ok, refused, other)
	}
	if m := d.maxInWindow(time.Second); float64(m) > 20*1.05+5 {
		t.Errorf("%d requests within one second, limit 20 a second and a burst of 5", m)
	}
	if c := obs.Get("crm"); c.RateLimitWaits < 30 {
		t.Errorf("%d waits counted", c.RateLimitWaits)
	}
}

// TestRateLimitRefusesWhatWouldMissItsDeadline: a call whose turn comes
// after its deadline is refused at once with 429 rate_limited and
// Retry-After, never sent, and does not count against the breaker.
func TestRateLimitRefusesWhatWouldMissItsDeadline(t *testing.T) {
	t.Parallel()
	d := newDownstream(t)
	obs := &Counters{}
	c := limited(d, 60, 1, nil, obs)
	ok, refused, other := hammer(c, 10, 500*time.Millisecond)
	if ok != 1 || len(refused) != 9 || len(other) > 0 || d.count() != 1 {
		t.Fatalf("%d ok, %d refused, failed %v; downstream saw %d", ok, len(refused), other, d.count())
	}
	if e := refused[0]; e.Status != 429 || e.RetryAfter < time.Second || !e.Retryable {
		t.Errorf("refusal %+v", e)
	}
	if c := obs.Get("crm"); c.RateLimited != 9 || c.Circuit["crm"] == "open" {
		t.Errorf("counters %+v", c)
	}
}

// TestSharedRateLimitHoldsAcrossReplicas: three connections (three
// replicas' views of one connection) on one Redis together stay within the
// limit; with Redis killed each keeps to its share (a third) and no call
// fails for it; with Redis back the shared bucket applies again.
func TestSharedRateLimitHoldsAcrossReplicas(t *testing.T) {
	t.Parallel()
	srv := testutil.StartRedis(t)
	d := newDownstream(t)
	var conns []*Connection
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obs := &Counters{}
	for range 3 {
		s := NewShared(redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond}), nil)
		go s.Run(ctx)
		conns = append(conns, limited(d, 600, 5, s, obs))
	}
	shared := conns[0].limit.shared
	waitReplicas(t, shared, 3)

	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, _, _ := hammer(c, 20, 10*time.Second)
			failed.Add(int64(20 - ok))
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failed.Load() != 0 {
		t.Fatalf("%d calls failed", failed.Load())
	}
	// 60 calls at 10 a second after a burst of 5: at least 5.5 s.
	if elapsed < 5*time.Second {
		t.Errorf("60 calls through a shared limit of 10 a second took %v", elapsed)
	}
	if m := d.maxInWindow(time.Second); float64(m) > 10*1.05+5 {
		t.Errorf("%d requests within one second from three replicas, limit 10 a second + 5", m)
	}

	srv.Kill()
	before := d.count()
	ok, refused, other := hammer(conns[0], 6, 10*time.Second)
	if ok != 6 || len(refused)+len(other) > 0 {
		t.Fatalf("without Redis: %d ok, %v, %v", ok, refused, other)
	}
	if c := obs.Get("crm"); !c.RateLimitLocal {
		t.Error("the fallback to the local share was not reported")
	}
	if d.count()-before != 6 {
		t.Errorf("downstream saw %d", d.count()-before)
	}
	srv.Start()
	hammer(conns[0], 1, 5*time.Second)
	if c := obs.Get("crm"); c.RateLimitLocal {
		t.Error("the shared limit's return was not reported")
	}
}

func waitReplicas(t *testing.T, s *Shared, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Replicas() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d replicas seen, want %d", s.Replicas(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// quiet drops go-redis's own log lines (dial retries while Redis is down).
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quiet{}) }
