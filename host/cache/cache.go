// Package cache is the host's response cache: validated successful outputs
// of actions, keyed by action, contract, organization and canonical input,
// in memory (otter, bounded by bytes) or in Redis (shared by replicas).
// Concurrent misses of one key make one invocation; an entry past its ttl
// may be served while it is refreshed (stale_while_revalidate) or while the
// plugin or its downstream fails (stale_if_error). A store that fails never
// fails a request: the cache steps aside until it answers again.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/singleflight"

	"github.com/switchboard-dev/switchboard/host/jsonptr"
)

// Policy is how one action is cached.
type Policy struct {
	TTL                  time.Duration
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration
	// Key are the input members the key is made of; nil: the whole input.
	Key []jsonptr.Pointer
}

// lifetime is how long an entry is kept: fresh, then usable stale.
func (p *Policy) lifetime() time.Duration {
	return p.TTL + max(p.StaleWhileRevalidate, p.StaleIfError)
}

// Entry is one stored output.
type Entry struct {
	Output []byte
	Stored time.Time
}

// Store keeps entries. Its errors make the cache step aside, never fail.
type Store interface {
	// Get returns the entry under key; found is false when there is none.
	Get(ctx context.Context, key string) (e Entry, found bool, err error)
	// Set stores e under key for lifetime.
	Set(ctx context.Context, key string, e Entry, lifetime time.Duration) error
	// Delete removes one key; Purge every key of an action (PurgePrefix).
	Delete(ctx context.Context, key string) error
	Purge(ctx context.Context, prefix string) (int, error)
	// Name is "memory" or "redis", for logs and errors.
	Name() string
}

// Observer is told what the cache did; the metrics implement it.
type Observer interface {
	// CacheRequest is one lookup's result: hit, miss, stale, stale_if_error.
	CacheRequest(action, result string)
	// CacheStore is whether the store answers (false: the cache steps aside).
	CacheStore(up bool)
}

type nopObserver struct{}

func (nopObserver) CacheRequest(string, string) {}
func (nopObserver) CacheStore(bool)             {}

// Options configure a Cache.
type Options struct {
	Observer Observer
	Logger   hclog.Logger
	// Now is the clock of freshness; nil: time.Now.
	Now func() time.Time
	// StoreTimeout bounds each store operation on the request path;
	// default 100 ms.
	StoreTimeout time.Duration
}

// Cache answers invocations from its store.
type Cache struct {
	store   Store
	obs     Observer
	logger  hclog.Logger
	now     func() time.Time
	timeout time.Duration
	flight  singleflight.Group
	down    atomic.Bool // the store failed its last operation
	mu      sync.Mutex  // serialises the up/down log lines
}

// New returns a cache over store.
func New(store Store, opts Options) *Cache {
	c := &Cache{store: store, obs: opts.Observer, logger: opts.Logger, now: opts.Now, timeout: opts.StoreTimeout}
	if c.obs == nil {
		c.obs = nopObserver{}
	}
	if c.logger == nil {
		c.logger = hclog.NewNullLogger()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.timeout <= 0 {
		c.timeout = 100 * time.Millisecond
	}
	c.obs.CacheStore(true)
	return c
}

// Store is the cache's store.
func (c *Cache) Store() Store { return c.store }

// Status is what the cache did for one request, as RFC 9211's Cache-Status
// says it.
type Status struct {
	Result string        // hit, miss, stale, stale_if_error
	TTL    time.Duration // remaining freshness; negative: stale by that much
	Stored bool          // a miss whose output was stored
	// Collapsed: a miss that waited for another request's invocation of
	// the same key rather than making its own.
	Collapsed bool
	Status    int    // stale_if_error: the status of the failure it hid
	Detail    string // why, when the store stepped aside
}

// Header is the Cache-Status field value.
func (s Status) Header() string {
	parts := []string{"switchboard"}
	switch s.Result {
	case "hit":
		parts = append(parts, "hit", fmt.Sprintf("ttl=%d", int(s.TTL.Seconds())))
	case "stale":
		parts = append(parts, "hit", fmt.Sprintf("ttl=%d", int(s.TTL.Seconds())), `detail="stale-while-revalidate"`)
	case "stale_if_error":
		parts = append(parts, "fwd=stale", fmt.Sprintf("fwd-status=%d", s.Status), fmt.Sprintf("ttl=%d", int(s.TTL.Seconds())), `detail="stale-if-error"`)
	default:
		parts = append(parts, "fwd=uri-miss")
		if s.Stored {
			parts = append(parts, "stored")
		}
		if s.Collapsed {
			parts = append(parts, "collapsed")
		}
	}
	if s.Detail != "" {
		parts = append(parts, fmt.Sprintf("detail=%q", s.Detail))
	}
	return strings.Join(parts, "; ")
}

// Key is the store key of an input: the action (its prefix, for purges),
// then a digest of the action's contract, the organization and the
// canonical input (or the members the policy names). A new contract never
// reads old entries; one organization's entries never answer another.
func Key(action, contract, org string, p *Policy, input any) (string, error) {
	var canonical []byte
	var err error
	if p.Key == nil {
		canonical, err = json.Marshal(input) // maps marshal with sorted keys
	} else {
		parts := make([]any, len(p.Key))
		for i, ptr := range p.Key {
			v, ok := ptr.Get(input)
			if !ok {
				v = missing{}
			}
			parts[i] = v
		}
		canonical, err = json.Marshal(parts)
	}
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, s := range []string{contract, org} {
		binary.Write(h, binary.BigEndian, uint32(len(s)))
		h.Write([]byte(s))
	}
	h.Write(canonical)
	return PurgePrefix(action) + hex.EncodeToString(h.Sum(nil)), nil
}

// missing stands for a key member the input does not have, which differs
// from every JSON value (null included).
type missing struct{}

func (missing) MarshalJSON() ([]byte, error) { return []byte(`{"\u0000missing":true}`), nil }

// PurgePrefix is what every key of an action starts with.
func PurgePrefix(action string) string { return action + "\x00" }

// Fetch produces a validated successful output, or the failure.
type Fetch func(ctx context.Context) ([]byte, error)

// StatusOf tells the status a failure answers (for fwd-status).
type StatusOf func(error) int

// Do answers from the cache or from fetch. background is the context of
// revalidations, which outlive the request.
func (c *Cache) Do(ctx, background context.Context, action, key string, p *Policy, fetch Fetch, status StatusOf) ([]byte, Status, error) {
	e, found := c.get(ctx, key)
	now := c.now()
	age := now.Sub(e.Stored)
	switch {
	case found && age < p.TTL:
		c.obs.CacheRequest(action, "hit")
		return e.Output, Status{Result: "hit", TTL: p.TTL - age}, nil
	case found && age < p.TTL+p.StaleWhileRevalidate:
		c.obs.CacheRequest(action, "stale")
		// One refresh per key at a time; nobody waits for it.
		c.flight.DoChan("refresh\x00"+key, func() (any, error) {
			return c.fill(context.WithValue(background, refreshKey{}, true), key, p, fetch)
		})
		return e.Output, Status{Result: "stale", TTL: p.TTL - age}, nil
	}
	// A miss: concurrent misses of one key share one invocation, which runs
	// on even if its caller leaves, so that the others get its answer.
	ran := false // only the caller whose function runs invokes; the others are collapsed into it
	ch := c.flight.DoChan(key, func() (any, error) {
		ran = true
		// Another flight may have stored it since this request looked.
		if e, ok := c.get(context.WithoutCancel(ctx), key); ok && c.now().Sub(e.Stored) < p.TTL {
			return stored(e), nil
		}
		return c.fill(context.WithoutCancel(ctx), key, p, fetch)
	})
	var r singleflight.Result
	select {
	case r = <-ch:
	case <-ctx.Done():
		return nil, Status{Result: "miss"}, ctx.Err()
	}
	if e, ok := r.Val.(stored); ok { // found on the second look
		c.obs.CacheRequest(action, "hit")
		return e.Output, Status{Result: "hit", TTL: p.TTL - c.now().Sub(e.Stored)}, nil
	}
	if r.Err == nil {
		c.obs.CacheRequest(action, "miss")
		return r.Val.([]byte), Status{Result: "miss", Stored: ran && !c.down.Load(), Collapsed: !ran}, nil
	}
	if found && age < p.TTL+p.StaleIfError {
		c.obs.CacheRequest(action, "stale_if_error")
		return e.Output, Status{Result: "stale_if_error", TTL: p.TTL - age, Status: status(r.Err)}, nil
	}
	c.obs.CacheRequest(action, "miss")
	return nil, Status{Result: "miss"}, r.Err
}

// stored is an entry a flight found in the store rather than invoked for.
type stored Entry

type refreshKey struct{}

// Refreshing reports whether a Fetch runs as a background refresh (served
// stale already), not for a caller who waits.
func Refreshing(ctx context.Context) bool { return ctx.Value(refreshKey{}) != nil }

// fill invokes and stores a success.
func (c *Cache) fill(ctx context.Context, key string, p *Policy, fetch Fetch) ([]byte, error) {
	out, err := fetch(ctx)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	c.result(c.store.Set(sctx, key, Entry{Output: out, Stored: c.now()}, p.lifetime()))
	return out, nil
}

func (c *Cache) get(ctx context.Context, key string) (Entry, bool) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	e, found, err := c.store.Get(ctx, key)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return Entry{}, false // the caller left; the store is not at fault
	}
	c.result(err)
	return e, found && err == nil
}

// result tracks whether the store answers, logging each change once.
func (c *Cache) result(err error) {
	down := err != nil
	if c.down.Load() == down {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down.Swap(down) == down {
		return
	}
	c.obs.CacheStore(!down)
	if down {
		c.logger.Error("cache store failing: requests go to the plugins, uncached, until it answers", "store", c.store.Name(), "error", err)
	} else {
		c.logger.Info("cache store answers again", "store", c.store.Name())
	}
}

// Purge removes every entry of an action, or, with key, one entry.
func (c *Cache) Purge(ctx context.Context, action, key string) (int, error) {
	if key != "" {
		return 1, c.store.Delete(ctx, key)
	}
	return c.store.Purge(ctx, PurgePrefix(action))
}
