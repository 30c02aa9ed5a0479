package catalog

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/registry"
)

// pool is the processes that serve one version of a plugin: what its
// registered actions invoke. A request goes to a live process, round robin;
// while none is live (the plugin restarts), it waits up to restartWait,
// within its own deadline, for one to come back, so that a crash fails only
// the requests in flight in the process that crashed. Beyond maxInFlight
// requests at once, it answers 503 at once (the bulkhead).
type pool struct {
	name        string
	restartWait time.Duration
	maxInFlight int64
	clock       clockwork.Clock

	inflight atomic.Int64
	next     atomic.Uint64

	mu      sync.Mutex
	live    []process
	changed chan struct{} // closed, and replaced, whenever live changes
	closed  bool          // retired: no process will come any more
}

func newPool(name string, restartWait time.Duration, maxInFlight int, clock clockwork.Clock) *pool {
	return &pool{name: name, restartWait: restartWait, maxInFlight: int64(maxInFlight), clock: clock, changed: make(chan struct{})}
}

func (p *pool) add(proc process) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live = append(p.live, proc)
	p.signal()
}

func (p *pool) remove(proc process) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, q := range p.live {
		if q == proc {
			p.live = append(p.live[:i:i], p.live[i+1:]...)
			break
		}
	}
	p.signal()
}

// close says no process will come: requests waiting give up at once.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.signal()
}

func (p *pool) signal() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Invoke runs the invocation in a live process.
func (p *pool) Invoke(ctx context.Context, inv *registry.Invocation) ([]byte, error) {
	n := p.inflight.Add(1)
	defer p.inflight.Add(-1)
	if p.maxInFlight > 0 && n > p.maxInFlight {
		e := apierr.New(http.StatusServiceUnavailable, "plugin_busy", "plugin %q already runs %d requests, its max_concurrency", p.name, p.maxInFlight)
		e.RetryAfter = time.Second
		return nil, e
	}
	proc, err := p.pick(ctx, inv.Action)
	if err != nil {
		return nil, err
	}
	return proc.Invoke(ctx, inv)
}

// pick returns a live process, waiting for one while there is none.
func (p *pool) pick(ctx context.Context, action string) (process, error) {
	var wait <-chan time.Time
	for {
		p.mu.Lock()
		var alive []process
		for _, q := range p.live {
			select {
			case <-q.Exited(): // gone, and the supervisor has not heard yet
			default:
				alive = append(alive, q)
			}
		}
		changed, closed := p.changed, p.closed
		p.mu.Unlock()
		if len(alive) > 0 {
			return alive[p.next.Add(1)%uint64(len(alive))], nil
		}
		if closed {
			return nil, p.unavailable(action)
		}
		if wait == nil {
			t := p.clock.NewTimer(p.restartWait)
			defer t.Stop()
			wait = t.Chan()
		}
		select {
		case <-changed:
		case <-wait:
			return nil, p.unavailable(action)
		case <-ctx.Done():
			return nil, ctx.Err() // the pipeline answers 504: the budget ran out
		}
	}
}

func (p *pool) unavailable(action string) error {
	e := apierr.New(http.StatusServiceUnavailable, "plugin_unavailable", "the plugin %q serving action %q is not running", p.name, action)
	e.RetryAfter = time.Second
	return e
}

var _ registry.Invoker = (*pool)(nil)
