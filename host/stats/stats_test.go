package stats

import (
	"math"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time        { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration)   { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock                 { return &clock{t: time.Unix(1_800_000_000, 0)} }
func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol*want }
func ms(n float64) time.Duration       { return time.Duration(n * float64(time.Millisecond)) }
func bucketOf(s Summary, i int) Point  { return s.Series[len(s.Series)-1-i] }
func last(s Summary) Point             { return bucketOf(s, 0) }
func sumRequests(s Summary) (n uint32) {
	for _, p := range s.Series {
		n += p.Requests
	}
	return n
}

func TestLatencyBinsAreContiguousAndNarrow(t *testing.T) {
	prevHi := 0.0
	for i := range latencyBins {
		lo, hi := binBounds(i)
		if lo != prevHi {
			t.Fatalf("bin %d starts at %v, the previous ended at %v", i, lo, prevHi)
		}
		if i >= 8 && (hi-lo)/lo > 0.25 {
			t.Fatalf("bin %d [%v, %v) is wider than 25%%", i, lo, hi)
		}
		prevHi = hi
	}
	for _, us := range []int64{0, 1, 7, 8, 9, 63, 64, 1000, 12345, 999_999, 30_000_000} {
		i := latencyBin(time.Duration(us) * time.Microsecond)
		lo, hi := binBounds(i)
		if float64(us) < lo || float64(us) >= hi {
			t.Errorf("%d µs went to bin %d [%v, %v)", us, i, lo, hi)
		}
	}
	if i := latencyBin(10 * time.Minute); i != latencyBins-1 {
		t.Errorf("10 min: bin %d, want the last", i)
	}
}

func TestRecordSummarizes(t *testing.T) {
	c := newClock()
	s := New(c.now)
	for i := range 100 {
		status, code := 200, "ok"
		switch {
		case i < 5:
			status, code = 502, "plugin_failed"
		case i < 10:
			status, code = 400, "invalid_input"
		case i < 12:
			code = "not_found" // errors = "data": a 200 that reports a failure
		}
		cache := "miss"
		if i%4 == 0 {
			cache = "hit"
		}
		s.Record("echo", status, code, ms(float64(i+1)), cache)
	}
	s.Record("", 404, "action_not_found", time.Millisecond, "") // named no action
	sum := s.Action("echo")
	if sum.WindowSeconds != 900 || sum.BucketSeconds != 10 || len(sum.Series) != 90 {
		t.Fatalf("window %d, bucket %d, %d points", sum.WindowSeconds, sum.BucketSeconds, len(sum.Series))
	}
	if sum.Requests != 100 || sum.Errors != 12 || sum.ErrorRatio != 0.12 {
		t.Errorf("requests %d, errors %d, ratio %v; want 100, 12, 0.12", sum.Requests, sum.Errors, sum.ErrorRatio)
	}
	if sum.CacheLookups != 100 || sum.CacheHitRatio != 0.25 {
		t.Errorf("lookups %d, hit ratio %v; want 100, 0.25", sum.CacheLookups, sum.CacheHitRatio)
	}
	if !near(sum.P50MS, 50, 0.15) || !near(sum.P99MS, 99, 0.15) {
		t.Errorf("p50 %v ms, p99 %v ms; want about 50 and 99", sum.P50MS, sum.P99MS)
	}
	if p := last(sum); p.Requests != 100 || p.Errors != 12 || p.CacheHits != 25 || !near(p.P99MS, 99, 0.15) {
		t.Errorf("the current bucket: %+v", p)
	}
	if got := s.Actions(); len(got) != 1 || got[0] != "echo" {
		t.Errorf("actions %v, want [echo]", got)
	}
	if want := c.now().Unix() / 10 * 10; last(sum).T != want {
		t.Errorf("the last bucket starts at %d, want %d", last(sum).T, want)
	}
}

func TestBucketsAgeOut(t *testing.T) {
	c := newClock()
	s := New(c.now)
	s.Record("a", 200, "ok", time.Millisecond, "")
	c.add(Bucket)
	s.Record("a", 200, "ok", time.Millisecond, "")
	s.Record("a", 200, "ok", time.Millisecond, "")
	sum := s.Action("a")
	if last(sum).Requests != 2 || bucketOf(sum, 1).Requests != 1 || sum.Requests != 3 {
		t.Fatalf("buckets: last %d, previous %d, total %d; want 2, 1, 3", last(sum).Requests, bucketOf(sum, 1).Requests, sum.Requests)
	}
	c.add(Window - Bucket) // the first request's bucket is now 15 minutes old
	sum = s.Action("a")
	if sum.Requests != 2 || sumRequests(sum) != 2 {
		t.Fatalf("after 15 minutes: %d requests (%d in the series), want 2", sum.Requests, sumRequests(sum))
	}
	s.Record("a", 200, "ok", time.Millisecond, "") // reuses the ring slot of the first
	if sum = s.Action("a"); sum.Requests != 3 || last(sum).Requests != 1 {
		t.Fatalf("a reused bucket: total %d, last %d; want 3, 1", sum.Requests, last(sum).Requests)
	}
	c.add(time.Hour)
	if sum = s.Action("a"); sum.Requests != 0 || sum.P99MS != 0 || sum.ErrorRatio != 0 {
		t.Fatalf("an hour later: %+v", sum)
	}
	if sum := s.Action("never"); sum.Requests != 0 || len(sum.Series) != Buckets {
		t.Fatalf("an unseen action: %d requests, %d points", sum.Requests, len(sum.Series))
	}
}

func TestRecentStatusesAndFailures(t *testing.T) {
	c := newClock()
	s := New(c.now)
	if got := s.Recent("genesys"); got == nil || len(got) != 0 {
		t.Fatalf("an unused connection: %v, want []", got)
	}
	for i := range RecentStatuses + 5 {
		s.Downstream("genesys", 200+i)
		c.add(time.Second)
	}
	got := s.Recent("genesys")
	if len(got) != RecentStatuses || got[0].Status != 200+RecentStatuses+4 || got[len(got)-1].Status != 205 {
		t.Fatalf("recent: %d, newest %d, oldest %d", len(got), got[0].Status, got[len(got)-1].Status)
	}
	if !got[0].At.After(got[1].At) {
		t.Errorf("not newest first: %v then %v", got[0].At, got[1].At)
	}
	for i := range RecentFailures + 3 {
		s.Fail(Failure{RequestID: string(rune('a' + i%26)), Status: 500 + i})
	}
	f := s.Failures()
	if len(f) != RecentFailures || f[0].Status != 500+RecentFailures+2 || f[len(f)-1].Status != 503 {
		t.Fatalf("failures: %d, newest %d, oldest %d", len(f), f[0].Status, f[len(f)-1].Status)
	}
}

func TestConcurrentRecord(t *testing.T) {
	s := New(nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				s.Record([]string{"a", "b"}[g%2], 200, "ok", time.Duration(i)*time.Microsecond, "")
				if i%100 == 0 {
					s.Action("a")
				}
			}
		})
	}
	wg.Wait()
	if n := s.Action("a").Requests + s.Action("b").Requests; n != 8000 {
		t.Fatalf("%d requests recorded, want 8000", n)
	}
}

// BenchmarkRecord is the cost on the request path.
func BenchmarkRecord(b *testing.B) {
	s := New(nil)
	s.Record("echo", 200, "ok", time.Millisecond, "")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Record("echo", 200, "ok", 1500*time.Microsecond, "miss")
		}
	})
}

func BenchmarkSummary(b *testing.B) {
	s := New(nil)
	s.Record("echo", 200, "ok", time.Millisecond, "")
	b.ReportAllocs()
	for b.Loop() {
		s.Action("echo")
	}
}
