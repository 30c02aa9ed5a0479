package registry

import (
	"fmt"
	"sort"
	"sync/atomic"
)

// Snapshot is an immutable set of actions by name.
type Snapshot struct {
	actions map[string]*Action
}

// NewSnapshot gathers actions; two with the same name are an error.
func NewSnapshot(actions ...*Action) (*Snapshot, error) {
	s := &Snapshot{actions: make(map[string]*Action, len(actions))}
	for _, a := range actions {
		if prev, dup := s.actions[a.Name]; dup {
			return nil, fmt.Errorf("action %q is served by both plugin %q and plugin %q", a.Name, prev.Plugin.Name, a.Plugin.Name)
		}
		s.actions[a.Name] = a
	}
	return s, nil
}

// Lookup returns the action with the given name.
func (s *Snapshot) Lookup(name string) (*Action, bool) {
	a, ok := s.actions[name]
	return a, ok
}

// Actions returns every action, sorted by name.
func (s *Snapshot) Actions() []*Action {
	out := make([]*Action, 0, len(s.actions))
	for _, a := range s.actions {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Len returns the number of actions.
func (s *Snapshot) Len() int { return len(s.actions) }

// Registry holds the current snapshot. Readers never block; a writer replaces
// the snapshot whole. The zero value holds an empty snapshot.
type Registry struct {
	cur atomic.Pointer[Snapshot]
}

var empty = &Snapshot{}

// Current returns the snapshot to use for one request.
func (r *Registry) Current() *Snapshot {
	if s := r.cur.Load(); s != nil {
		return s
	}
	return empty
}

// Swap installs s and returns the snapshot it replaces.
func (r *Registry) Swap(s *Snapshot) *Snapshot {
	return r.cur.Swap(s)
}
