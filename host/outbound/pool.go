package outbound

import (
	"sort"

	"github.com/switchboard-dev/switchboard/host/config"
)

// Pool is the set of configured connections, by name. It is immutable.
type Pool struct {
	conns map[string]*Connection
}

// NewPool builds every connection of the config.
func NewPool(cfgs map[string]*config.Connection, opts Options) *Pool {
	p := &Pool{conns: make(map[string]*Connection, len(cfgs))}
	for name, cfg := range cfgs {
		p.conns[name] = NewConnection(cfg, opts)
	}
	return p
}

// Get returns the connection with the given name.
func (p *Pool) Get(name string) (*Connection, bool) {
	if p == nil {
		return nil, false
	}
	c, ok := p.conns[name]
	return c, ok
}

// Names returns the connection names, sorted.
func (p *Pool) Names() []string {
	if p == nil {
		return nil
	}
	names := make([]string, 0, len(p.conns))
	for n := range p.conns {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
