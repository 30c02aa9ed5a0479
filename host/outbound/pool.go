package outbound

import (
	"reflect"
	"sort"
	"sync/atomic"

	"github.com/switchboard-dev/switchboard/host/config"
)

// Pool is the set of configured connections, by name. A config reload
// replaces the set (Update); each Connection is immutable, so a call in
// flight finishes on the one it started with.
type Pool struct {
	opts  Options
	conns atomic.Pointer[map[string]*Connection]
}

// NewPool builds every connection of the config.
func NewPool(cfgs map[string]*config.Connection, opts Options) *Pool {
	p := &Pool{opts: opts}
	p.Update(cfgs)
	return p
}

// Update makes cfgs the pool's connections: a connection whose config is
// unchanged is kept, with its token cache, circuit and concurrency; a
// changed one is built anew, and new calls use it from now on. It returns
// the names of the connections built anew or removed.
func (p *Pool) Update(cfgs map[string]*config.Connection) (changed []string) {
	var old map[string]*Connection
	if m := p.conns.Load(); m != nil {
		old = *m
	}
	next := make(map[string]*Connection, len(cfgs))
	for name, cfg := range cfgs {
		if c, ok := old[name]; ok && reflect.DeepEqual(c.cfg, *cfg) {
			next[name] = c
			continue
		}
		next[name] = NewConnection(cfg, p.opts)
		if old != nil {
			changed = append(changed, name)
		}
	}
	for name := range old {
		if _, ok := next[name]; !ok {
			changed = append(changed, name)
		}
	}
	p.conns.Store(&next)
	sort.Strings(changed)
	return changed
}

// Get returns the connection with the given name.
func (p *Pool) Get(name string) (*Connection, bool) {
	if p == nil {
		return nil, false
	}
	c, ok := (*p.conns.Load())[name]
	return c, ok
}

// Names returns the connection names, sorted.
func (p *Pool) Names() []string {
	if p == nil {
		return nil
	}
	conns := *p.conns.Load()
	names := make([]string, 0, len(conns))
	for n := range conns {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
