package app

import (
	"encoding/json"
	"time"

	"github.com/switchboard-dev/switchboard/host/outbound"
	"github.com/switchboard-dev/switchboard/host/server"
	"github.com/switchboard-dev/switchboard/host/stats"
)

// consoleAPI is what the operator console shows (GET /admin/actions,
// /admin/connections), from the registry's current snapshot, the outbound
// pool and the in-process stats.
type consoleAPI struct{ h *Host }

var _ server.Console = consoleAPI{}

// ActionView is one action as GET /admin/actions shows it.
type ActionView struct {
	Name         string          `json:"name"`
	Plugin       string          `json:"plugin"`
	Version      string          `json:"version"`
	Description  string          `json:"description"`
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema"`
	TimeoutMS    int64           `json:"timeoutMs"`
	Connections  []string        `json:"connections"`
	// Errors is the errors mode: "status" or "data".
	Errors     string        `json:"errors"`
	Idempotent bool          `json:"idempotent"`
	Secure     bool          `json:"secure"`
	Cache      *CachePolicy  `json:"cache"`
	Stats      stats.Summary `json:"stats"`
}

// CachePolicy is an action's cache policy, in seconds.
type CachePolicy struct {
	TTLSeconds                  float64  `json:"ttlSeconds"`
	StaleWhileRevalidateSeconds float64  `json:"staleWhileRevalidateSeconds"`
	StaleIfErrorSeconds         float64  `json:"staleIfErrorSeconds"`
	Key                         []string `json:"key"` // input members the key is made of; empty: the whole input
}

func (c consoleAPI) Actions() any {
	actions := c.h.Registry.Current().Actions()
	out := make([]ActionView, 0, len(actions))
	for _, a := range actions {
		v := ActionView{
			Name: a.Name, Plugin: a.Plugin.Name, Version: a.Version, Description: a.Description,
			InputSchema: schemaOrAny(a.InputSchemaJSON), OutputSchema: schemaOrAny(a.OutputSchemaJSON),
			TimeoutMS: a.Timeout.Milliseconds(), Connections: append([]string{}, a.Connections...),
			Errors: "status", Idempotent: a.Idempotent, Secure: a.Secure, Stats: c.h.stats.Action(a.Name),
		}
		if a.ErrorsAsData {
			v.Errors = "data"
		}
		if p := a.Cache; p != nil {
			v.Cache = &CachePolicy{TTLSeconds: p.TTL.Seconds(), StaleWhileRevalidateSeconds: p.StaleWhileRevalidate.Seconds(),
				StaleIfErrorSeconds: p.StaleIfError.Seconds(), Key: []string{}}
			for _, k := range p.Key {
				v.Cache.Key = append(v.Cache.Key, k.String())
			}
		}
		out = append(out, v)
	}
	return map[string]any{"actions": out}
}

func schemaOrAny(s json.RawMessage) json.RawMessage {
	if len(s) == 0 {
		return json.RawMessage(`{"type":"object"}`)
	}
	return s
}

// ConnectionView is one connection as GET /admin/connections shows it.
type ConnectionView struct {
	outbound.View
	RecentStatuses []stats.Status `json:"recentStatuses"`
}

func (c consoleAPI) Connections() any {
	names := c.h.Outbound.Names()
	out := make([]ConnectionView, 0, len(names))
	for _, n := range names {
		conn, ok := c.h.Outbound.Get(n)
		if !ok {
			continue
		}
		out = append(out, ConnectionView{View: conn.View(), RecentStatuses: c.h.stats.Recent(n)})
	}
	return map[string]any{"connections": out}
}

// consoleObserver is the outbound observer: the metrics', and each
// completed call's status for the console.
type consoleObserver struct {
	outbound.Observer
	stats *stats.Stats
}

func (o consoleObserver) Request(conn string, status, attempts int, d time.Duration) {
	o.Observer.Request(conn, status, attempts, d)
	o.stats.Downstream(conn, status)
}
