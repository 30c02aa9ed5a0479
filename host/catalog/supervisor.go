package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
	"github.com/jonboulle/clockwork"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/registry"
	"github.com/switchboard-dev/switchboard/host/sandbox"
)

// Options configure a Supervisor.
type Options struct {
	// Dir is the plugins directory.
	Dir string
	// Registry receives a new snapshot whenever the served actions change.
	Registry *registry.Registry
	// Logger receives load reports and plugin logs. Nil: no logs.
	Logger hclog.Logger
	// Process is how each plugin process is started (Pin, GOMAXPROCS, the
	// sandbox, the user and SocketRoot are set per plugin).
	Process ProcessOptions
	// Plugins are the config's settings of plugin binaries, by file name.
	Plugins map[string]config.Plugin
	// RequirePinned refuses every binary without a pin.
	RequirePinned bool
	// Overrides are the config's changes to actions, by action name.
	Overrides map[string]registry.Overrides
	// Action holds host-wide action settings.
	Action registry.Options
	// ContractChecks is config.ContractEnforce (a breach of a Genesys Cloud
	// contract rule refuses the plugin) or config.ContractWarn (it is
	// logged). Empty means enforce.
	ContractChecks string
	// Supervision is how running plugins are watched; zero values mean the
	// defaults documented on Supervision.
	Supervision Supervision
	// Sandbox is the sandbox mode of plugins whose block sets none; empty
	// means best_effort. What the machine can apply is Process.Capabilities.
	Sandbox sandbox.Mode
	// PluginUID and PluginGID are the user plugins run as when the host is
	// root and their block sets none; 0 means 65534.
	PluginUID, PluginGID int
	// GrantDeclared grants a plugin whose block names no connections those
	// its actions declare (development mode), and logs it.
	GrantDeclared bool
	// Clock is the supervisor's time; nil means the real clock.
	Clock clockwork.Clock
}

// Supervision configures how plugins are watched.
type Supervision struct {
	// Watch follows the plugins directory: new, replaced and removed
	// binaries are started, swapped in and stopped while the host serves.
	Watch bool
	// Debounce is how long a file must stay unchanged before it is used, so
	// that a half-copied binary is never started. Default 500 ms.
	Debounce time.Duration
	// HealthInterval is the period of health checks; default 10 s, negative
	// turns them off. HealthTimeout bounds each check; default 2 s. A process
	// failing two checks in a row is restarted.
	HealthInterval, HealthTimeout time.Duration
	// RestartDelay is the first delay before restarting a process that
	// exited; it doubles with each crash up to MaxRestartDelay. Defaults
	// 100 ms and 10 s.
	RestartDelay, MaxRestartDelay time.Duration
	// CrashLoop is how many exits within CrashWindow mark a plugin failed;
	// it is then not restarted until its binary changes or a reload is
	// asked. Defaults 5 and 1 min.
	CrashLoop   int
	CrashWindow time.Duration
	// DrainTimeout bounds how long a replaced or removed plugin may finish
	// its requests in flight; default 65 s (a little more than the longest
	// action budget). Grace is how long it keeps serving after it was
	// swapped out, for requests that had looked it up just before; default 1 s.
	DrainTimeout, Grace time.Duration
}

func (s *Supervision) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&s.Debounce, 500*time.Millisecond)
	def(&s.HealthInterval, 10*time.Second)
	def(&s.HealthTimeout, 2*time.Second)
	def(&s.RestartDelay, 100*time.Millisecond)
	def(&s.MaxRestartDelay, 10*time.Second)
	def(&s.CrashWindow, time.Minute)
	def(&s.DrainTimeout, 65*time.Second)
	def(&s.Grace, time.Second)
	if s.CrashLoop == 0 {
		s.CrashLoop = 5
	}
}

// process is what the supervisor and the pool need of a plugin process:
// *Process, or a fake in the supervisor's tests.
type process interface {
	registry.Invoker
	PID() int
	Version() string
	Sandbox() SandboxView
	Exited() <-chan struct{}
	Health(ctx context.Context) error
	InFlight() int64
	Kill() error
}

var _ process = (*Process)(nil)

// files is the plugins directory as the supervisor sees it.
type files interface {
	discover() ([]Binary, []Problem, error)
	inspect(name string) (Binary, error)
}

// launchRequest asks for processes of one plugin file.
type launchRequest struct {
	bin     Binary
	n       int    // processes
	running string // when its bytes hash to this, start nothing: unchanged
	expect  string // when set, its bytes must hash to this, else: changed
	pool    *pool  // what the actions built will invoke
	// spec is the config the processes load with, taken on Run's goroutine
	// when the launch is asked (a reload may change the config meanwhile).
	spec loadSpec
}

// launchResult is the outcome of a launchRequest.
type launchResult struct {
	procs     []process
	actions   []*registry.Action // of the first process; they invoke pool
	pool      *pool              // the request's
	sha256    string
	stamp     Stamp
	unchanged bool // the bytes are the ones already running
	changed   bool // the bytes are not the ones expected
	err       error
}

// Supervisor keeps the plugins of one directory running and the registry's
// snapshot in step with them. It is an actor: its state changes only on
// Run's goroutine, one event at a time (handle); everything else sends it
// events and reads copies of its views.
type Supervisor struct {
	opts   Options
	sup    Supervision
	logger hclog.Logger
	clock  clockwork.Clock
	root   *privateDir // holds each process's directory and every socket
	files  files
	launch func(context.Context, launchRequest) launchResult

	events chan event
	quit   chan struct{} // closed when Run starts shutting down
	loaded chan struct{} // closed when the first load is done
	done   chan struct{} // closed when Run has returned
	work   sync.WaitGroup
	ctx    context.Context // of Run: cancels launches at shutdown

	mu       sync.Mutex
	views    map[string]PluginView
	loadErr  error
	killErrs []error

	// Owned by Run's goroutine.
	slots     map[string]*slot
	debounces map[string]clockwork.Timer
	replies   []reply // answered once the views show the change
}

type reply struct {
	to  chan error
	err error
}

// slot is one plugin file and the processes serving it.
type slot struct {
	name, path string
	stamp      Stamp  // of the file whose bytes were last verified
	sha256     string // of the bytes the processes run
	state      string
	err        error
	restarts   int
	crashes    []time.Time
	actions    []*registry.Action
	pool       *pool // what actions invoke; nil before the first start
	instances  []*instance
	gen        uint64 // bumped by every launch of the whole slot: older results are dropped
	waiters    []chan error
	// reloading: a reload's launch is under way, so a later launch must
	// start processes even from the same bytes (they load other settings).
	reloading bool
}

// instance is one of a slot's processes (plugin { processes = N }).
type instance struct {
	proc      process // nil while down
	gen       uint64  // bumped by every restart of this instance
	retry     clockwork.Timer
	unhealthy int
}

// Launch reasons.
type reason int

const (
	startNew reason = iota
	startReplace
	startReload
)

// Events: what happened, for handle.
type (
	event       interface{}
	fileEvent   struct{ name string } // the directory says the file changed
	fileSettled struct{ name string } // and it has not since, for Debounce
	healthDue   struct{}
	launched    struct {
		sl     *slot
		gen    uint64
		why    reason
		result launchResult
	}
	restartDue struct {
		sl   *slot
		inst *instance
		gen  uint64
	}
	restarted struct {
		sl     *slot
		inst   *instance
		gen    uint64
		result launchResult
	}
	exited struct {
		sl   *slot
		inst *instance
		proc process
	}
	healthChecked struct {
		sl   *slot
		inst *instance
		proc process
		err  error
	}
	reloadAsked struct {
		name  string
		reply chan error
	}
	reconfigureAsked struct {
		settings Settings
		reply    chan error
	}
)

// NewSupervisor prepares a supervisor; Run loads and supervises the plugins.
func NewSupervisor(opts Options) (*Supervisor, error) {
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if opts.Registry == nil {
		opts.Registry = &registry.Registry{}
	}
	s := &Supervisor{
		opts: opts, sup: opts.Supervision, logger: logger, clock: cmp.Or(opts.Clock, clockwork.NewRealClock()),
		events: make(chan event), quit: make(chan struct{}), loaded: make(chan struct{}), done: make(chan struct{}),
		views: map[string]PluginView{}, slots: map[string]*slot{}, debounces: map[string]clockwork.Timer{},
	}
	s.sup.setDefaults()
	s.files = &dirFiles{dir: opts.Dir}
	s.launch = s.start
	return s, nil
}

// Run loads every plugin of the directory, supervises them until ctx is
// done, then stops them all and removes the processes' directories. It
// returns the failures to stop them, or why the directory cannot be used.
func (s *Supervisor) Run(ctx context.Context) (err error) {
	defer close(s.done)
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.ctx = runCtx
	if s.root, err = newPrivateDir(s.logger); err != nil {
		s.mu.Lock()
		s.loadErr = err
		s.mu.Unlock()
		close(s.loaded)
		close(s.quit)
		return err
	}
	var watch <-chan fsnotify.Event
	var watchErrs <-chan error
	if s.sup.Watch {
		w, werr := s.watch()
		if werr != nil {
			err = werr
		} else {
			defer w.Close()
			watch, watchErrs = w.Events, w.Errors
		}
	}
	if err == nil {
		err = s.initialLoad(ctx)
	}
	s.mu.Lock()
	s.loadErr = err
	s.mu.Unlock()
	close(s.loaded)
	if err != nil {
		return errors.Join(err, s.shutdown(cancel))
	}
	var health <-chan time.Time
	if s.sup.HealthInterval > 0 {
		t := s.clock.NewTicker(s.sup.HealthInterval)
		defer t.Stop()
		health = t.Chan()
	}
	for {
		select {
		case ev := <-s.events:
			s.handle(ev)
		case ev, ok := <-watch:
			if ok {
				s.handle(fileEvent{filepath.Base(ev.Name)})
			}
		case werr, ok := <-watchErrs:
			if ok {
				s.logger.Warn("watching the plugins directory", "error", werr)
			}
		case <-health:
			s.handle(healthDue{})
		case <-ctx.Done():
			return s.shutdown(cancel)
		}
		s.publishViews()
		for _, r := range s.replies {
			r.to <- r.err
		}
		s.replies = nil
	}
}

// watch follows the directory; it watches before the first load, so that no
// change made during it is missed.
func (s *Supervisor) watch() (*fsnotify.Watcher, error) {
	dir, err := resolveDir(s.opts.Dir)
	if err != nil {
		return nil, err
	}
	w, err := fsnotify.NewWatcher()
	if err == nil {
		err = w.Add(dir)
	}
	if err != nil {
		if w != nil {
			w.Close()
		}
		return nil, fmt.Errorf("watching the plugins directory: %w", err)
	}
	return w, nil
}

// handle applies one event. It is the only place the state changes.
func (s *Supervisor) handle(ev event) {
	switch ev := ev.(type) {
	case fileEvent:
		s.debounce(ev.name)
	case fileSettled:
		delete(s.debounces, ev.name)
		s.reconcile(ev.name)
	case healthDue:
		s.checkHealth()
	case launched:
		s.launched(ev.sl, ev.gen, ev.why, ev.result)
	case restartDue:
		s.restart(ev.sl, ev.inst, ev.gen)
	case restarted:
		s.restarted(ev.sl, ev.inst, ev.gen, ev.result)
	case exited:
		if s.current(ev.sl, ev.inst, ev.proc) {
			s.crashed(ev.sl, ev.inst, errors.New("the process exited unexpectedly"))
		}
	case healthChecked:
		s.healthChecked(ev.sl, ev.inst, ev.proc, ev.err)
	case reloadAsked:
		s.reload(ev.name, ev.reply)
	case reconfigureAsked:
		s.reconfigure(ev.settings, ev.reply)
	default:
		panic(fmt.Sprintf("catalog: unknown event %T", ev))
	}
}

// post sends an event to Run's goroutine; false once it shuts down.
func (s *Supervisor) post(ev event) bool {
	select {
	case s.events <- ev:
		return true
	case <-s.quit:
		return false
	}
}

// goWork runs f in the background; shutdown waits for it.
func (s *Supervisor) goWork(f func()) {
	s.work.Add(1)
	go func() {
		defer s.work.Done()
		f()
	}()
}

// initialLoad verifies and starts every plugin of the directory, in
// parallel; pinned plugins then claim their actions first, then the
// others, each in file-name order.
func (s *Supervisor) initialLoad(ctx context.Context) error {
	bins, problems, err := s.files.discover()
	if err != nil {
		return err
	}
	results := make([]launchResult, len(bins))
	var wg sync.WaitGroup
	for i, bin := range bins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.launch(ctx, launchRequest{bin: bin, n: s.processes(bin.Name), pool: s.newPool(bin.Name), spec: s.spec(bin.Name)})
		}()
	}
	wg.Wait()
	for _, pinned := range []bool{true, false} {
		for i, bin := range bins {
			if s.pinned(bin.Name) != pinned {
				continue
			}
			sl := &slot{name: bin.Name, path: bin.Path, stamp: bin.Stamp, state: StateStarting}
			s.slots[sl.name] = sl
			s.launched(sl, sl.gen, startNew, results[i])
		}
	}
	for _, p := range problems {
		s.slots[p.Plugin] = &slot{name: p.Plugin, path: filepath.Join(s.opts.Dir, p.Plugin), state: StateRefused, err: p.Err}
	}
	for name := range s.opts.Overrides {
		if _, ok := s.opts.Registry.Current().Lookup(name); !ok {
			s.logger.Warn("the config sets an action that no plugin serves", "action", name)
		}
	}
	s.publishViews()
	return nil
}

// start is the real launcher: the file is read and verified once, then its
// n processes are loaded in parallel; if any fails, the others are stopped.
func (s *Supervisor) start(ctx context.Context, req launchRequest) launchResult {
	r := launchResult{stamp: req.bin.Stamp, pool: req.pool}
	v, err := Verify(req.bin)
	if err != nil {
		r.err = err
		return r
	}
	defer v.Close()
	r.sha256 = v.SHA256
	switch {
	case req.running != "" && v.SHA256 == req.running:
		r.unchanged = true
		return r
	case req.expect != "" && v.SHA256 != req.expect:
		r.changed = true
		return r
	}
	spec := req.spec
	procs := make([]*Process, req.n)
	actions := make([][]*registry.Action, req.n)
	errs := make([]error, req.n)
	var wg sync.WaitGroup
	for i := range req.n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			procs[i], actions[i], errs[i] = load(ctx, v, spec, req.pool)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, p := range procs {
			if p != nil {
				if kerr := p.Kill(); kerr != nil {
					err = fmt.Errorf("%w; additionally, cleanup: %v", err, kerr)
				}
			}
		}
		r.err = err
		return r
	}
	for _, p := range procs {
		r.procs = append(r.procs, p)
	}
	r.actions = actions[0]
	return r
}

// spec is what loading the named plugin needs of the config.
func (s *Supervisor) spec(name string) loadSpec {
	pc := s.plugin(name)
	opts := s.opts.Process
	opts.Pins, opts.GOMAXPROCS = pc.Pins, pc.GOMAXPROCS
	opts.SocketRoot, opts.Logger = s.root.path, s.logger
	opts.Sandbox = sandbox.Policy{Mode: cmp.Or(pc.Sandbox, s.opts.Sandbox), ReadPaths: pc.SandboxRead, Limits: pc.Limits}
	opts.UID, opts.GID = cmp.Or(pc.UID, s.opts.PluginUID), cmp.Or(pc.GID, s.opts.PluginGID)
	return loadSpec{
		process: opts, requirePinned: s.opts.RequirePinned, grants: pc.Connections, grantDeclared: s.opts.GrantDeclared,
		contract: s.opts.ContractChecks, overrides: s.opts.Overrides, action: s.opts.Action, logger: s.logger,
	}
}

func (s *Supervisor) plugin(name string) config.Plugin {
	if pc, ok := s.opts.Plugins[name]; ok {
		return pc
	}
	return config.DefaultPlugin()
}

func (s *Supervisor) processes(name string) int { return max(s.plugin(name).Processes, 1) }

func (s *Supervisor) newPool(name string) *pool {
	pc := s.plugin(name)
	return newPool(name, pc.RestartWait, pc.MaxConcurrency, s.clock)
}

// pinned reports whether the config pins the plugin file name.
func (s *Supervisor) pinned(name string) bool { return s.opts.Plugins[name].Pinned() }

// launchSlot starts the slot's file anew, all its processes, in the
// background: a new file, a replaced one, a reload.
func (s *Supervisor) launchSlot(sl *slot, why reason) {
	sl.gen++
	gen := sl.gen
	for _, in := range sl.instances {
		stopTimer(&in.retry)
	}
	bin, err := s.files.inspect(sl.name)
	if err != nil {
		s.launched(sl, gen, why, launchResult{err: err})
		return
	}
	req := launchRequest{bin: bin, n: s.processes(sl.name), pool: s.newPool(sl.name), spec: s.spec(sl.name)}
	if why == startReload {
		sl.reloading = true
	}
	if why == startReplace && live(sl) > 0 && !sl.reloading {
		req.running = sl.sha256 // the same bytes (a touch, a chmod) start nothing
	}
	s.goWork(func() {
		r := s.launch(s.ctx, req)
		if !s.post(launched{sl, gen, why, r}) {
			s.stop(r.procs...) // shutting down meanwhile
		}
	})
}

// launched installs a started version of a slot, or records why it could
// not be.
func (s *Supervisor) launched(sl *slot, gen uint64, why reason, r launchResult) {
	if gen != sl.gen || s.slots[sl.name] != sl {
		s.stop(r.procs...) // superseded by a newer launch, or the file is gone
		return
	}
	sl.reloading = false
	if r.unchanged {
		sl.stamp = r.stamp
		s.notify(sl, nil)
		return
	}
	err := r.err
	var displaced []*slot
	if err == nil {
		displaced, err = s.conflicts(sl, r.actions)
	}
	if err != nil {
		s.stop(r.procs...)
		if live(sl) == 0 && r.sha256 != "" {
			sl.sha256 = r.sha256 // the refused bytes, for the admin view
		}
		s.refuse(sl, why, err)
		return
	}
	for _, t := range displaced {
		s.displace(t, sl)
	}
	old, oldPool := sl.instances, sl.pool
	sl.pool, sl.actions, sl.sha256, sl.stamp = r.pool, r.actions, r.sha256, r.stamp
	sl.state, sl.err = StateServing, nil
	sl.instances = make([]*instance, len(r.procs))
	for i, p := range r.procs {
		in := &instance{proc: p}
		sl.instances[i] = in
		sl.pool.add(p)
		s.watchExit(sl, in, p)
	}
	s.publish()
	s.logger.Info("plugin serving", "plugin", sl.name, "pids", pids(sl), "sha256", sl.sha256, "actions", actionNames(sl.actions))
	s.notify(sl, nil)
	for _, in := range old {
		s.retire(in.proc)
	}
	if oldPool != nil {
		oldPool.close()
	}
}

// refuse records a launch that failed, according to why it was asked.
func (s *Supervisor) refuse(sl *slot, why reason, err error) {
	switch {
	case live(sl) > 0 && sl.state == StateServing:
		sl.err = fmt.Errorf("the new binary was refused; the previous one keeps serving: %w", err)
		s.logger.Error("plugin replacement refused", "plugin", sl.name, "error", err)
	case len(sl.instances) > 0:
		sl.state, sl.err = StateFailed, err
		sl.pool.close() // launchSlot stopped the restarts
		s.logger.Error("plugin not restarted", "plugin", sl.name, "error", err)
	default:
		sl.state, sl.err = StateRefused, err
		s.logger.Error("plugin not loaded", "plugin", sl.name, "error", err)
	}
	s.notify(sl, err)
}

// conflicts settles a slot's claims to its actions against the other
// plugins'. A pinned plugin's claim beats an unpinned one's: it displaces
// the unpinned plugins serving its actions, and is refused by a pinned one.
// Between plugins both pinned or both not, the first claim keeps the action.
func (s *Supervisor) conflicts(sl *slot, actions []*registry.Action) (displaced []*slot, err error) {
	var errs []error
	for _, a := range actions {
		for _, t := range s.sortedSlots() {
			if t == sl || !slices.ContainsFunc(t.actions, func(b *registry.Action) bool { return b.Name == a.Name }) {
				continue
			}
			switch {
			case s.pinned(sl.name) && !s.pinned(t.name):
				if !slices.Contains(displaced, t) {
					displaced = append(displaced, t)
				}
			case s.pinned(t.name) && !s.pinned(sl.name):
				errs = append(errs, fmt.Errorf("action %q belongs to pinned plugin %q; an unpinned binary cannot serve it", a.Name, t.name))
			default:
				errs = append(errs, fmt.Errorf("action %q is already served by plugin %q", a.Name, t.name))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("refused: %w", err)
	}
	return displaced, nil
}

// displace stops an unpinned plugin whose action the pinned plugin by
// claims; it stays refused until its file changes or a reload is asked.
func (s *Supervisor) displace(t, by *slot) {
	s.unserve(t)
	t.state = StateRefused
	t.err = fmt.Errorf("refused: pinned plugin %q serves the same action, and pins own their actions", by.name)
	s.logger.Error("plugin displaced by a pinned plugin", "plugin", t.name, "pinned", by.name)
	s.notify(t, t.err)
}

// unserve unregisters a slot's actions and retires its processes.
func (s *Supervisor) unserve(sl *slot) {
	sl.gen++
	for _, in := range sl.instances {
		stopTimer(&in.retry)
		s.retire(in.proc)
		in.proc = nil
	}
	if sl.pool != nil {
		sl.pool.close()
	}
	sl.instances, sl.actions, sl.pool = nil, nil, nil
	s.publish()
}

// crashed handles a process that ended or stopped answering: a restart
// after a backoff, or, after a crash loop, the failed state. The actions
// stay registered meanwhile: requests wait up to restart_wait for a
// process (pool), then answer 503 rather than 404.
func (s *Supervisor) crashed(sl *slot, in *instance, why error) {
	if p := in.proc; p != nil {
		in.proc = nil
		sl.pool.remove(p)
		s.stop(p)
	}
	now := s.clock.Now()
	recent := sl.crashes[:0]
	for _, t := range sl.crashes {
		if now.Sub(t) < s.sup.CrashWindow {
			recent = append(recent, t)
		}
	}
	sl.crashes = append(recent, now)
	s.logger.Error("plugin process stopped serving", "plugin", sl.name, "error", why)
	if len(sl.crashes) >= s.sup.CrashLoop {
		for _, other := range sl.instances {
			stopTimer(&other.retry)
		}
		sl.state = StateFailed
		sl.pool.close() // no process comes until a reload: requests answer 503 at once
		sl.err = fmt.Errorf("crash loop: stopped %d times within %v (last: %v); not restarted until its binary changes or POST /admin/plugins/%s/reload", len(sl.crashes), s.sup.CrashWindow, why, sl.name)
		s.logger.Error("plugin failed", "plugin", sl.name, "error", sl.err)
		return
	}
	if live(sl) == 0 {
		sl.state, sl.err = StateRestarting, why
	}
	delay := min(s.sup.RestartDelay<<(len(sl.crashes)-1), s.sup.MaxRestartDelay)
	in.gen++
	gen := in.gen
	stopTimer(&in.retry)
	in.retry = s.clock.AfterFunc(delay, func() { s.post(restartDue{sl, in, gen}) })
}

// restart starts one instance again, from the same bytes.
func (s *Supervisor) restart(sl *slot, in *instance, gen uint64) {
	if gen != in.gen || s.slots[sl.name] != sl || sl.state == StateFailed || !slices.Contains(sl.instances, in) {
		return
	}
	bin, err := s.files.inspect(sl.name)
	if err != nil {
		s.restarted(sl, in, gen, launchResult{err: err})
		return
	}
	req := launchRequest{bin: bin, n: 1, expect: sl.sha256, pool: sl.pool, spec: s.spec(sl.name)}
	s.goWork(func() {
		r := s.launch(s.ctx, req)
		if !s.post(restarted{sl, in, gen, r}) {
			s.stop(r.procs...)
		}
	})
}

// restarted installs a restarted instance, or counts its failure as a crash.
func (s *Supervisor) restarted(sl *slot, in *instance, gen uint64, r launchResult) {
	if gen != in.gen || s.slots[sl.name] != sl || !slices.Contains(sl.instances, in) {
		s.stop(r.procs...)
		return
	}
	switch {
	case r.changed:
		// The file holds other bytes now: start that version, all of it.
		s.logger.Info("plugin file changed while a process restarted", "plugin", sl.name)
		s.launchSlot(sl, startReplace)
	case r.err != nil:
		s.crashed(sl, in, fmt.Errorf("restart failed: %w", r.err))
	default:
		p := r.procs[0]
		in.proc, in.unhealthy = p, 0
		sl.pool.add(p)
		sl.state, sl.err = StateServing, nil
		sl.restarts++
		s.watchExit(sl, in, p)
		s.logger.Info("plugin process restarted", "plugin", sl.name, "pid", p.PID())
	}
}

// current reports whether p is still what the instance runs.
func (s *Supervisor) current(sl *slot, in *instance, p process) bool {
	return s.slots[sl.name] == sl && in.proc == p && p != nil
}

// watchExit reports the process's exit.
func (s *Supervisor) watchExit(sl *slot, in *instance, p process) {
	s.goWork(func() {
		select {
		case <-p.Exited():
			s.post(exited{sl, in, p})
		case <-s.quit:
		}
	})
}

// checkHealth asks every serving process whether it answers.
func (s *Supervisor) checkHealth() {
	for _, sl := range s.slots {
		for _, in := range sl.instances {
			p := in.proc
			if p == nil {
				continue
			}
			s.goWork(func() {
				ctx, cancel := context.WithTimeout(s.ctx, s.sup.HealthTimeout)
				err := p.Health(ctx)
				cancel()
				s.post(healthChecked{sl, in, p, err})
			})
		}
	}
}

// healthChecked counts a failed check; two in a row restart the process.
func (s *Supervisor) healthChecked(sl *slot, in *instance, p process, err error) {
	if !s.current(sl, in, p) {
		return
	}
	if err == nil {
		in.unhealthy = 0
		return
	}
	in.unhealthy++
	s.logger.Warn("plugin health check failed", "plugin", sl.name, "pid", p.PID(), "failures", in.unhealthy, "error", err)
	if in.unhealthy >= 2 {
		s.crashed(sl, in, fmt.Errorf("it failed %d health checks in a row: %w", in.unhealthy, err))
	}
}

// debounce reconciles a file once it has stopped changing.
func (s *Supervisor) debounce(name string) {
	if strings.HasPrefix(name, ".") {
		return
	}
	if t, ok := s.debounces[name]; ok {
		t.Reset(s.sup.Debounce)
		return
	}
	s.debounces[name] = s.clock.AfterFunc(s.sup.Debounce, func() { s.post(fileSettled{name}) })
}

// reconcile brings a slot in line with its file: new, replaced or removed.
func (s *Supervisor) reconcile(name string) {
	sl := s.slots[name]
	bin, err := s.files.inspect(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if sl != nil {
			s.logger.Info("plugin removed", "plugin", name)
			s.unserve(sl)
			delete(s.slots, name)
			s.notify(sl, fmt.Errorf("plugin %q was removed", name))
		}
	case err != nil:
		if sl != nil && live(sl) > 0 {
			sl.err = fmt.Errorf("the file was replaced by one that cannot be used (%v); the previous binary keeps serving", err)
			return
		}
		s.slots[name] = &slot{name: name, path: filepath.Join(s.opts.Dir, name), state: StateRefused, err: err}
	case sl == nil:
		sl = &slot{name: name, path: bin.Path, stamp: bin.Stamp, state: StateStarting}
		s.slots[name] = sl
		s.logger.Info("new plugin", "plugin", name)
		s.launchSlot(sl, startNew)
	case bin.Stamp == sl.stamp && sl.state != StateRefused:
		// The very file that was verified: nothing to do.
	case len(sl.instances) == 0:
		sl.stamp, sl.state = bin.Stamp, StateStarting
		s.launchSlot(sl, startNew)
	default:
		s.logger.Info("plugin file changed", "plugin", name)
		sl.crashes = nil
		s.launchSlot(sl, startReplace)
	}
}

// reload starts a plugin anew from its file, whatever its state.
func (s *Supervisor) reload(name string, to chan error) {
	sl := s.slots[name]
	if sl == nil {
		s.replies = append(s.replies, reply{to, ErrNoPlugin})
		return
	}
	sl.crashes = nil
	sl.waiters = append(sl.waiters, to)
	s.logger.Info("plugin reload asked", "plugin", name)
	s.launchSlot(sl, startReload)
}

// notify answers the Reload calls waiting on a slot, once the views show
// what happened.
func (s *Supervisor) notify(sl *slot, err error) {
	for _, w := range sl.waiters {
		s.replies = append(s.replies, reply{w, err})
	}
	sl.waiters = nil
}

// retire lets a process that no longer serves finish its requests in
// flight, after a grace for requests that had looked it up just before,
// then stops it, in the background.
func (s *Supervisor) retire(p process) {
	if p == nil {
		return
	}
	s.goWork(func() {
		select {
		case <-s.clock.After(s.sup.Grace):
			deadline := s.clock.Now().Add(s.sup.DrainTimeout)
		drain:
			for p.InFlight() > 0 && s.clock.Now().Before(deadline) {
				select {
				case <-p.Exited():
					break drain
				case <-s.quit:
					break drain
				case <-s.clock.After(10 * time.Millisecond):
				}
			}
		case <-p.Exited():
		case <-s.quit: // the host has drained its HTTP requests already
		}
		s.kill(p)
	})
}

// stop stops processes now, in the background.
func (s *Supervisor) stop(procs ...process) {
	for _, p := range procs {
		s.goWork(func() { s.kill(p) })
	}
}

// kill stops a process and keeps the failure, for the log and for Run.
func (s *Supervisor) kill(p process) {
	if err := p.Kill(); err != nil {
		s.logger.Error("stopping a plugin process", "pid", p.PID(), "error", err)
		s.mu.Lock()
		s.killErrs = append(s.killErrs, err)
		s.mu.Unlock()
	}
}

// shutdown stops supervising, then every process, and removes the
// processes' directories.
func (s *Supervisor) shutdown(cancel context.CancelFunc) error {
	close(s.quit)
	cancel() // launches in progress give up
	for _, t := range s.debounces {
		t.Stop()
	}
	for _, sl := range s.slots {
		for _, in := range sl.instances {
			stopTimer(&in.retry)
			if in.proc != nil {
				s.stop(in.proc)
			}
		}
	}
	s.work.Wait()
	s.mu.Lock()
	errs := s.killErrs
	s.mu.Unlock()
	if err := s.root.remove(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// publish installs a snapshot of every slot's actions.
func (s *Supervisor) publish() {
	var actions []*registry.Action
	for _, sl := range s.slots {
		actions = append(actions, sl.actions...)
	}
	snap, err := registry.NewSnapshot(actions...)
	if err != nil { // conflicts refuses duplicates before they get here
		s.logger.Error("registry not updated", "error", err)
		return
	}
	s.opts.Registry.Swap(snap)
}

// publishViews gives readers a copy of every slot.
func (s *Supervisor) publishViews() {
	views := make(map[string]PluginView, len(s.slots))
	for name, sl := range s.slots {
		views[name] = s.view(sl)
	}
	s.mu.Lock()
	s.views = views
	s.mu.Unlock()
}

func (s *Supervisor) sortedSlots() []*slot {
	out := make([]*slot, 0, len(s.slots))
	for _, sl := range s.slots {
		out = append(out, sl)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Loaded returns a channel closed when the first load is done.
func (s *Supervisor) Loaded() <-chan struct{} { return s.loaded }

// LoadError is why the first load could not be made (the plugins directory
// cannot be used); nil before it is done, and when it was.
func (s *Supervisor) LoadError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadErr
}

// Settings are what a config reload may change of a running supervisor.
type Settings struct {
	Plugins        map[string]config.Plugin
	RequirePinned  bool
	Overrides      map[string]registry.Overrides
	Action         registry.Options
	ContractChecks string
}

func (o *Options) settings() Settings {
	return Settings{Plugins: o.Plugins, RequirePinned: o.RequirePinned, Overrides: o.Overrides, Action: o.Action, ContractChecks: o.ContractChecks}
}

// Reconfigure applies a reloaded config's settings. Actions whose overrides
// (or the host-wide action settings) change are built again over the same
// processes and published in one registry snapshot; a plugin whose block or
// pins change is started anew beside the running one and swapped in as a
// replaced binary is, so no request fails; a plugin whose running binary
// its pins no longer allow stops serving at once. Plugins they leave alone
// are untouched. It returns when every plugin changed serves or is refused,
// with the reasons of those refused: plugin problems, which the views show
// too, not a reason to refuse the config.
func (s *Supervisor) Reconfigure(ctx context.Context, set Settings) error {
	answer := make(chan error, 1)
	select {
	case s.events <- reconfigureAsked{set, answer}:
	case <-s.quit:
		return errors.New("the plugin supervisor has stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-answer:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Supervisor) reconfigure(set Settings, to chan error) {
	old := s.opts.settings()
	s.mu.Lock() // Readiness reads the pins
	s.opts.Plugins, s.opts.RequirePinned, s.opts.Overrides, s.opts.Action, s.opts.ContractChecks =
		set.Plugins, set.RequirePinned, set.Overrides, set.Action, set.ContractChecks
	s.mu.Unlock()
	var waits []chan error
	rebuilt := false
	for _, sl := range s.sortedSlots() {
		switch s.changeFor(sl, old) {
		case unchanged:
			continue
		case actionsChanged:
			err := s.rebuild(sl)
			if err == nil {
				rebuilt = true
				continue
			}
			s.logger.Warn("plugin's actions refuse the new overrides; starting it anew", "plugin", sl.name, "error", err)
		}
		w := make(chan error, 1)
		sl.waiters, waits = append(sl.waiters, w), append(waits, w)
		sl.crashes = nil
		pc := s.plugin(sl.name)
		if live(sl) > 0 && (!pc.Accepts(sl.sha256) || s.opts.RequirePinned && !pc.Pinned()) {
			s.unserve(sl)
			sl.state, sl.err = StateRefused, fmt.Errorf("refused: the config no longer pins its SHA-256 %s", sl.sha256)
			s.logger.Error("plugin stopped: its binary is not pinned any more", "plugin", sl.name, "sha256", sl.sha256)
			s.notify(sl, sl.err)
			continue
		}
		s.logger.Info("plugin restarted for a config change", "plugin", sl.name)
		s.launchSlot(sl, startReload)
	}
	if rebuilt {
		s.publish() // every plugin's new overrides in one snapshot
	}
	s.goWork(func() {
		var errs []error
		for _, w := range waits {
			select {
			case err := <-w:
				if err != nil {
					errs = append(errs, err)
				}
			case <-s.quit:
				to <- errors.New("the plugin supervisor stopped during the reload")
				return
			}
		}
		to <- errors.Join(errs...)
	})
}

// What a reload changes of one plugin.
type change int

const (
	unchanged      change = iota
	actionsChanged        // overrides or action options: rebuild its actions, same processes
	pluginChanged         // its block, pins or load checks: start it anew
)

// changeFor is what the new settings change of the slot's plugin.
func (s *Supervisor) changeFor(sl *slot, old Settings) change {
	plugin := func(m map[string]config.Plugin) config.Plugin {
		if pc, ok := m[sl.name]; ok {
			return pc
		}
		return config.DefaultPlugin()
	}
	if !reflect.DeepEqual(plugin(old.Plugins), s.plugin(sl.name)) || old.RequirePinned != s.opts.RequirePinned ||
		old.ContractChecks != s.opts.ContractChecks {
		return pluginChanged
	}
	if old.Action != s.opts.Action {
		return actionsChanged
	}
	for _, a := range sl.actions {
		if !reflect.DeepEqual(old.Overrides[a.Name], s.opts.Overrides[a.Name]) {
			return actionsChanged
		}
	}
	return unchanged
}

// rebuild builds the slot's actions again with the current overrides; the
// caller publishes them.
func (s *Supervisor) rebuild(sl *slot) error {
	actions := make([]*registry.Action, len(sl.actions))
	for i, a := range sl.actions {
		na, err := a.WithOverrides(s.opts.Overrides[a.Name], s.opts.Action)
		if err != nil {
			return err
		}
		actions[i] = na
	}
	sl.actions = actions
	return nil
}

// CheckSettings reports the served actions that would refuse set's
// overrides (errors = "data" on an output that has its fields, say),
// applying nothing: a reload checks this before it changes anything.
func (s *Supervisor) CheckSettings(set Settings) error {
	var errs []error
	for _, a := range s.opts.Registry.Current().Actions() {
		if _, err := a.WithOverrides(set.Overrides[a.Name], set.Action); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Done returns a channel closed when Run has returned.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Reload starts one plugin anew from its current file, whatever its state
// (a failed one included), and waits until it serves or is refused.
func (s *Supervisor) Reload(ctx context.Context, name string) (PluginView, error) {
	answer := make(chan error, 1)
	select {
	case s.events <- reloadAsked{name, answer}:
	case <-s.quit:
		return PluginView{}, errors.New("the plugin supervisor has stopped")
	case <-ctx.Done():
		return PluginView{}, ctx.Err()
	}
	select {
	case err := <-answer:
		if errors.Is(err, ErrNoPlugin) {
			return PluginView{}, err
		}
		v, _ := s.Plugin(name)
		return v, err
	case <-ctx.Done():
		return PluginView{}, ctx.Err()
	}
}

// Plugins returns every plugin, sorted by name.
func (s *Supervisor) Plugins() []PluginView {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PluginView, 0, len(s.views))
	for _, v := range s.views {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Plugin returns one plugin's view.
func (s *Supervisor) Plugin(name string) (PluginView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[name]
	return v, ok
}

// Problems lists the plugins that serve nothing, and why.
func (s *Supervisor) Problems() []Problem {
	var out []Problem
	for _, v := range s.Plugins() {
		if v.State == StateRefused || v.State == StateFailed {
			out = append(out, Problem{Plugin: v.Name, Err: errors.New(v.Error)})
		}
	}
	return out
}

// Readiness reports whether the first load is done and every pinned plugin
// serves, and if not, why.
func (s *Supervisor) Readiness() (bool, string) {
	select {
	case <-s.loaded:
	default:
		return false, "loading the plugins"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loadErr != nil {
		return false, s.loadErr.Error()
	}
	var names []string
	for name, p := range s.opts.Plugins {
		if p.Pinned() {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if v, ok := s.views[name]; !ok || v.State != StateServing {
			return false, fmt.Sprintf("pinned plugin %q is not serving", name)
		}
	}
	return true, ""
}

// Ready reports Readiness without the reason.
func (s *Supervisor) Ready() bool {
	ok, _ := s.Readiness()
	return ok
}

func live(sl *slot) int {
	n := 0
	for _, in := range sl.instances {
		if in.proc != nil {
			n++
		}
	}
	return n
}

func pids(sl *slot) []int {
	var out []int
	for _, in := range sl.instances {
		if in.proc != nil {
			out = append(out, in.proc.PID())
		}
	}
	return out
}

func actionNames(actions []*registry.Action) []string {
	names := make([]string, 0, len(actions))
	for _, a := range actions {
		names = append(names, a.Name)
	}
	return names
}

func stopTimer(t *clockwork.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

// dirFiles is the real plugins directory.
type dirFiles struct{ dir string }

func (d *dirFiles) discover() ([]Binary, []Problem, error) { return Discover(d.dir) }

func (d *dirFiles) inspect(name string) (Binary, error) {
	dir, err := resolveDir(d.dir)
	if err != nil {
		return Binary{}, err
	}
	return inspect(dir, name)
}
