package catalog

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/registry"
)

// The pool in memory: fake processes and a fake clock.

func invoke(p *pool) (string, error) {
	out, err := p.Invoke(context.Background(), &registry.Invocation{Action: "act"})
	return string(out), err
}

func TestPoolSpreadsRequestsOverLiveProcesses(t *testing.T) {
	t.Parallel()
	p := newPool("a", time.Second, 0, clockwork.NewFakeClock())
	a, b := newFakeProc(), newFakeProc()
	p.add(a)
	p.add(b)
	served := map[string]int{}
	for range 10 {
		out, err := invoke(p)
		if err != nil {
			t.Fatal(err)
		}
		served[out]++
	}
	for _, proc := range []*fakeProc{a, b} {
		if n := served[fmt.Sprintf(`{"pid":%d}`, proc.pid)]; n != 5 {
			t.Errorf("process %d served %d of 10 requests, want 5 (%v)", proc.pid, n, served)
		}
	}
	// A process that exited is skipped before the supervisor hears of it.
	a.crash()
	for range 4 {
		if out, err := invoke(p); err != nil || out != fmt.Sprintf(`{"pid":%d}`, b.pid) {
			t.Fatalf("with one process exited: %s %v", out, err)
		}
	}
}

// TestPoolWaitsAtMostRestartWait: while no process is live a request
// waits restart_wait for one, then answers 503 plugin_unavailable; a
// process that comes back meanwhile serves it; a request whose own budget
// is shorter ends with its budget.
func TestPoolWaitsAtMostRestartWait(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClock()
	p := newPool("a", time.Second, 0, clock)
	answer := func() chan error {
		c := make(chan error, 1)
		go func() { _, err := invoke(p); c <- err }()
		return c
	}

	gaveUp := answer()
	clock.BlockUntilContext(context.Background(), 1)
	clock.Advance(time.Second - time.Millisecond)
	select {
	case err := <-gaveUp:
		t.Fatalf("answered before restart_wait: %v", err)
	default:
	}
	clock.Advance(time.Millisecond)
	err := <-gaveUp
	if e := apierr.From(err); e == nil || e.Status != 503 || e.Code != "plugin_unavailable" || e.RetryAfter <= 0 {
		t.Errorf("after restart_wait: %v", err)
	}

	served := answer()
	clock.BlockUntilContext(context.Background(), 1)
	p.add(newFakeProc())
	if err := <-served; err != nil {
		t.Errorf("a process came back while the request waited: %v", err)
	}

	p.remove(p.live[0])
	ctx, cancel := context.WithCancel(context.Background())
	budget := make(chan error, 1)
	go func() { _, err := p.Invoke(ctx, &registry.Invocation{Action: "act"}); budget <- err }()
	clock.BlockUntilContext(context.Background(), 1)
	cancel()
	if err := <-budget; err != context.Canceled {
		t.Errorf("the request's own budget ended: %v, want its context's error", err)
	}

	p.close()
	if _, err := invoke(p); apierr.From(err).Code != "plugin_unavailable" {
		t.Errorf("a retired pool: %v", err)
	}
}

// TestPoolBeyondMaxConcurrencyAnswersBusyAtOnce: the bulkhead answers 503
// plugin_busy without queueing, and admits again once a request ends.
func TestPoolBeyondMaxConcurrencyAnswersBusyAtOnce(t *testing.T) {
	t.Parallel()
	p := newPool("a", time.Second, 1, clockwork.NewFakeClock())
	proc := newFakeProc()
	proc.hold, proc.entered = make(chan struct{}), make(chan struct{}, 1)
	p.add(proc)
	first := make(chan error, 1)
	go func() { _, err := invoke(p); first <- err }()
	<-proc.entered
	_, err := invoke(p)
	if e := apierr.From(err); e == nil || e.Status != 503 || e.Code != "plugin_busy" || e.RetryAfter <= 0 || !strings.Contains(e.Message, "max_concurrency") {
		t.Fatalf("beyond max_concurrency: %v", err)
	}
	close(proc.hold)
	if err := <-first; err != nil {
		t.Errorf("the request within the bound: %v", err)
	}
	if _, err := invoke(p); err != nil {
		t.Errorf("after the first ended: %v", err)
	}
}
