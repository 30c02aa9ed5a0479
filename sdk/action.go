package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// MaxTimeout is the longest time budget an action may declare: Genesys Cloud
// gives up on a data action after 60 seconds.
const MaxTimeout = 60 * time.Second

// Handler runs one invocation of an action. The context carries the action's
// deadline; pass it to everything the handler calls.
//
// The output is encoded with encoding/json and must encode to a JSON object.
// A json.RawMessage is sent as it is, without encoding again. A nil output is
// the empty object {}.
type Handler func(ctx context.Context, req *Request) (any, error)

// Action describes one data action: its name, contract and handler. Build it
// with NewAction and chain the setters; Serve returns every mistake at
// start.
type Action struct {
	info    ActionInfo
	handler Handler
	errs    []error
}

// ActionInfo is what an action declares of itself, as the host receives it
// when it describes the plugin. Action.Info returns it, and package sdktest
// returns the actions of a plugin with it.
type ActionInfo struct {
	Name        string
	Version     string // empty: none declared
	Description string
	// Input and Output are JSON Schema documents; empty means any JSON
	// object.
	Input, Output json.RawMessage
	Mapping       []MappingRule // empty: the request body is the input
	Uses          []string      // the host connections the action calls
	Timeout       time.Duration // 0: the host's default
	Idempotent    bool
	Secure        bool
	Cache         *CachePolicy // nil: not cached unless the host's config says so
}

// CachePolicy is the cache policy an action suggests (Action.Cache): the
// host caches its successful outputs for TTL, keyed by the whole input or
// by the Key members, may serve them stale while it refreshes one
// (StaleWhileRevalidate) or while the action fails (StaleIfError). The
// host's config replaces it, or turns it off.
type CachePolicy struct {
	TTL                  time.Duration
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration
	Key                  []string // JSON pointers into the input, e.g. "/userId"
}

// MappingRule is one rule of Action.Map or Action.MapDefault.
type MappingRule struct {
	Target  string          // JSON pointer into the action input
	Source  string          // JSON pointer into the request document
	Default json.RawMessage // nil: the source is required
}

// NewAction starts the description of the action with the given name. The
// name is what Genesys Cloud calls (POST /actions/{name}); it starts with a
// letter and holds letters, digits, '.', '-' and '_' (at most 128).
func NewAction(name string) *Action {
	return &Action{info: ActionInfo{Name: name}}
}

// Description sets the one-line description shown in exports and listings.
func (a *Action) Description(text string) *Action {
	a.info.Description = text
	return a
}

// Version sets the action's own version, e.g. "1.2.0"; the audit log and the
// plugin listing show it.
func (a *Action) Version(v string) *Action {
	a.info.Version = v
	return a
}

// Input sets the JSON Schema of the action input. The host validates every
// input against it before calling the handler, so the handler may rely on it.
// Without one, any JSON object is accepted.
func (a *Action) Input(schema string) *Action {
	a.info.Input = json.RawMessage(schema)
	return a
}

// Output sets the JSON Schema of the action output. The host validates every
// output against it and answers 502 when the handler breaks it.
func (a *Action) Output(schema string) *Action {
	a.info.Output = json.RawMessage(schema)
	return a
}

// Map adds a mapping rule: the input value at the JSON pointer target (RFC
// 6901) is taken from source, a JSON pointer into the request document
//
//	{"data": <request body>, "requestId": "...", "action": "...",
//	 "metadata": {"correlationId", "organizationId", "homeOrganizationId", "userId"}}
//
// A request without the source is refused with 400. An action with no rules
// receives the request body as its input. The host's config may replace the
// rules of an action.
func (a *Action) Map(target, source string) *Action {
	a.info.Mapping = append(a.info.Mapping, MappingRule{Target: target, Source: source})
	return a
}

// MapDefault adds a mapping rule like Map whose target takes the value def
// (encoded with encoding/json) when the request has no source.
func (a *Action) MapDefault(target, source string, def any) *Action {
	b, err := json.Marshal(def)
	if err != nil {
		a.errs = append(a.errs, fmt.Errorf("default of mapping %q: %w", target, err))
		return a
	}
	a.info.Mapping = append(a.info.Mapping, MappingRule{Target: target, Source: source, Default: b})
	return a
}

// Uses declares the host connections the handler calls through
// Request.HTTP. The host refuses calls on any other connection.
func (a *Action) Uses(connections ...string) *Action {
	a.info.Uses = append(a.info.Uses, connections...)
	return a
}

// Timeout sets the action's time budget, at most MaxTimeout. Without one the
// host's default applies. The host's config may lower or raise it.
func (a *Action) Timeout(d time.Duration) *Action {
	a.info.Timeout = d
	return a
}

// Idempotent declares that running the action twice has the effect of running
// it once, so the host may retry its POST and PATCH calls downstream.
func (a *Action) Idempotent() *Action {
	a.info.Idempotent = true
	return a
}

// Secure declares that the action's input and output hold secrets or personal
// data: the host never writes their values to logs or audit records, and the
// Genesys Cloud export marks the data action secure.
func (a *Action) Secure() *Action {
	a.info.Secure = true
	return a
}

// Cache suggests how the host may cache the action's answers: an action
// whose output depends only on its input (a user's profile, business
// hours) and may be up to p.TTL old. The operator's config decides.
func (a *Action) Cache(p CachePolicy) *Action {
	a.info.Cache = &p
	return a
}

// Handle sets the function that runs the action.
func (a *Action) Handle(h Handler) *Action {
	a.handler = h
	return a
}

// Info returns what the action declares, as the host will see it. The
// result is a copy: changing it does not change the action.
func (a *Action) Info() ActionInfo {
	info := a.info
	info.Input = bytes.Clone(info.Input)
	info.Output = bytes.Clone(info.Output)
	info.Uses = slices.Clone(info.Uses)
	info.Mapping = slices.Clone(info.Mapping)
	for i := range info.Mapping {
		info.Mapping[i].Default = bytes.Clone(info.Mapping[i].Default)
	}
	return info
}

// run calls the handler and encodes its output. The logger records what
// the host must not see: a panic's stack, a plain error's text.
func (a *Action) run(ctx context.Context, req *Request, logger hclog.Logger) (out json.RawMessage, err *Error) {
	defer func() {
		if p := recover(); p != nil {
			logger.Error("handler panicked", "action", a.info.Name, "request_id", req.requestID, "panic", fmt.Sprint(p), "stack", stack())
			out, err = nil, Errorf(500, "plugin_panic", "action %q failed unexpectedly (the plugin recovered from a panic)", a.info.Name)
		}
	}()
	v, herr := a.handler(ctx, req)
	if herr != nil {
		return nil, publicError(ctx, a.info.Name, req.requestID, herr, logger)
	}
	switch v := v.(type) {
	case nil:
		return json.RawMessage("{}"), nil
	case json.RawMessage:
		return v, nil
	}
	b, merr := json.Marshal(v)
	if merr != nil {
		logger.Error("encoding the output failed", "action", a.info.Name, "request_id", req.requestID, "error", merr)
		return nil, Errorf(500, "invalid_output", "action %q returned an output that cannot be encoded as JSON", a.info.Name)
	}
	return b, nil
}

// publicError turns what a handler returned into the *Error the host sees.
func publicError(ctx context.Context, action, requestID string, err error, logger hclog.Logger) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return Errorf(504, "timeout", "action %q ran out of time", action)
	}
	logger.Error("handler failed", "action", action, "request_id", requestID, "error", err)
	return Errorf(500, "action_failed", "action %q failed", action)
}

// check reports every mistake in the description at once.
func (a *Action) check() error {
	info := a.info
	errs := append([]error(nil), a.errs...)
	if !validName(info.Name) {
		errs = append(errs, fmt.Errorf("name %q: must start with a letter and hold only letters, digits, '.', '-' and '_' (at most 128)", info.Name))
	}
	if a.handler == nil {
		errs = append(errs, errors.New("no handler: call Handle"))
	}
	if len(info.Input) > 0 && !isJSONObject(info.Input) {
		errs = append(errs, errors.New("input schema: not a JSON object"))
	}
	if len(info.Output) > 0 && !isJSONObject(info.Output) {
		errs = append(errs, errors.New("output schema: not a JSON object"))
	}
	for _, m := range info.Mapping {
		if !pointerSyntax(m.Target) || m.Target == "" {
			errs = append(errs, fmt.Errorf("mapping target %q: not a JSON pointer below the input root (e.g. \"/userId\")", m.Target))
		}
		if !pointerSyntax(m.Source) {
			errs = append(errs, fmt.Errorf("mapping source %q: not a JSON pointer (e.g. \"/data/userId\")", m.Source))
		}
	}
	if c := info.Cache; c != nil {
		if c.TTL < time.Second || c.TTL > 24*time.Hour || c.StaleWhileRevalidate < 0 || c.StaleIfError < 0 ||
			c.StaleWhileRevalidate > 24*time.Hour || c.StaleIfError > 24*time.Hour {
			errs = append(errs, fmt.Errorf("cache: ttl between 1s and 24h, stale_while_revalidate and stale_if_error between 0 and 24h"))
		}
		for _, k := range c.Key {
			if !pointerSyntax(k) || k == "" {
				errs = append(errs, fmt.Errorf("cache key %q: not a JSON pointer below the input root (e.g. \"/userId\")", k))
			}
		}
	}
	if info.Timeout < 0 || info.Timeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("timeout %v: must be between 0 (host default) and %v", info.Timeout, MaxTimeout))
	}
	for _, c := range info.Uses {
		if c == "" {
			errs = append(errs, errors.New("uses an empty connection name"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("action %q: %w", info.Name, err)
	}
	return nil
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if i == 0 && !letter {
			return false
		}
		if !letter && !(r >= '0' && r <= '9') && !strings.ContainsRune(".-_", r) {
			return false
		}
	}
	return true
}

func isJSONObject(b []byte) bool {
	return json.Valid(b) && bytes.HasPrefix(bytes.TrimSpace(b), []byte("{"))
}

// pointerSyntax checks the RFC 6901 syntax: empty, or '/'-separated tokens
// in which '~' is always followed by '0' or '1'.
func pointerSyntax(p string) bool {
	if p == "" {
		return true
	}
	if p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || (p[i+1] != '0' && p[i+1] != '1')) {
			return false
		}
	}
	return true
}
