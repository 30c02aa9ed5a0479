package cache

import (
	"context"
	"strings"
	"time"

	"github.com/maypok86/otter/v2"
)

// entryOverhead is what an entry costs beyond its key and output bytes
// (the entry, otter's node), in the byte bound.
const entryOverhead = 96

// Memory is the in-process store: otter, bounded by bytes (keys, outputs
// and overhead), each entry removed at the end of its lifetime.
type Memory struct {
	c *otter.Cache[string, memEntry]
}

type memEntry struct {
	Entry
	lifetime time.Duration
}

// NewMemory returns a store of at most maxBytes; evicted is told of each
// entry evicted for room (nil: nobody).
func NewMemory(maxBytes uint64, evicted func()) (*Memory, error) {
	c, err := otter.New(&otter.Options[string, memEntry]{
		MaximumWeight: maxBytes,
		Weigher: func(k string, v memEntry) uint32 {
			return uint32(min(len(k)+len(v.Output)+entryOverhead, 1<<31))
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, memEntry]) time.Duration { return e.Value.lifetime }),
		OnDeletion: func(e otter.DeletionEvent[string, memEntry]) {
			if e.Cause == otter.CauseOverflow && evicted != nil {
				evicted()
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return &Memory{c: c}, nil
}

func (m *Memory) Name() string { return "memory" }

func (m *Memory) Get(_ context.Context, key string) (Entry, bool, error) {
	v, ok := m.c.GetIfPresent(key)
	return v.Entry, ok, nil
}

func (m *Memory) Set(_ context.Context, key string, e Entry, lifetime time.Duration) error {
	m.c.Set(key, memEntry{Entry: e, lifetime: lifetime})
	return nil
}

func (m *Memory) Delete(_ context.Context, key string) error {
	m.c.Invalidate(key)
	return nil
}

func (m *Memory) Purge(_ context.Context, prefix string) (int, error) {
	n := 0
	for k := range m.c.Keys() {
		if strings.HasPrefix(k, prefix) {
			if _, ok := m.c.Invalidate(k); ok {
				n++
			}
		}
	}
	return n, nil
}

// Bytes is the weight of the entries held.
func (m *Memory) Bytes() uint64 { return m.c.WeightedSize() }
