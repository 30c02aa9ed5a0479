package outbound

import (
	"maps"
	"sync"
	"time"
)

// Observer receives what connections do. The metrics package implements it;
// Counters is a simple implementation for tests and diagnostics.
type Observer interface {
	// Request is one call from a plugin; status 0 means no answer.
	Request(conn string, status, attempts int, d time.Duration)
	// Attempt is one HTTP request sent downstream; status 0 means no answer.
	Attempt(conn string, status int, d time.Duration)
	// Retry is a new attempt after a failed one.
	Retry(conn string)
	// TokenRefresh is one OAuth token request; err is its failure.
	TokenRefresh(conn string, err error)
	// CircuitState reports the new state of one plugin's breaker on the
	// connection: closed, open, half-open.
	CircuitState(conn, plugin, state string)
	// RateLimitWait is a request that waited for its turn; RateLimited one
	// refused (429 rate_limited): no turn within its deadline.
	RateLimitWait(conn string)
	RateLimited(conn string)
	// RateLimitLocal: the shared limit is unavailable (Redis fails) and
	// this replica keeps to its local share; false when it is back.
	RateLimitLocal(conn string, local bool)
}

type nopObserver struct{}

func (nopObserver) Request(string, int, int, time.Duration) {}
func (nopObserver) Attempt(string, int, time.Duration)      {}
func (nopObserver) Retry(string)                            {}
func (nopObserver) TokenRefresh(string, error)              {}
func (nopObserver) CircuitState(string, string, string)     {}
func (nopObserver) RateLimitWait(string)                    {}
func (nopObserver) RateLimited(string)                      {}
func (nopObserver) RateLimitLocal(string, bool)             {}

// Counters counts what an Observer sees, by connection. Safe for concurrent use.
type Counters struct {
	mu sync.Mutex
	m  map[string]*ConnectionCounts
}

// ConnectionCounts are one connection's counters.
type ConnectionCounts struct {
	Requests         int64
	RequestsByStatus map[int]int64
	Attempts         int64
	AttemptsByStatus map[int]int64
	Retries          int64
	TokenRefreshes   int64
	TokenFailures    int64
	Circuit          map[string]string // plugin → breaker state
	RateLimitWaits   int64
	RateLimited      int64
	RateLimitLocal   bool
}

func (c *Counters) conn(name string) *ConnectionCounts {
	if c.m == nil {
		c.m = map[string]*ConnectionCounts{}
	}
	cc, ok := c.m[name]
	if !ok {
		cc = &ConnectionCounts{RequestsByStatus: map[int]int64{}, AttemptsByStatus: map[int]int64{}, Circuit: map[string]string{}}
		c.m[name] = cc
	}
	return cc
}

// Get returns a copy of one connection's counters.
func (c *Counters) Get(name string) ConnectionCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := *c.conn(name)
	cc.RequestsByStatus = clone(cc.RequestsByStatus)
	cc.AttemptsByStatus = clone(cc.AttemptsByStatus)
	cc.Circuit = maps.Clone(cc.Circuit)
	return cc
}

func clone(m map[int]int64) map[int]int64 {
	out := make(map[int]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (c *Counters) Request(conn string, status, _ int, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := c.conn(conn)
	cc.Requests++
	cc.RequestsByStatus[status]++
}

func (c *Counters) Attempt(conn string, status int, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := c.conn(conn)
	cc.Attempts++
	cc.AttemptsByStatus[status]++
}

func (c *Counters) Retry(conn string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn(conn).Retries++
}

func (c *Counters) TokenRefresh(conn string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := c.conn(conn)
	cc.TokenRefreshes++
	if err != nil {
		cc.TokenFailures++
	}
}

func (c *Counters) CircuitState(conn, plugin, state string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn(conn).Circuit[plugin] = state
}

func (c *Counters) RateLimitWait(conn string) {
	c.mu.Lock()
	c.conn(conn).RateLimitWaits++
	c.mu.Unlock()
}
func (c *Counters) RateLimited(conn string) { c.mu.Lock(); c.conn(conn).RateLimited++; c.mu.Unlock() }
func (c *Counters) RateLimitLocal(conn string, local bool) {
	c.mu.Lock()
	c.conn(conn).RateLimitLocal = local
	c.mu.Unlock()
}

var (
	_ Observer = (*Counters)(nil)
	_ Observer = nopObserver{}
)
