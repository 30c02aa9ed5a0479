package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
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
// with NewAction and chain the setters; Serve reports every mistake at start.
type Action struct {
	name        string
	version     string
	description string
	input       string
	output      string
	mapping     []mappingRule
	uses        []string
	timeout     time.Duration
	idempotent  bool
	secure      bool
	handler     Handler
	errs        []error
}

type mappingRule struct {
	target, source string
	def            json.RawMessage // nil: the source is required
}

// NewAction starts the description of the action with the given name. The
// name is what Genesys Cloud calls (POST /actions/{name}); it starts with a
// letter and holds letters, digits, '.', '-' and '_' (at most 128).
func NewAction(name string) *Action {
	return &Action{name: name}
}

// Description sets the one-line description shown in exports and listings.
func (a *Action) Description(text string) *Action {
	a.description = text
	return a
}

// Version sets the action's own version, e.g. "1.2.0"; the audit log and the
// plugin listing show it.
func (a *Action) Version(v string) *Action {
	a.version = v
	return a
}

// Input sets the JSON Schema of the action input. The host validates every
// input against it before calling the handler, so the handler may rely on it.
// Without one, any JSON object is accepted.
func (a *Action) Input(schema string) *Action {
	a.input = schema
	return a
}

// Output sets the JSON Schema of the action output. The host validates every
// output against it and answers 502 when the handler breaks it.
func (a *Action) Output(schema string) *Action {
	a.output = schema
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
	a.mapping = append(a.mapping, mappingRule{target: target, source: source})
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
	a.mapping = append(a.mapping, mappingRule{target: target, source: source, def: b})
	return a
}

// Uses declares the host connections the handler calls through
// Request.HTTP. The host refuses calls on any other connection.
func (a *Action) Uses(connections ...string) *Action {
	a.uses = append(a.uses, connections...)
	return a
}

// Timeout sets the action's time budget, at most MaxTimeout. Without one the
// host's default applies. The host's config may lower or raise it.
func (a *Action) Timeout(d time.Duration) *Action {
	a.timeout = d
	return a
}

// Idempotent declares that running the action twice has the effect of running
// it once, so the host may retry its POST and PATCH calls downstream.
func (a *Action) Idempotent() *Action {
	a.idempotent = true
	return a
}

// Secure declares that the action's input and output hold secrets or personal
// data: the host never writes their values to logs or audit records, and the
// Genesys Cloud export marks the data action secure.
func (a *Action) Secure() *Action {
	a.secure = true
	return a
}

// Handle sets the function that runs the action.
func (a *Action) Handle(h Handler) *Action {
	a.handler = h
	return a
}

// Invoke runs the action in this process as the host would run it in the
// plugin: it decodes nothing, recovers a panic into an *Error, turns a plain
// error into one and encodes the output. It does not validate schemas; it is
// for plugin authors' tests and examples (see also package sdktest).
func (a *Action) Invoke(ctx context.Context, input json.RawMessage, opts ...InvokeOption) (json.RawMessage, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	r := &Request{ctx: ctx, action: a.name, requestID: "test", input: input, uses: a.uses}
	for _, o := range opts {
		o(r)
	}
	return a.run(ctx, r, nil)
}

// InvokeOption changes how Action.Invoke runs an action.
type InvokeOption func(*Request)

// WithConnection answers the action's Request.HTTP calls on the named
// connection with rt, in place of the host: requests arrive with absolute
// URLs on the host "NAME.connection" (paths as the handler wrote them). As
// with the host, a connection the action did not declare with Uses is
// refused.
func WithConnection(name string, rt http.RoundTripper) InvokeOption {
	return func(r *Request) {
		if r.local == nil {
			r.local = map[string]http.RoundTripper{}
		}
		r.local[name] = rt
	}
}

// WithRequestID sets the request id the handler sees.
func WithRequestID(id string) InvokeOption {
	return func(r *Request) { r.requestID = id }
}

// WithMetadata sets the Genesys Cloud metadata the handler sees.
func WithMetadata(md Metadata) InvokeOption {
	return func(r *Request) { r.metadata = md }
}

// run calls the handler and encodes its output. logf, when not nil, records
// what callers must not see: a panic's stack, a plain error's text.
func (a *Action) run(ctx context.Context, req *Request, logf func(msg string, args ...any)) (out json.RawMessage, err error) {
	defer func() {
		if p := recover(); p != nil {
			if logf != nil {
				logf("handler panicked", "action", a.name, "request_id", req.requestID, "panic", fmt.Sprint(p), "stack", stack())
			}
			out, err = nil, Errorf(500, "plugin_panic", "action %q failed unexpectedly (the plugin recovered from a panic)", a.name)
		}
	}()
	v, err := a.handler(ctx, req)
	if err != nil {
		return nil, publicError(ctx, a.name, req.requestID, err, logf)
	}
	switch v := v.(type) {
	case nil:
		return json.RawMessage("{}"), nil
	case json.RawMessage:
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		if logf != nil {
			logf("encoding the output failed", "action", a.name, "request_id", req.requestID, "error", err)
		}
		return nil, Errorf(500, "invalid_output", "action %q returned an output that cannot be encoded as JSON", a.name)
	}
	return b, nil
}

// publicError turns what a handler returned into the *Error the host sees.
func publicError(ctx context.Context, action, requestID string, err error, logf func(msg string, args ...any)) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return Errorf(504, "timeout", "action %q ran out of time", action)
	}
	if logf != nil {
		logf("handler failed", "action", action, "request_id", requestID, "error", err)
	}
	return Errorf(500, "action_failed", "action %q failed", action)
}

// check reports every mistake in the description at once.
func (a *Action) check() error {
	errs := append([]error(nil), a.errs...)
	if !validName(a.name) {
		errs = append(errs, fmt.Errorf("name %q: must start with a letter and hold only letters, digits, '.', '-' and '_' (at most 128)", a.name))
	}
	if a.handler == nil {
		errs = append(errs, errors.New("no handler: call Handle"))
	}
	if a.input != "" && !isJSONObject(a.input) {
		errs = append(errs, errors.New("input schema: not a JSON object"))
	}
	if a.output != "" && !isJSONObject(a.output) {
		errs = append(errs, errors.New("output schema: not a JSON object"))
	}
	for _, m := range a.mapping {
		if !pointerSyntax(m.target) || m.target == "" {
			errs = append(errs, fmt.Errorf("mapping target %q: not a JSON pointer below the input root (e.g. \"/userId\")", m.target))
		}
		if !pointerSyntax(m.source) {
			errs = append(errs, fmt.Errorf("mapping source %q: not a JSON pointer (e.g. \"/data/userId\")", m.source))
		}
	}
	if a.timeout < 0 || a.timeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("timeout %v: must be between 0 (host default) and %v", a.timeout, MaxTimeout))
	}
	for _, c := range a.uses {
		if c == "" {
			errs = append(errs, errors.New("uses an empty connection name"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("action %q: %w", a.name, err)
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

func isJSONObject(s string) bool {
	return json.Valid([]byte(s)) && strings.HasPrefix(strings.TrimSpace(s), "{")
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
