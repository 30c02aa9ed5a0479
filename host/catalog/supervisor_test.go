package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/registry"
)

// The supervisor's state machine, in memory: fake processes, a fake
// plugins directory and a fake clock. No process starts, nothing sleeps.

// fakeProc is a plugin process that answers with its pid.
type fakeProc struct {
	pid      int
	exited   chan struct{}
	once     sync.Once
	killed   atomic.Bool
	unhealth atomic.Bool // its health check fails
	killErr  error
	// hold, when set, makes Invoke say it started (on entered) and wait
	// until hold is closed.
	hold, entered chan struct{}
}

var lastPID atomic.Int64

func newFakeProc() *fakeProc {
	return &fakeProc{pid: int(lastPID.Add(1)), exited: make(chan struct{})}
}

func (f *fakeProc) Invoke(context.Context, *registry.Invocation) ([]byte, error) {
	if f.hold != nil {
		f.entered <- struct{}{}
		<-f.hold
	}
	return []byte(fmt.Sprintf(`{"pid":%d}`, f.pid)), nil
}
func (f *fakeProc) PID() int                { return f.pid }
func (f *fakeProc) Version() string         { return "test" }
func (f *fakeProc) Sandbox() SandboxView    { return SandboxView{} }
func (f *fakeProc) Exited() <-chan struct{} { return f.exited }
func (f *fakeProc) InFlight() int64         { return 0 }
func (f *fakeProc) crash()                  { f.once.Do(func() { close(f.exited) }) }
func (f *fakeProc) Health(context.Context) error {
	if f.unhealth.Load() {
		return errors.New("not serving")
	}
	return nil
}
func (f *fakeProc) Kill() error {
	f.killed.Store(true)
	f.crash()
	return f.killErr
}

// world is a fake plugins directory and the processes the supervisor
// started in it.
type world struct {
	t     *testing.T
	clock *clockwork.FakeClock
	sup   *Supervisor
	reg   *registry.Registry

	mu      sync.Mutex
	files   map[string]Binary // name → file; Stamp.Size stands for its content
	bad     map[string]error  // names whose start fails
	started map[string][]*fakeProc
	cancel  context.CancelFunc
	ran     chan error
}

func (w *world) discover() ([]Binary, []Problem, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var bins []Binary
	for _, b := range w.files {
		bins = append(bins, b)
	}
	slices.SortFunc(bins, func(a, b Binary) int { return strings.Compare(a.Name, b.Name) })
	return bins, nil, nil
}

func (w *world) inspect(name string) (Binary, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, ok := w.files[name]
	if !ok {
		return Binary{}, fs.ErrNotExist
	}
	return b, nil
}

// launch starts fake processes serving one action named after the file.
func (w *world) launch(_ context.Context, req launchRequest) launchResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	sum := fmt.Sprintf("%064d", req.bin.Stamp.Size) // the file's "content"
	r := launchResult{stamp: req.bin.Stamp, sha256: sum, pool: req.pool}
	switch {
	case req.running != "" && sum == req.running:
		r.unchanged = true
		return r
	case req.expect != "" && sum != req.expect:
		r.changed = true
		return r
	case w.bad[req.bin.Name] != nil:
		r.err = w.bad[req.bin.Name]
		return r
	}
	for range req.n {
		p := newFakeProc()
		w.started[req.bin.Name] = append(w.started[req.bin.Name], p)
		r.procs = append(r.procs, p)
	}
	a, err := registry.NewAction(registry.Description{Name: "act-" + req.bin.Name}, registry.Plugin{Name: req.bin.Name}, req.pool, registry.Overrides{}, registry.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	r.actions = []*registry.Action{a}
	return r
}

func (w *world) procs(name string) []*fakeProc {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*fakeProc(nil), w.started[name]...)
}

func (w *world) write(name string, content int64) {
	w.mu.Lock()
	w.files[name] = Binary{Name: name, Path: "/plugins/" + name, Stamp: Stamp{Ino: uint64(len(w.files) + 1), Size: content, Mtime: time.Now().UnixNano()}}
	w.mu.Unlock()
}

func (w *world) fail(name string, err error) {
	w.mu.Lock()
	w.bad[name] = err
	w.mu.Unlock()
}

// newWorld runs a supervisor over files (name → content).
func newWorld(t *testing.T, files map[string]int64, plugins map[string]config.Plugin) *world {
	t.Helper()
	w := &world{t: t, clock: clockwork.NewFakeClock(), files: map[string]Binary{}, bad: map[string]error{}, started: map[string][]*fakeProc{}, reg: &registry.Registry{}}
	for name, content := range files {
		w.write(name, content)
	}
	s, err := NewSupervisor(Options{Dir: "/plugins", Registry: w.reg, Plugins: plugins, Clock: w.clock,
		Supervision: Supervision{HealthInterval: -1, RestartDelay: 100 * time.Millisecond, Grace: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	s.files, s.launch = w, w.launch
	w.sup = s
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.ran = cancel, make(chan error, 1)
	go func() { w.ran <- s.Run(ctx) }()
	t.Cleanup(func() { w.stop() })
	<-s.Loaded()
	return w
}

func (w *world) stop() error {
	if w.cancel == nil {
		return nil
	}
	w.cancel()
	w.cancel = nil
	return <-w.ran
}

// until waits for the supervisor's views to satisfy cond.
func (w *world) until(what string, cond func(map[string]PluginView) bool) {
	w.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		views := map[string]PluginView{}
		for _, v := range w.sup.Plugins() {
			views[v.Name] = v
		}
		if cond(views) {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("never: %s; views %+v", what, views)
		}
		time.Sleep(time.Millisecond)
	}
}

// timers waits until n timers run on the fake clock, then advances it.
func (w *world) advance(n int, d time.Duration) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.clock.BlockUntilContext(ctx, n); err != nil {
		w.t.Fatalf("waiting for %d timers: %v", n, err)
	}
	w.clock.Advance(d)
}

func (w *world) call(action string) (string, error) {
	a, ok := w.reg.Current().Lookup(action)
	if !ok {
		return "", fmt.Errorf("no action %q", action)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := a.Invoke(ctx, &registry.Invocation{Action: action})
	return string(out), err
}

func serving(name string) func(map[string]PluginView) bool {
	return func(v map[string]PluginView) bool { return v[name].State == StateServing }
}

func TestSupervisorLoadsAndServes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string]int64{"a": 1, "b": 2}, nil)
	w.until("both serve", func(v map[string]PluginView) bool { return serving("a")(v) && serving("b")(v) })
	if out, err := w.call("act-a"); err != nil || !strings.Contains(out, "pid") {
		t.Errorf("act-a: %s %v", out, err)
	}
}

// TestCrashRestartsWithBackoffAndRequestsWait: a crashed process is
// restarted after RestartDelay, doubling with each crash; a request that
// arrives meanwhile waits for the restart instead of failing.
func TestCrashRestartsWithBackoffAndRequestsWait(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string]int64{"a": 1}, map[string]config.Plugin{"a": {RestartWait: 5 * time.Second}})
	for i, delay := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		procs := w.procs("a")
		procs[len(procs)-1].crash()
		w.until("restarting", func(v map[string]PluginView) bool { return v["a"].State == StateRestarting })
		answer := make(chan error, 1)
		go func() { _, err := w.call("act-a"); answer <- err }()
		w.clock.BlockUntilContext(context.Background(), 2) // the restart's timer, and the request's restart_wait
		w.clock.Advance(delay - time.Millisecond)
		select {
		case err := <-answer:
			t.Fatalf("crash %d: the request answered (%v) before the restart", i, err)
		default:
		}
		w.clock.Advance(time.Millisecond)
		if err := <-answer; err != nil {
			t.Errorf("crash %d: the waiting request failed: %v", i, err)
		}
		w.until("serving again", func(v map[string]PluginView) bool { return serving("a")(v) && v["a"].Restarts == i+1 })
	}
}

func TestCrashLoopMarksFailedUntilReload(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string]int64{"a": 1}, nil)
	w.fail("a", errors.New("exits at once"))
	w.procs("a")[0].crash()
	for _, delay := range []time.Duration{100, 200, 400, 800} { // the first crash, then four failed restarts
		w.advance(1, delay*time.Millisecond)
	}
	w.until("failed", func(v map[string]PluginView) bool {
		return v["a"].State == StateFailed && strings.Contains(v["a"].Error, "crash loop: stopped 5 times")
	})
	// Its action answers 503 at once, not 404, and not after restart_wait.
	if _, err := w.call("act-a"); apierr.From(err) == nil || apierr.From(err).Code != "plugin_unavailable" {
		t.Errorf("the action of a failed plugin: %v", err)
	}
	w.fail("a", nil)
	v, err := w.sup.Reload(context.Background(), "a")
	if err != nil || v.State != StateServing {
		t.Fatalf("reload: %+v %v", v, err)
	}
}

func TestDebounceWaitsForTheFileToSettle(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string]int64{"a": 1}, nil)
	w.write("b", 7)
	w.sup.post(fileEvent{"b"})
	w.clock.BlockUntilContext(context.Background(), 1)
	w.clock.Advance(400 * time.Millisecond)
	w.sup.post(fileEvent{"b"}) // changed again: the wait starts over
	w.clock.Advance(400 * time.Millisecond)
	if _, ok := w.sup.Plugin("b"); ok {
		t.Fatal("started before the file settled")
	}
	w.clock.Advance(100 * time.Millisecond)
	w.until("b serves", serving("b"))
}

func TestReplaceSwapsAndRetiresTheOld(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string]int64{"a": 1}, nil)
	old := w.procs("a")[0]
	w.write("a", 2)
	w.sup.post(fileSettled{"a"})
	w.until("the new one serves", func(v map[string]PluginView) bool { return v["a"].PID != old.pid && serving("a")(v) })
	if old.killed.Load() {
		t.Fatal("the old process was stopped before its grace")
	}
	w.advance(1, time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for !old.killed.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !old.killed.Load() {
		t.Fatal("the old process was not stopped after its grace")
	}
	// The same bytes again (a touch): nothing starts.
	w.write("a", 2)
	w.sup.post(fileSettled{"a"})
	w.sup.post(fileSettled{"nothing"})
	if n := len(w.procs("a")); n != 2 {
		t.Errorf("%d processes started, want 2 (a touch starts none)", n)
	}
	// A bad replacement leaves the running one serving.
	w.fail("a", errors.New("does not start"))
	w.write("a", 3)
	w.sup.post(fileSettled{"a"})
	w.until("the refusal is reported", func(v map[string]PluginView) bool {
		return serving("a")(v) && strings.Contains(v["a"].Error, "the previous one keeps serving")
	})
}

func TestRemovedFileUnregistersAndStops(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string]int64{"a": 1}, nil)
	p := w.procs("a")[0]
	w.mu.Lock()
	delete(w.files, "a")
	w.mu.Unlock()
	w.sup.post(fileSettled{"a"})
	w.until("gone", func(v map[string]PluginView) bool { _, ok := v["a"]; return !ok })
	if _, ok := w.reg.Current().Lookup("act-a"); ok {
		t.Error("its action is still registered")
	}
	w.advance(1, time.Second)
	for !p.killed.Load() {
		time.Sleep(time.Millisecond)
	}
}

func TestTwoFailedHealthChecksRestart(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string]int64{"a": 1}, nil)
	p := w.procs("a")[0]
	p.unhealth.Store(true)
	w.sup.post(healthDue{})
	w.sup.post(healthDue{})
	w.until("restarting", func(v map[string]PluginView) bool {
		return v["a"].State == StateRestarting && strings.Contains(v["a"].Error, "2 health checks")
	})
	w.advance(1, 100*time.Millisecond)
	w.until("serving again", serving("a"))
}

// TestOneOfTwoProcessesCrashes: with processes = 2, requests go to the
// other process at once while the crashed one restarts.
func TestOneOfTwoProcessesCrashes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string]int64{"a": 1}, map[string]config.Plugin{"a": {Processes: 2, RestartWait: time.Nanosecond}})
	w.until("two processes", func(v map[string]PluginView) bool { return len(v["a"].PIDs) == 2 })
	procs := w.procs("a")
	procs[0].crash()
	w.until("one process", func(v map[string]PluginView) bool { return len(v["a"].PIDs) == 1 && serving("a")(v) })
	for range 10 {
		out, err := w.call("act-a")
		if err != nil || !strings.Contains(out, fmt.Sprint(procs[1].pid)) {
			t.Fatalf("a request while one process restarts: %s %v", out, err)
		}
	}
	w.advance(1, 100*time.Millisecond)
	w.until("two again", func(v map[string]PluginView) bool { return len(v["a"].PIDs) == 2 })
}

func TestRunReportsFailuresToStop(t *testing.T) {
	t.Parallel()
	w := newWorld(t, map[string]int64{"a": 1}, nil)
	w.procs("a")[0].killErr = errors.New("would not die")
	if err := w.stop(); err == nil || !strings.Contains(err.Error(), "would not die") {
		t.Errorf("Run: %v", err)
	}
}
