// Package stats keeps what the operator console shows of the last 15
// minutes, in process and without Prometheus: per action, ninety 10-second
// buckets of requests, errors, a latency histogram and cache lookups; per
// connection, the last downstream statuses; and the last failed requests.
//
// An error is an answer Genesys Cloud's action would see fail: any status of
// 400 or more (4xx and 5xx alike: a refused input fails the flow as surely
// as a crashed plugin), and a 200 that reports a failure (errors = "data",
// whose code is not "ok").
//
// Recording is cheap: one map read and one short mutex per action, no
// allocation once the action has been seen (BenchmarkRecord).
package stats

import (
	"math/bits"
	"slices"
	"sync"
	"time"
)

const (
	// Bucket is the width of one time bucket.
	Bucket = 10 * time.Second
	// Buckets is how many there are: 15 minutes.
	Buckets = 90
	// Window is the span they cover.
	Window = Bucket * Buckets

	// latencyBins is the histogram's size: four bins per power of two of
	// microseconds (each at most 25% wide), up to 2^26 µs (67 s).
	latencyBins = 100
	// RecentStatuses is how many downstream statuses a connection keeps.
	RecentStatuses = 20
	// RecentFailures is how many failed requests are kept.
	RecentFailures = 100
)

// Stats is safe for concurrent use. The zero value is not usable: New.
type Stats struct {
	now func() time.Time

	mu      sync.RWMutex
	actions map[string]*series

	connMu sync.Mutex
	conns  map[string]*statusRing

	failMu   sync.Mutex
	failures [RecentFailures]Failure
	failNext int // where the next failure goes
	failN    int // how many are kept
}

// New returns empty stats; now is the clock (nil: time.Now).
func New(now func() time.Time) *Stats {
	if now == nil {
		now = time.Now
	}
	return &Stats{now: now, actions: map[string]*series{}, conns: map[string]*statusRing{}}
}

// series is one action's buckets.
type series struct {
	mu      sync.Mutex
	buckets [Buckets]bucket
}

type bucket struct {
	epoch        int64 // unix time / 10 s; a bucket of another epoch is stale
	requests     uint32
	errors       uint32
	cacheHits    uint32
	cacheLookups uint32
	latency      [latencyBins]uint32
}

// IsError reports whether an answer counts as an error (see the package doc).
func IsError(status int, code string) bool { return status >= 400 || (code != "" && code != "ok") }

// Record counts one answered request of an action. cache is what the
// response cache did ("hit", "miss", "stale", "stale_if_error"; "" when
// the action is not cached): a hit or a stale answer is a cache hit. An
// empty action (the request named none) is not counted.
func (s *Stats) Record(action string, status int, code string, d time.Duration, cache string) {
	if action == "" {
		return
	}
	s.mu.RLock()
	se := s.actions[action]
	s.mu.RUnlock()
	if se == nil {
		s.mu.Lock()
		if se = s.actions[action]; se == nil {
			se = &series{}
			s.actions[action] = se
		}
		s.mu.Unlock()
	}
	epoch := s.now().Unix() / int64(Bucket/time.Second)
	bin := latencyBin(d)
	se.mu.Lock()
	b := &se.buckets[epoch%Buckets]
	if b.epoch != epoch {
		*b = bucket{epoch: epoch}
	}
	b.requests++
	if IsError(status, code) {
		b.errors++
	}
	if cache != "" {
		b.cacheLookups++
		if cache != "miss" {
			b.cacheHits++
		}
	}
	b.latency[bin]++
	se.mu.Unlock()
}

// latencyBin is d's histogram bin: values below 8 µs have a bin each;
// above, four bins per power of two (the top three bits of the value).
func latencyBin(d time.Duration) int {
	us := uint64(max(d.Microseconds(), 0))
	if us < 8 {
		return int(us)
	}
	l := bits.Len64(us)
	i := (l-2)*4 + int(us>>(l-3)) - 4
	return min(i, latencyBins-1)
}

// binBounds are the microseconds a bin holds: [lo, hi).
func binBounds(i int) (lo, hi float64) {
	if i < 8 {
		return float64(i), float64(i + 1)
	}
	l := i/4 + 2
	top := uint64(i%4 + 4)
	return float64(top << (l - 3)), float64((top + 1) << (l - 3))
}

// Point is one bucket of an action's series.
type Point struct {
	T            int64   `json:"t"` // the bucket's start, unix seconds
	Requests     uint32  `json:"requests"`
	Errors       uint32  `json:"errors"`
	P50MS        float64 `json:"p50Ms"`
	P99MS        float64 `json:"p99Ms"`
	CacheHits    uint32  `json:"cacheHits"`
	CacheLookups uint32  `json:"cacheLookups"`
}

// Summary is an action's last 15 minutes, whole and bucket by bucket
// (oldest first, every bucket present, empty ones zero).
type Summary struct {
	WindowSeconds int     `json:"windowSeconds"`
	BucketSeconds int     `json:"bucketSeconds"`
	Requests      uint64  `json:"requests"`
	Errors        uint64  `json:"errors"`
	ErrorRatio    float64 `json:"errorRatio"`
	P50MS         float64 `json:"p50Ms"`
	P99MS         float64 `json:"p99Ms"`
	// CacheHitRatio is hits over lookups; 0 without lookups.
	CacheHitRatio float64 `json:"cacheHitRatio"`
	CacheLookups  uint64  `json:"cacheLookups"`
	Series        []Point `json:"series"`
}

// Action summarizes one action's last 15 minutes; an action never seen has
// a series of empty buckets.
func (s *Stats) Action(action string) Summary {
	sum := Summary{WindowSeconds: int(Window / time.Second), BucketSeconds: int(Bucket / time.Second), Series: make([]Point, Buckets)}
	now := s.now().Unix() / int64(Bucket/time.Second)
	for i := range sum.Series {
		sum.Series[i].T = (now - Buckets + 1 + int64(i)) * int64(Bucket/time.Second)
	}
	s.mu.RLock()
	se := s.actions[action]
	s.mu.RUnlock()
	if se == nil {
		return sum
	}
	var (
		total [latencyBins]uint64
		hits  uint64
	)
	se.mu.Lock()
	for i := range sum.Series {
		epoch := now - Buckets + 1 + int64(i)
		b := &se.buckets[epoch%Buckets]
		if b.epoch != epoch {
			continue
		}
		p := &sum.Series[i]
		p.Requests, p.Errors, p.CacheHits, p.CacheLookups = b.requests, b.errors, b.cacheHits, b.cacheLookups
		var h [latencyBins]uint64
		for j, n := range b.latency {
			h[j] = uint64(n)
			total[j] += uint64(n)
		}
		p.P50MS, p.P99MS = quantile(&h, 0.5), quantile(&h, 0.99)
		sum.Requests += uint64(b.requests)
		sum.Errors += uint64(b.errors)
		hits += uint64(b.cacheHits)
		sum.CacheLookups += uint64(b.cacheLookups)
	}
	se.mu.Unlock()
	if sum.Requests > 0 {
		sum.ErrorRatio = float64(sum.Errors) / float64(sum.Requests)
	}
	if sum.CacheLookups > 0 {
		sum.CacheHitRatio = float64(hits) / float64(sum.CacheLookups)
	}
	sum.P50MS, sum.P99MS = quantile(&total, 0.5), quantile(&total, 0.99)
	return sum
}

// quantile is the q-quantile of a histogram in milliseconds, interpolated
// within its bin; 0 when it is empty.
func quantile(h *[latencyBins]uint64, q float64) float64 {
	var n uint64
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return 0
	}
	rank := q * float64(n)
	var seen float64
	for i, c := range h {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo, hi := binBounds(i)
			us := lo + (hi-lo)*(rank-seen)/float64(c)
			return float64(int64(us)) / 1000
		}
		seen += float64(c)
	}
	lo, _ := binBounds(latencyBins - 1)
	return lo / 1000
}

// Status is one downstream answer of a connection.
type Status struct {
	At     time.Time `json:"at"`
	Status int       `json:"status"` // 0: no answer (refused, timed out, unreachable)
}

type statusRing struct {
	s    [RecentStatuses]Status
	next int
	n    int
}

// Downstream records one completed call of a connection (status 0: no answer).
func (s *Stats) Downstream(conn string, status int) {
	at := s.now().UTC()
	s.connMu.Lock()
	r := s.conns[conn]
	if r == nil {
		r = &statusRing{}
		s.conns[conn] = r
	}
	r.s[r.next] = Status{At: at, Status: status}
	r.next = (r.next + 1) % RecentStatuses
	r.n = min(r.n+1, RecentStatuses)
	s.connMu.Unlock()
}

// Recent returns a connection's last downstream statuses, newest first;
// never nil.
func (s *Stats) Recent(conn string) []Status {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	out := []Status{}
	if r := s.conns[conn]; r != nil {
		for i := 1; i <= r.n; i++ {
			out = append(out, r.s[(r.next-i+RecentStatuses)%RecentStatuses])
		}
	}
	return out
}

// Failure is one failed request, as the audit log has it: no input or
// output value.
type Failure struct {
	At        time.Time `json:"at"`
	RequestID string    `json:"requestId"`
	Action    string    `json:"action"` // "" when it named no known action
	Route     string    `json:"route"`
	Status    int       `json:"status"`
	Code      string    `json:"code"`
	// Stage is where it failed: request, auth, lookup, decode, map,
	// validate input, invoke, validate output.
	Stage string `json:"stage"`
	// Console marks a test run from the operator console.
	Console bool `json:"console,omitempty"`
}

// Fail keeps a failed request, dropping the oldest beyond RecentFailures.
func (s *Stats) Fail(f Failure) {
	s.failMu.Lock()
	s.failures[s.failNext] = f
	s.failNext = (s.failNext + 1) % RecentFailures
	s.failN = min(s.failN+1, RecentFailures)
	s.failMu.Unlock()
}

// Failures returns the kept failures, newest first; never nil.
func (s *Stats) Failures() []Failure {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	out := make([]Failure, 0, s.failN)
	for i := 1; i <= s.failN; i++ {
		out = append(out, s.failures[(s.failNext-i+RecentFailures)%RecentFailures])
	}
	return out
}

// Actions returns the names of the actions that have been recorded, sorted.
func (s *Stats) Actions() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.actions))
	for n := range s.actions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
