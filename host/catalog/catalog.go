package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/sdk/contract"
	"github.com/switchboard-dev/switchboard/host/registry"
	"github.com/switchboard-dev/switchboard/host/sandbox"
)

// Options configure a Catalog.
type Options struct {
	// Dir is the plugins directory.
	Dir string
	// Registry receives a new snapshot whenever the served actions change.
	Registry *registry.Registry
	// Logger receives load reports and plugin logs. Nil: no logs.
	Logger hclog.Logger
	// Process is how each plugin process is started (Pin, GOMAXPROCS,
	// MaxConcurrency and SocketRoot are set per plugin by the catalog).
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
	// means best_effort. What the machine can apply is
	// Process.Capabilities.
	Sandbox sandbox.Mode
	// PluginUID and PluginGID are the user plugins run as when the host is
	// root and their block sets none; 0 means 65534.
	PluginUID, PluginGID int
	// GrantDeclared grants a plugin whose block names no connections those
	// its actions declare (development mode), and logs it.
	GrantDeclared bool
}

// Supervision configures how the catalog watches its plugins.
type Supervision struct {
	// Watch follows the plugins directory: new, replaced and removed
	// binaries are started, swapped in and stopped while the host serves.
	Watch bool
	// Debounce is how long a file must stay unchanged before it is used, so
	// that a half-copied binary is never started. Default 500 ms.
	Debounce time.Duration
	// HealthInterval is the period of health checks; default 10 s, negative
	// turns them off. HealthTimeout bounds each check; default 2 s. A plugin
	// failing two checks in a row is restarted.
	HealthInterval, HealthTimeout time.Duration
	// RestartDelay is the first delay before restarting a plugin that
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

// Plugin states, as the admin API shows them.
const (
	StateStarting   = "starting"   // first start in progress
	StateServing    = "serving"    // running and registered
	StateRestarting = "restarting" // exited; a restart is scheduled
	StateFailed     = "failed"     // crash loop: not restarted until the file changes or a reload
	StateRefused    = "refused"    // never served: could not be verified, started or registered
)

// PluginView is one plugin as the admin API and `switchboard plugins` show it.
type PluginView struct {
	Name     string   `json:"name"`
	Path     string   `json:"path"`
	SHA256   string   `json:"sha256"`
	Version  string   `json:"version"`
	PID      int      `json:"pid"`
	State    string   `json:"state"`
	Restarts int      `json:"restarts"`
	Actions  []string `json:"actions"`
	// ActionVersions are the versions the actions declare, by action.
	ActionVersions map[string]string `json:"actionVersions,omitempty"`
	// Pinned reports whether the config pins the plugin's SHA-256.
	Pinned bool `json:"pinned"`
	// Sandbox is what the running process was started in; nil when none runs.
	Sandbox *SandboxView `json:"sandbox,omitempty"`
	Error   string       `json:"error,omitempty"`
}

// Catalog supervises the plugin processes of one plugins directory and keeps
// the registry's snapshot in step with them. All changes to plugins happen
// on one goroutine, in order; readers get copies.
type Catalog struct {
	opts   Options
	sup    Supervision
	logger hclog.Logger
	root   string // private directory holding each process's directory
	dir    string // the plugins directory, absolute, set by Load

	cmds   chan func()
	quit   chan struct{}
	wg     sync.WaitGroup
	loaded atomic.Bool

	mu    sync.Mutex // guards slots for readers; the loop goroutine writes
	slots map[string]*slot

	// Owned by the loop goroutine.
	timers  map[string]*time.Timer
	watcher *fsnotify.Watcher
}

// slot is one plugin file and the process serving it.
type slot struct {
	name      string
	path      string
	sha256    string
	stamp     Stamp // of the file whose bytes were last verified
	proc      *Process
	actions   []*registry.Action
	state     string
	restarts  int
	crashes   []time.Time
	err       error
	gen       uint64 // bumped by every start attempt; older results are dropped
	retry     *time.Timer
	unhealthy int
	waiters   []chan error
}

// launch reasons.
const (
	startNew = iota
	startReplace
	startRestart
	startReload
)

// New prepares a catalog; Load starts the plugins.
func New(opts Options) (*Catalog, error) {
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if opts.Registry == nil {
		opts.Registry = &registry.Registry{}
	}
	root, err := os.MkdirTemp("", "switchboard-plugins-")
	if err == nil {
		// Plugins running as another user must reach their own directory
		// inside, never list or create entries.
		err = os.Chmod(root, 0o711)
	}
	if err != nil {
		return nil, fmt.Errorf("plugin catalog: %w", err)
	}
	c := &Catalog{
		opts:   opts,
		sup:    opts.Supervision,
		logger: logger,
		root:   root,
		cmds:   make(chan func()),
		quit:   make(chan struct{}),
		slots:  map[string]*slot{},
		timers: map[string]*time.Timer{},
	}
	c.sup.setDefaults()
	return c, nil
}

// Load discovers, verifies and starts every plugin in the directory (in
// parallel), registers their actions and starts supervising them. A plugin
// with any problem serves nothing; the others are served. Where two plugins
// declare the same action, the one whose file name sorts first keeps it.
// Load returns the problems, and an error only when the directory cannot be
// used at all. It is called once.
func (c *Catalog) Load(ctx context.Context) ([]Problem, error) {
	dir, err := resolveDir(c.opts.Dir)
	if err != nil {
		return nil, err
	}
	c.dir = dir
	if c.sup.Watch {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			return nil, fmt.Errorf("watching the plugins directory: %w", err)
		}
		c.watcher = w
	}
	bins, problems, err := Discover(c.dir)
	if err != nil {
		return nil, err
	}
	if c.watcher != nil {
		// Watch before starting, so that no change made during the start is missed.
		if err := c.watcher.Add(c.dir); err != nil {
			return nil, fmt.Errorf("watching the plugins directory: %w", err)
		}
	}
	results := make([]started, len(bins))
	var wg sync.WaitGroup
	for i, bin := range bins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.verifyAndStart(ctx, bin, "")
		}()
	}
	wg.Wait()
	// Pinned plugins claim their actions first, then the others; each in
	// file-name order, so that the first claim to an action name wins.
	for _, pinned := range []bool{true, false} {
		for i, bin := range bins {
			if c.pinned(bin.Name) != pinned {
				continue
			}
			s := &slot{name: bin.Name, path: bin.Path, stamp: bin.Stamp, state: StateStarting}
			c.setSlot(s)
			c.launched(s, s.gen, startNew, results[i])
		}
	}
	for _, p := range problems {
		c.setSlot(&slot{name: p.Plugin, path: filepath.Join(c.dir, p.Plugin), state: StateRefused, err: p.Err})
	}
	for name := range c.opts.Overrides {
		if !c.serves(name) {
			c.logger.Warn("the config sets an action that no plugin serves", "action", name)
		}
	}
	c.loaded.Store(true)
	c.wg.Add(1)
	go c.loop()
	return c.problems(), nil
}

// problems lists the plugins that serve nothing, and why.
func (c *Catalog) problems() []Problem {
	var out []Problem
	for _, v := range c.Plugins() {
		if v.State == StateRefused || v.State == StateFailed {
			out = append(out, Problem{Plugin: v.Name, Err: errors.New(v.Error)})
		}
	}
	return out
}

// serves reports whether some plugin serves the action.
func (c *Catalog) serves(action string) bool {
	_, ok := c.opts.Registry.Current().Lookup(action)
	return ok
}

// pinned reports whether the config pins the plugin file name.
func (c *Catalog) pinned(name string) bool { return c.opts.Plugins[name].SHA256 != "" }

// started is the outcome of one start: a process and its actions, or why
// there is none. unchanged reports that the file's bytes were those the
// slot already runs, so nothing was started.
type started struct {
	p         *Process
	actions   []*registry.Action
	stamp     Stamp
	sha256    string
	unchanged bool
	err       error
}

// verifyAndStart reads bin once (Verify) and starts it, unless its bytes
// hash to running: then it only reports them unchanged. It runs on any
// goroutine: it reads only the catalog's fixed options.
func (c *Catalog) verifyAndStart(ctx context.Context, bin Binary, running string) started {
	v, err := Verify(bin)
	if err != nil {
		return started{stamp: bin.Stamp, err: err}
	}
	if v.SHA256 == running {
		v.Close()
		return started{stamp: bin.Stamp, sha256: v.SHA256, unchanged: true}
	}
	p, actions, err := c.start(ctx, v)
	return started{p: p, actions: actions, stamp: bin.Stamp, sha256: v.SHA256, err: err}
}

// start starts one verified binary and builds its actions. It closes v.
func (c *Catalog) start(ctx context.Context, v *Verified) (*Process, []*registry.Action, error) {
	pc, ok := c.opts.Plugins[v.Name]
	if !ok {
		pc = config.DefaultPlugin()
	}
	if pc.SHA256 == "" && c.opts.RequirePinned {
		v.Close()
		return nil, nil, errors.New("refused: require_pinned_plugins is on and it has no pin; add the line `switchboard checksum` prints to the config")
	}
	opts := c.opts.Process
	opts.Pin, opts.GOMAXPROCS, opts.MaxConcurrency = pc.SHA256, pc.GOMAXPROCS, pc.MaxConcurrency
	opts.SocketRoot, opts.Logger = c.root, c.logger
	opts.Sandbox = sandbox.Policy{Mode: cmp.Or(pc.Sandbox, c.opts.Sandbox), ReadPaths: pc.SandboxRead, Limits: pc.Limits}
	opts.UID, opts.GID = cmp.Or(pc.UID, c.opts.PluginUID), cmp.Or(pc.GID, c.opts.PluginGID)
	p, err := Start(ctx, v, opts)
	if err != nil {
		return nil, nil, err
	}
	grants, err := c.grants(p, pc)
	if err != nil {
		p.Kill()
		return nil, nil, fmt.Errorf("refused: %w", err)
	}
	p.outbound.granted = grants
	ref := registry.Plugin{Name: p.bin.Name, Path: p.bin.Path, SHA256: p.bin.SHA256, PID: p.pid, Version: p.Version()}
	var (
		actions []*registry.Action
		errs    []error
	)
	for _, desc := range p.Actions() {
		if vs := contract.Check(desc.GetInputSchema(), desc.GetOutputSchema()); len(vs) > 0 {
			err := fmt.Errorf("action %q breaks Genesys Cloud's data action contract rules: %w", desc.GetName(), contract.Join(vs))
			if c.opts.ContractChecks == config.ContractWarn {
				c.logger.Warn("contract rules broken (contract_checks = warn)", "plugin", p.bin.Name, "error", err)
			} else {
				errs = append(errs, err)
				continue
			}
		}
		a, err := registry.New(desc, ref, p, c.opts.Overrides[desc.GetName()], c.opts.Action)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		actions = append(actions, a)
	}
	if err := errors.Join(errs...); err != nil {
		p.Kill()
		return nil, nil, fmt.Errorf("refused: %w", err)
	}
	return p, actions, nil
}

// grants are the connections the plugin's actions may call: those its
// config block grants. An action that declares a connection the config
// does not grant refuses the plugin. Under GrantDeclared, a block that names
// no connections grants what the actions declare.
func (c *Catalog) grants(p *Process, pc config.Plugin) ([]string, error) {
	var declared []string
	for _, a := range p.Actions() {
		for _, conn := range a.GetConnections() {
			if !slices.Contains(declared, conn) {
				declared = append(declared, conn)
			}
		}
	}
	if pc.Connections == nil && c.opts.GrantDeclared {
		if len(declared) > 0 {
			c.logger.Warn("development mode: granting the plugin the connections it declares", "plugin", p.bin.Name, "connections", declared)
		}
		return declared, nil
	}
	var errs []error
	for _, a := range p.Actions() {
		for _, conn := range a.GetConnections() {
			if !slices.Contains(pc.Connections, conn) {
				errs = append(errs, fmt.Errorf("action %q uses connection %q, which the config does not grant plugin %q (add connections = [%q] to its plugin block)", a.GetName(), conn, p.bin.Name, conn))
			}
		}
	}
	return pc.Connections, errors.Join(errs...)
}

// launch starts the slot's current file in the background; launched gets
// the result on the loop goroutine.
func (c *Catalog) launch(s *slot, why int) {
	s.gen++
	gen := s.gen
	if s.retry != nil {
		s.retry.Stop()
		s.retry = nil
	}
	bin, err := inspect(c.dir, s.name)
	if err != nil {
		c.launched(s, gen, why, started{err: err})
		return
	}
	running := "" // a replacement with the same bytes (a touch, a chmod) starts nothing
	if why == startReplace && s.proc != nil {
		running = s.sha256
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		r := c.verifyAndStart(context.Background(), bin, running)
		if !c.do(func() { c.launched(s, gen, why, r) }) && r.p != nil {
			r.p.Kill() // the catalog closed meanwhile
		}
	}()
}

// launched installs a started process, or records why it could not be.
func (c *Catalog) launched(s *slot, gen uint64, why int, r started) {
	p, actions, err := r.p, r.actions, r.err
	if gen != s.gen || c.slots[s.name] != s {
		if p != nil {
			go p.Kill() // superseded by a newer start, or the file is gone
		}
		return
	}
	if r.unchanged {
		c.update(s, func() { s.stamp = r.stamp })
		c.notify(s, nil)
		return
	}
	var displaced []*slot
	if err == nil {
		displaced, err = c.conflicts(s, actions)
	}
	if err != nil {
		if p != nil {
			go p.Kill()
		}
		c.update(s, func() {
			if s.proc == nil && r.sha256 != "" {
				s.sha256 = r.sha256 // the refused bytes, for the admin view
			}
		})
		c.refuse(s, why, err)
		return
	}
	for _, t := range displaced {
		c.displace(t, s)
	}
	old := s.proc
	c.update(s, func() {
		s.proc, s.actions, s.path, s.sha256, s.stamp = p, actions, p.bin.Path, p.bin.SHA256, r.stamp
		s.state, s.err, s.unhealthy = StateServing, nil, 0
		if why == startRestart {
			s.restarts++
		}
	})
	c.publish()
	c.logger.Info("plugin serving", "plugin", s.name, "pid", p.pid, "sha256", p.bin.SHA256, "actions", actionNames(actions))
	c.notify(s, nil)
	c.watch(s, p)
	if old != nil {
		c.retire(old)
	}
}

// refuse records a failed start according to why it was started.
func (c *Catalog) refuse(s *slot, why int, err error) {
	switch {
	case why == startRestart:
		c.crashed(s, fmt.Errorf("restart failed: %w", err))
	case s.proc != nil && s.state == StateServing:
		c.update(s, func() { s.err = fmt.Errorf("the new binary was refused; the previous one keeps serving: %w", err) })
		c.logger.Error("plugin replacement refused", "plugin", s.name, "error", err)
	case s.proc != nil:
		c.update(s, func() { s.state, s.err = StateFailed, err })
		c.logger.Error("plugin not restarted", "plugin", s.name, "error", err)
	default:
		c.update(s, func() { s.state, s.err = StateRefused, err })
		c.logger.Error("plugin not loaded", "plugin", s.name, "error", err)
	}
	c.notify(s, err)
}

// conflicts settles s's claims to its actions against the other plugins'.
// A pinned plugin's claim beats an unpinned one's: s displaces the unpinned
// plugins serving its actions, and is refused by a pinned one. Between
// plugins both pinned or both not, the first claim keeps the action.
func (c *Catalog) conflicts(s *slot, actions []*registry.Action) (displaced []*slot, err error) {
	var errs []error
	for _, a := range actions {
		for _, t := range c.slots {
			if t == s || !slices.ContainsFunc(t.actions, func(b *registry.Action) bool { return b.Name == a.Name }) {
				continue
			}
			switch {
			case c.pinned(s.name) && !c.pinned(t.name):
				if !slices.Contains(displaced, t) {
					displaced = append(displaced, t)
				}
			case c.pinned(t.name) && !c.pinned(s.name):
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

// displace unregisters an unpinned plugin whose action the pinned plugin
// by claims, and stops it; it stays refused until its file changes or a
// reload is asked.
func (c *Catalog) displace(t, by *slot) {
	t.gen++
	if t.retry != nil {
		t.retry.Stop()
		t.retry = nil
	}
	old := t.proc
	c.update(t, func() {
		t.proc, t.actions, t.state = nil, nil, StateRefused
		t.err = fmt.Errorf("refused: pinned plugin %q serves the same action, and pins own their actions", by.name)
	})
	c.logger.Error("plugin displaced by a pinned plugin", "plugin", t.name, "pinned", by.name)
	if old != nil {
		c.retire(old)
	}
	c.notify(t, t.err)
}

// watch reports the process's exit to the loop.
func (c *Catalog) watch(s *slot, p *Process) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case <-p.Exited():
			c.do(func() {
				if s.proc == p && !p.stopping.Load() {
					c.crashed(s, errors.New("the process exited unexpectedly"))
				}
			})
		case <-c.quit:
		}
	}()
}

// crashed handles a process that ended or stopped answering: a restart with
// backoff, or the failed state after a crash loop. Its actions stay
// registered, so callers get 503 rather than 404 meanwhile.
func (c *Catalog) crashed(s *slot, why error) {
	now := time.Now()
	recent := s.crashes[:0]
	for _, t := range s.crashes {
		if now.Sub(t) < c.sup.CrashWindow {
			recent = append(recent, t)
		}
	}
	recent = append(recent, now)
	c.logger.Error("plugin stopped serving", "plugin", s.name, "error", why)
	if len(recent) >= c.sup.CrashLoop {
		c.update(s, func() {
			s.crashes, s.state = recent, StateFailed
			s.err = fmt.Errorf("crash loop: stopped %d times within %v (last: %v); not restarted until its binary changes or POST /admin/plugins/%s/reload", len(recent), c.sup.CrashWindow, why, s.name)
		})
		c.logger.Error("plugin failed", "plugin", s.name, "error", s.err)
		return
	}
	delay := min(c.sup.RestartDelay<<(len(recent)-1), c.sup.MaxRestartDelay)
	c.update(s, func() { s.crashes, s.state, s.err = recent, StateRestarting, why })
	gen := s.gen
	s.retry = time.AfterFunc(delay, func() {
		c.do(func() {
			if s.gen == gen && c.slots[s.name] == s {
				c.launch(s, startRestart)
			}
		})
	})
}

// retire drains a process that no longer serves and stops it, in the
// background.
func (c *Catalog) retire(p *Process) {
	p.stopping.Store(true)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case <-time.After(c.sup.Grace):
			p.Drain(c.sup.DrainTimeout, c.quit)
		case <-p.Exited():
		case <-c.quit: // the host has drained its HTTP requests already
		}
		p.Kill()
	}()
}

// publish installs a snapshot of every slot's actions.
func (c *Catalog) publish() {
	var actions []*registry.Action
	for _, s := range c.slots {
		actions = append(actions, s.actions...)
	}
	snap, err := registry.NewSnapshot(actions...)
	if err != nil { // conflicts refuses duplicates before they get here
		c.logger.Error("registry not updated", "error", err)
		return
	}
	c.opts.Registry.Swap(snap)
}

// loop is the one goroutine that changes plugins.
func (c *Catalog) loop() {
	defer c.wg.Done()
	var health <-chan time.Time
	if c.sup.HealthInterval > 0 {
		t := time.NewTicker(c.sup.HealthInterval)
		defer t.Stop()
		health = t.C
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if c.watcher != nil {
		events, errs = c.watcher.Events, c.watcher.Errors
	}
	for {
		select {
		case f := <-c.cmds:
			f()
		case ev, ok := <-events:
			if ok {
				c.debounce(filepath.Base(ev.Name))
			}
		case err, ok := <-errs:
			if ok {
				c.logger.Warn("watching the plugins directory", "error", err)
			}
		case <-health:
			c.checkHealth()
		case <-c.quit:
			return
		}
	}
}

// do runs f on the loop goroutine; false when the catalog has closed.
func (c *Catalog) do(f func()) bool {
	select {
	case c.cmds <- f:
		return true
	case <-c.quit:
		return false
	}
}

// debounce reconciles a file once it has stopped changing.
func (c *Catalog) debounce(name string) {
	if strings.HasPrefix(name, ".") {
		return
	}
	if t, ok := c.timers[name]; ok {
		t.Reset(c.sup.Debounce)
		return
	}
	c.timers[name] = time.AfterFunc(c.sup.Debounce, func() {
		c.do(func() {
			delete(c.timers, name)
			c.reconcile(name)
		})
	})
}

// reconcile brings a slot in line with its file: new, replaced or removed.
func (c *Catalog) reconcile(name string) {
	s := c.slots[name]
	bin, err := inspect(c.dir, name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if s != nil {
			c.logger.Info("plugin removed", "plugin", name)
			c.remove(s)
		}
	case err != nil:
		if s != nil && s.proc != nil {
			c.update(s, func() {
				s.err = fmt.Errorf("the file was replaced by one that cannot be used (%v); the previous binary keeps serving", err)
			})
			return
		}
		c.setSlot(&slot{name: name, path: filepath.Join(c.dir, name), state: StateRefused, err: err})
	case s == nil:
		s = &slot{name: name, path: bin.Path, stamp: bin.Stamp, state: StateStarting}
		c.setSlot(s)
		c.logger.Info("new plugin", "plugin", name)
		c.launch(s, startNew)
	case bin.Stamp == s.stamp && s.state != StateRefused:
		// The very file that was verified: nothing to do.
	case s.proc == nil:
		c.update(s, func() { s.stamp, s.state = bin.Stamp, StateStarting })
		c.launch(s, startNew)
	default:
		c.logger.Info("plugin file changed", "plugin", name)
		c.update(s, func() { s.crashes = nil })
		c.launch(s, startReplace)
	}
}

// remove unregisters a slot's actions, then drains and stops its process.
func (c *Catalog) remove(s *slot) {
	s.gen++
	if s.retry != nil {
		s.retry.Stop()
	}
	c.mu.Lock()
	delete(c.slots, s.name)
	c.mu.Unlock()
	c.publish()
	if s.proc != nil {
		c.retire(s.proc)
	}
	c.notify(s, fmt.Errorf("plugin %q was removed", s.name))
}

// checkHealth asks every serving process whether it answers; two failed
// checks in a row restart it.
func (c *Catalog) checkHealth() {
	for _, s := range c.slots {
		p := s.proc
		if p == nil || s.state != StateServing {
			continue
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), c.sup.HealthTimeout)
			err := p.Health(ctx)
			cancel()
			c.do(func() {
				if s.proc != p || s.state != StateServing {
					return
				}
				if err == nil {
					s.unhealthy = 0
					return
				}
				s.unhealthy++
				c.logger.Warn("plugin health check failed", "plugin", s.name, "failures", s.unhealthy, "error", err)
				if s.unhealthy >= 2 {
					p.stopping.Store(true)
					go p.Kill()
					c.crashed(s, fmt.Errorf("it failed %d health checks in a row: %w", s.unhealthy, err))
				}
			})
		}()
	}
}

// Reload restarts one plugin from its current file, whatever its state (a
// failed one included), and waits until it serves or is refused.
func (c *Catalog) Reload(ctx context.Context, name string) (PluginView, error) {
	reply := make(chan error, 1)
	found := true
	if !c.do(func() {
		s := c.slots[name]
		if s == nil {
			found = false
			reply <- nil
			return
		}
		c.update(s, func() { s.crashes, s.waiters = nil, append(s.waiters, reply) })
		c.logger.Info("plugin reload asked", "plugin", name)
		c.launch(s, startReload)
	}) {
		return PluginView{}, errors.New("the catalog is closed")
	}
	select {
	case err := <-reply:
		if !found {
			return PluginView{}, ErrNoPlugin
		}
		v, _ := c.Plugin(name)
		return v, err
	case <-ctx.Done():
		return PluginView{}, ctx.Err()
	}
}

// ErrNoPlugin is returned by Reload for a name no plugin file has.
var ErrNoPlugin = errors.New("no plugin by that name")

func (c *Catalog) notify(s *slot, err error) {
	for _, w := range s.waiters {
		w <- err
	}
	s.waiters = nil
}

// update changes a slot under the readers' lock.
func (c *Catalog) update(s *slot, f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
}

func (c *Catalog) setSlot(s *slot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slots[s.name] = s
}

// Plugins returns every plugin the catalog knows, sorted by name.
func (c *Catalog) Plugins() []PluginView {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]PluginView, 0, len(c.slots))
	for _, s := range c.slots {
		out = append(out, c.view(s))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Plugin returns one plugin's view.
func (c *Catalog) Plugin(name string) (PluginView, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.slots[name]
	if !ok {
		return PluginView{}, false
	}
	return c.view(s), true
}

func (c *Catalog) view(s *slot) PluginView {
	v := PluginView{Name: s.name, Path: s.path, SHA256: s.sha256, State: s.state, Restarts: s.restarts, Actions: actionNames(s.actions), Pinned: c.pinned(s.name)}
	if s.proc != nil {
		sb := s.proc.Sandbox()
		v.PID, v.Version, v.Sandbox = s.proc.pid, s.proc.Version(), &sb
	}
	for _, a := range s.actions {
		if a.Version != "" {
			if v.ActionVersions == nil {
				v.ActionVersions = map[string]string{}
			}
			v.ActionVersions[a.Name] = a.Version
		}
	}
	if s.err != nil {
		v.Error = s.err.Error()
	}
	return v
}

func actionNames(actions []*registry.Action) []string {
	names := make([]string, 0, len(actions))
	for _, a := range actions {
		names = append(names, a.Name)
	}
	return names
}

// Ready reports whether the first load is done and every pinned plugin serves.
func (c *Catalog) Ready() bool {
	if !c.loaded.Load() {
		return false
	}
	for name, p := range c.opts.Plugins {
		if p.SHA256 == "" {
			continue
		}
		if v, ok := c.Plugin(name); !ok || v.State != StateServing {
			return false
		}
	}
	return true
}

// Close stops supervising and stops every plugin process.
func (c *Catalog) Close() {
	select {
	case <-c.quit:
		return
	default:
	}
	close(c.quit)
	if c.watcher != nil {
		c.watcher.Close()
	}
	c.wg.Wait()
	c.mu.Lock()
	slots := c.slots
	c.slots = map[string]*slot{}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range slots {
		if s.retry != nil {
			s.retry.Stop()
		}
		if s.proc != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.proc.Kill()
			}()
		}
	}
	wg.Wait()
	os.RemoveAll(c.root)
}
