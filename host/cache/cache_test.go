package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-dev/switchboard/host/internal/testutil"
	"github.com/switchboard-dev/switchboard/host/jsonptr"
)

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// counter is an observer that counts results.
type counter struct {
	mu      sync.Mutex
	results map[string]int
	up      []bool
}

func (c *counter) CacheRequest(_, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.results == nil {
		c.results = map[string]int{}
	}
	c.results[result]++
}

func (c *counter) CacheStore(up bool) { c.mu.Lock(); c.up = append(c.up, up); c.mu.Unlock() }

func (c *counter) get(r string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.results[r] }

var errDown = errors.New("downstream answered 503")

// plugin is a fetch that counts its calls and fails while failing is set.
type plugin struct {
	calls   atomic.Int64
	failing atomic.Bool
	delay   time.Duration
}

func (p *plugin) fetch(input string) Fetch {
	return func(ctx context.Context) ([]byte, error) {
		p.calls.Add(1)
		time.Sleep(p.delay)
		if p.failing.Load() {
			return nil, errDown
		}
		return []byte(`{"echo":"` + input + `"}`), nil
	}
}

func status503(error) int { return 503 }

func memory(t *testing.T) *Memory {
	m, err := NewMemory(1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func key(t *testing.T, org string, p *Policy, input any) string {
	t.Helper()
	k, err := Key("lookup", "contract-1", org, p, input)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestConcurrentMissesMakeOneInvocationPerKey: 1,000 requests over 50
// inputs, 20 at a time, make 50 invocations.
func TestConcurrentMissesMakeOneInvocationPerKey(t *testing.T) {
	for _, s := range stores(t) {
		t.Run(s.Name(), func(t *testing.T) {
			obs := &counter{}
			c := New(s, Options{Observer: obs})
			p := &Policy{TTL: time.Minute}
			pl := &plugin{delay: 5 * time.Millisecond}
			var wg sync.WaitGroup
			sem := make(chan struct{}, 20)
			for i := range 1000 {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					in := fmt.Sprint(i % 50)
					out, _, err := c.Do(context.Background(), context.Background(), "lookup", key(t, "org", p, map[string]any{"id": in}), p, pl.fetch(in), status503)
					if err != nil || string(out) != `{"echo":"`+in+`"}` {
						t.Errorf("request %d: %s %v", i, out, err)
					}
				}()
			}
			wg.Wait()
			if n := pl.calls.Load(); n != 50 {
				t.Errorf("%d invocations for 50 inputs", n)
			}
			if obs.get("hit")+obs.get("miss") != 1000 {
				t.Errorf("results %v", obs.results)
			}
		})
	}
}

// TestFreshStaleAndExpired walks one entry through its life: fresh (hit),
// stale while revalidating (served, one refresh), stale when the plugin
// fails (served with the failure's status), and gone after that.
func TestFreshStaleAndExpired(t *testing.T) {
	clk := &clock{t: time.Unix(1_000_000, 0)}
	obs := &counter{}
	c := New(memory(t), Options{Observer: obs, Now: clk.now})
	p := &Policy{TTL: 5 * time.Minute, StaleWhileRevalidate: time.Minute, StaleIfError: 10 * time.Minute}
	pl := &plugin{}
	k := key(t, "org", p, map[string]any{"id": "1"})
	do := func() ([]byte, Status, error) {
		return c.Do(context.Background(), context.Background(), "lookup", k, p, pl.fetch("1"), status503)
	}
	if _, st, err := do(); err != nil || st.Result != "miss" || !st.Stored || pl.calls.Load() != 1 {
		t.Fatalf("first: %+v %v", st, err)
	}
	clk.add(4 * time.Minute)
	if _, st, _ := do(); st.Result != "hit" || st.TTL != time.Minute || st.Header() != "switchboard; hit; ttl=60" {
		t.Errorf("within ttl: %+v %q", st, st.Header())
	}
	clk.add(90 * time.Second) // 5m30s: stale, within stale_while_revalidate
	if out, st, err := do(); err != nil || st.Result != "stale" || string(out) != `{"echo":"1"}` {
		t.Errorf("stale while revalidating: %+v %v", st, err)
	}
	waitFor(t, func() bool { return pl.calls.Load() == 2 })
	if _, st, _ := do(); st.Result != "hit" {
		t.Errorf("after the refresh: %+v", st)
	}

	pl.failing.Store(true)
	clk.add(8 * time.Minute) // 8m past the refresh: stale, beyond revalidation, within stale_if_error
	out, st, err := do()
	if err != nil || st.Result != "stale_if_error" || st.Status != 503 || string(out) != `{"echo":"1"}` ||
		st.Header() != `switchboard; fwd=stale; fwd-status=503; ttl=-180; detail="stale-if-error"` {
		t.Errorf("stale if error: %s %+v %v %q", out, st, err, st.Header())
	}
	clk.add(10 * time.Minute) // beyond stale_if_error
	if _, _, err := do(); !errors.Is(err, errDown) {
		t.Errorf("past stale_if_error: %v, want the failure", err)
	}
	pl.failing.Store(false)
	if _, st, err := do(); err != nil || st.Result != "miss" {
		t.Errorf("once the plugin answers: %+v %v", st, err)
	}
}

// TestKeys: organizations and contracts never share an entry; the key's
// members alone decide with Policy.Key; a missing member is not null.
func TestKeys(t *testing.T) {
	whole := &Policy{TTL: time.Minute}
	in := map[string]any{"userId": "u1", "lang": "en"}
	if key(t, "org-a", whole, in) == key(t, "org-b", whole, in) {
		t.Error("two organizations share a key")
	}
	a, _ := Key("lookup", "contract-1", "org", whole, in)
	b, _ := Key("lookup", "contract-2", "org", whole, in)
	if a == b {
		t.Error("a new contract reads the old entries")
	}
	if !strings.HasPrefix(a, PurgePrefix("lookup")) {
		t.Error("a key does not start with its action's purge prefix")
	}
	byUser := &Policy{TTL: time.Minute, Key: []jsonptr.Pointer{jsonptr.MustParse("/userId")}}
	if key(t, "org", byUser, in) != key(t, "org", byUser, map[string]any{"userId": "u1", "lang": "fr"}) {
		t.Error("members outside the key changed it")
	}
	if key(t, "org", byUser, map[string]any{}) == key(t, "org", byUser, map[string]any{"userId": nil}) {
		t.Error("a missing member keys as null")
	}
	if key(t, "org", whole, in) != key(t, "org", whole, map[string]any{"lang": "en", "userId": "u1"}) {
		t.Error("member order changed the key")
	}
}

// TestAStoreThatFailsStepsAside: Redis killed, every request is answered
// by the plugin (none fails), the store is reported down once; Redis back,
// entries are stored and hit again.
func TestAStoreThatFailsStepsAside(t *testing.T) {
	srv := testutil.StartRedis(t)
	s, err := NewRedis(redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond}), "")
	if err != nil {
		t.Fatal(err)
	}
	obs := &counter{}
	c := New(s, Options{Observer: obs})
	p := &Policy{TTL: time.Minute}
	pl := &plugin{}
	k := key(t, "org", p, map[string]any{"id": "1"})
	do := func() (Status, error) {
		_, st, err := c.Do(context.Background(), context.Background(), "lookup", k, p, pl.fetch("1"), status503)
		return st, err
	}
	do()
	if st, _ := do(); st.Result != "hit" {
		t.Fatalf("with Redis: %+v", st)
	}
	srv.Kill()
	for i := range 20 {
		if st, err := do(); err != nil || st.Result != "miss" {
			t.Fatalf("request %d without Redis: %+v %v", i, st, err)
		}
	}
	srv.Start()
	waitFor(t, func() bool { st, _ := do(); return st.Result == "hit" })
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.up) != 3 || obs.up[1] || !obs.up[2] {
		t.Errorf("store up/down reports %v, want up, down, up", obs.up)
	}
}

// TestSealedEntries: with a key, what Redis holds is not the output, an
// entry moved under another key does not open, and a host without the key
// (or with another) reads nothing.
func TestSealedEntries(t *testing.T) {
	srv := testutil.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	sealed, _ := NewRedis(client, "encryption-key-0123456789abcdef")
	ctx := context.Background()
	e := Entry{Output: []byte(`{"ssn":"123-45-6789"}`), Stored: time.Unix(1, 0)}
	if err := sealed.Set(ctx, "lookup\x00a", e, time.Minute); err != nil {
		t.Fatal(err)
	}
	raw, _ := client.Get(ctx, sealed.ns+"lookup\x00a").Bytes()
	if strings.Contains(string(raw), "123-45-6789") {
		t.Fatal("a sealed entry holds its output in clear")
	}
	if got, ok, err := sealed.Get(ctx, "lookup\x00a"); !ok || err != nil || string(got.Output) != string(e.Output) || !got.Stored.Equal(e.Stored) {
		t.Errorf("read back: %+v %v %v", got, ok, err)
	}
	client.Set(ctx, sealed.ns+"lookup\x00b", raw, time.Minute) // moved by someone with Redis access
	if _, ok, _ := sealed.Get(ctx, "lookup\x00b"); ok {
		t.Error("an entry moved under another key opened")
	}
	plain, _ := NewRedis(client, "")
	other, _ := NewRedis(client, "another-key-0123456789abcdef")
	for name, s := range map[string]*Redis{"plain": plain, "other key": other} {
		if _, ok, _ := s.Get(ctx, "lookup\x00a"); ok {
			t.Errorf("a %s store read a sealed entry", name)
		}
	}
	if n, err := sealed.Purge(ctx, PurgePrefix("lookup")); err != nil || n != 2 {
		t.Errorf("purge: %d %v", n, err)
	}
}

// TestMemoryIsBoundedByBytes: past max_bytes, entries are evicted, and
// counted.
func TestMemoryIsBoundedByBytes(t *testing.T) {
	var evicted atomic.Int64
	m, err := NewMemory(64<<10, func() { evicted.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	out := []byte(strings.Repeat("x", 1000))
	for i := range 1000 {
		m.Set(context.Background(), fmt.Sprint("k", i), Entry{Output: out}, time.Hour)
	}
	m.c.CleanUp()
	if b := m.Bytes(); b > 64<<10 {
		t.Errorf("%d bytes held, bound 65536", b)
	}
	waitFor(t, func() bool { return evicted.Load() > 900 })
}

func stores(t *testing.T) []Store {
	out := []Store{memory(t)}
	srv := testutil.StartRedis(t)
	r, err := NewRedis(redis.NewClient(&redis.Options{Addr: srv.Addr}), "")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, r)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// quiet drops go-redis's own log lines (dial retries while Redis is down).
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quiet{}) }
