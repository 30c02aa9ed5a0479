package catalog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/registry"
)

// Options configure a Catalog.
type Options struct {
	// Dir is the plugins directory.
	Dir string
	// Logger receives load reports and plugin logs. Nil: no logs.
	Logger hclog.Logger
	// Process is how each plugin process is started (Pin and SocketRoot are
	// set per plugin by the catalog).
	Process ProcessOptions
	// Plugins are the config's settings of plugin binaries, by file name.
	Plugins map[string]config.Plugin
	// RequirePinned refuses every binary without a pin.
	RequirePinned bool
	// Overrides are the config's changes to actions, by action name.
	Overrides map[string]registry.Overrides
	// Action holds host-wide action settings.
	Action registry.Options
}

// Catalog owns the plugin processes of one plugins directory.
type Catalog struct {
	opts   Options
	logger hclog.Logger
	root   string // private directory holding each process's directory

	mu    sync.Mutex
	procs []*Process
}

// New prepares a catalog; Load starts the plugins.
func New(opts Options) (*Catalog, error) {
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	root, err := os.MkdirTemp("", "switchboard-plugins-")
	if err != nil {
		return nil, fmt.Errorf("plugin catalog: %w", err)
	}
	return &Catalog{opts: opts, logger: logger, root: root}, nil
}

// Load discovers, verifies and starts every plugin in the directory, and
// returns a snapshot of their actions with the problems of the plugins it
// could not use. A plugin with any problem serves nothing and its process
// is stopped; the others are served. Load is meant to be called once.
func (c *Catalog) Load(ctx context.Context) (*registry.Snapshot, []Problem, error) {
	bins, problems, err := Discover(c.opts.Dir)
	if err != nil {
		return nil, nil, err
	}

	procs := make([]*Process, len(bins))
	errs := make([]error, len(bins))
	var wg sync.WaitGroup
	for i, bin := range bins {
		pc, ok := c.opts.Plugins[bin.Name]
		if !ok {
			pc = config.Plugin{GOMAXPROCS: config.DefaultPluginGOMAXPROCS}
		}
		if pc.SHA256 == "" && c.opts.RequirePinned {
			errs[i] = errors.New("refused: require_pinned_plugins is on and it has no pin; add the line `switchboard checksum` prints to the config")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := c.opts.Process
			opts.Pin, opts.GOMAXPROCS, opts.SocketRoot, opts.Logger = pc.SHA256, pc.GOMAXPROCS, c.root, c.logger
			procs[i], errs[i] = Start(ctx, bin, opts)
		}()
	}
	wg.Wait()

	var actions []*registry.Action
	owner := map[string]string{} // action name → plugin name
	for i, bin := range bins {
		p := procs[i]
		if errs[i] == nil {
			var got []*registry.Action
			got, errs[i] = c.actions(p, owner)
			actions = append(actions, got...)
		}
		if errs[i] != nil {
			problems = append(problems, Problem{Plugin: bin.Name, Err: errs[i]})
			if p != nil {
				p.Kill()
			}
			continue
		}
		c.mu.Lock()
		c.procs = append(c.procs, p)
		c.mu.Unlock()
	}
	for name := range c.opts.Overrides {
		if _, ok := owner[name]; !ok {
			c.logger.Warn("the config sets an action that no plugin serves", "action", name)
		}
	}
	snap, err := registry.NewSnapshot(actions...)
	if err != nil { // unreachable: owner already refused duplicates
		return nil, problems, err
	}
	return snap, problems, nil
}

// actions builds the registry actions of a started process, refusing the
// whole plugin when any action is wrong or already served by another plugin.
func (c *Catalog) actions(p *Process, owner map[string]string) ([]*registry.Action, error) {
	ref := registry.Plugin{Name: p.bin.Name, Path: p.bin.Path, SHA256: p.bin.SHA256, PID: p.pid}
	var (
		out  []*registry.Action
		errs []error
	)
	for _, desc := range p.Actions() {
		if other, dup := owner[desc.GetName()]; dup {
			errs = append(errs, fmt.Errorf("action %q is already served by plugin %q", desc.GetName(), other))
			continue
		}
		a, err := registry.New(desc, ref, p, c.opts.Overrides[desc.GetName()], c.opts.Action)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, a)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("refused: %w", err)
	}
	for _, a := range out {
		owner[a.Name] = p.bin.Name
	}
	return out, nil
}

// Processes returns the running plugin processes.
func (c *Catalog) Processes() []*Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Process(nil), c.procs...)
}

// Close stops every plugin process and removes the catalog's directory.
func (c *Catalog) Close() {
	c.mu.Lock()
	procs := c.procs
	c.procs = nil
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Kill()
		}()
	}
	wg.Wait()
	os.RemoveAll(c.root)
}
