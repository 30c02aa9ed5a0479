// Package pipeline runs one action invocation, the same way for the HTTP
// server and for `switchboard invoke`: look the action up, build its input
// (mapping), validate it, call the plugin within the action's time budget,
// validate the output. It knows nothing of HTTP.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/audit"
	"github.com/switchboard-dev/switchboard/host/cache"
	"github.com/switchboard-dev/switchboard/host/mapping"
	"github.com/switchboard-dev/switchboard/host/registry"
)

// Pipeline runs invocations against the registry's current snapshot. It is
// safe for concurrent use.
type Pipeline struct {
	registry    *registry.Registry
	cache       *cache.Cache
	obs         Observer
	digest      Digester
	tracer      trace.Tracer
	invocations atomic.Uint64
}

// Observer is told what the pipeline saw fail; the metrics implement it.
type Observer interface {
	// ValidationFailed is an input or output that broke its schema; stage is
	// "input" or "output".
	ValidationFailed(action, stage string)
}

// Digester makes the keyed digest of an input value for the audit log
// (audit_hmac); audit.Hasher implements it.
type Digester interface {
	Sum(v any) string
}

// Options are what a pipeline records beyond its result. Each field's zero
// value does without: no observer, no digests, no spans.
type Options struct {
	Observer Observer
	Digester Digester
	// Tracer makes a span for each plugin invocation; its trace context
	// travels to the plugin in the metadata ("traceparent").
	Tracer trace.Tracer
	// Cache answers the actions that have a cache policy; nil: none is
	// cached.
	Cache *cache.Cache
}

type nopObserver struct{}

func (nopObserver) ValidationFailed(string, string) {}

// New returns a pipeline over reg.
func New(reg *registry.Registry, opts Options) *Pipeline {
	p := &Pipeline{registry: reg, obs: opts.Observer, digest: opts.Digester, tracer: opts.Tracer, cache: opts.Cache}
	if p.obs == nil {
		p.obs = nopObserver{}
	}
	if p.tracer == nil {
		p.tracer = noop.NewTracerProvider().Tracer("")
	}
	return p
}

// Call is one invocation request.
type Call struct {
	Action    string
	RequestID string
	Metadata  Metadata
	// Body is the request's input: a JSON object as the caller sent it.
	Body []byte
	// Trace, when set, is called after each stage (for `invoke --trace`).
	Trace func(Stage)
	// Record, when set, receives what the audit log needs: the action, its
	// plugin, validation failures, named input digests, outbound calls.
	Record *audit.Record
}

// Metadata is what Genesys Cloud said about the call in its headers.
type Metadata struct {
	CorrelationID      string // ININ-Correlation-Id
	OrganizationID     string // ININ-Organization-Id
	HomeOrganizationID string // ININ-Home-Organization-Id
	UserID             string // ININ-User-Id
}

// Stage reports one step of an invocation to Call.Trace.
type Stage struct {
	Name   string        // "decode", "map", "validate input", "invoke", "validate output"
	Took   time.Duration // time spent in the stage
	Detail string        // what the stage produced, e.g. the mapped input
	Err    error
}

// Result is what an invocation produced.
type Result struct {
	// Action is the action that ran; nil when there was none by that name.
	Action *registry.Action
	// Output is the plugin's output JSON, validated and passed through as the
	// plugin encoded it.
	Output []byte
	// Cache is what the cache did; nil when the action is not cached.
	Cache *cache.Status
}

// Run runs one invocation. Its error is always an *apierr.Error.
func (p *Pipeline) Run(ctx context.Context, c *Call) (Result, error) {
	a, ok := p.registry.Current().Lookup(c.Action)
	if !ok {
		return Result{}, apierr.New(http.StatusNotFound, "action_not_found", "no action named %q", truncate(c.Action))
	}
	res := Result{Action: a}
	t := tracer{fn: c.Trace}
	rec := c.Record
	if rec == nil {
		rec = &audit.Record{}
	}
	rec.Action, rec.Plugin = a.Name, a.AuditPlugin

	t.start()
	body, err := DecodeObject(c.Body)
	t.done("decode", "", err)
	if err != nil {
		return res, apierr.Wrap(err, http.StatusBadRequest, "invalid_json", "the request body is not a JSON object: %v", err)
	}

	metadata := c.Metadata.asMap()
	input, inputJSON := body, c.Body
	if !a.Mapping.Empty() {
		t.start()
		in, err := a.Mapping.Apply(&mapping.Document{Data: body, RequestID: c.RequestID, Action: a.Name, Metadata: metadata})
		if err == nil {
			input = in
			inputJSON, err = json.Marshal(in)
		}
		if t.on() {
			t.done("map", string(inputJSON), err)
		}
		if err != nil {
			return res, apierr.From(err)
		}
	}

	t.start()
	err = a.ValidateInput(input)
	t.done("validate input", "", err)
	if err != nil {
		p.validationFailed(rec, a, "input", err)
		return res, err
	}
	if p.digest != nil && !a.Secure && len(a.AuditHMAC) > 0 {
		rec.InputHMAC = make(map[string]string, len(a.AuditHMAC))
		for _, ptr := range a.AuditHMAC {
			if v, ok := ptr.Get(input); ok {
				rec.InputHMAC[ptr.String()] = p.digest.Sum(v)
			}
		}
	}

	if a.Cache != nil && p.cache != nil {
		key, err := cache.Key(a.Name, a.Contract, c.Metadata.OrganizationID, a.Cache, input)
		if err == nil {
			fetch := func(ctx context.Context) ([]byte, error) {
				if cache.Refreshing(ctx) { // a background refresh: not this request's
					return p.invoke(ctx, a, c, &audit.Record{}, tracer{}, metadata, inputJSON)
				}
				return p.invoke(ctx, a, c, rec, t, metadata, inputJSON)
			}
			out, st, err := p.cache.Do(ctx, context.Background(), a.Name, key, a.Cache, fetch, func(err error) int { return apierr.From(err).Status })
			res.Cache, rec.Cache = &st, st.Result
			if err != nil {
				return res, apierr.From(err)
			}
			if t.on() {
				t.start()
				t.done("cache", st.Header(), nil)
			}
			res.Output = out
			return res, nil
		}
	}
	out, err := p.invoke(ctx, a, c, rec, t, metadata, inputJSON)
	if err != nil {
		return res, err
	}
	res.Output = out
	return res, nil
}

// invoke calls the plugin within the action's budget and validates its
// output: the output, or the failure as an *apierr.Error.
func (p *Pipeline) invoke(ctx context.Context, a *registry.Action, c *Call, rec *audit.Record, t tracer, metadata map[string]string, inputJSON []byte) ([]byte, error) {
	t.start()
	ctx, cancel := context.WithTimeout(ctx, a.Timeout-Margin(a.Timeout))
	defer cancel()
	if len(a.Connections) > 0 {
		ctx = audit.WithRecord(ctx, rec)
	}
	ctx, span := p.tracer.Start(ctx, "invoke "+a.Name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("switchboard.plugin", a.Plugin.Name), attribute.String("switchboard.action", a.Name)))
	defer span.End()
	if span.SpanContext().IsValid() {
		if metadata == nil {
			metadata = map[string]string{}
		}
		traceContext.Inject(ctx, propagation.MapCarrier(metadata))
	}
	out, err := a.Invoke(ctx, &registry.Invocation{
		Action:    a.Name,
		RequestID: c.RequestID,
		Metadata:  metadata,
		Input:     inputJSON,
		ID:        p.invocations.Add(1),
	})
	if err != nil {
		err = invokeFailed(ctx, a, err)
	}
	if t.on() {
		t.done("invoke", fmt.Sprintf("plugin %s, budget %v", a.Plugin.Name, a.Timeout), err)
	}
	if err != nil {
		return nil, err
	}

	t.start()
	output, err := DecodeObject(out)
	if err != nil {
		err = apierr.Wrap(err, http.StatusBadGateway, "invalid_output", "action %q returned an output that is not a JSON object: %v", a.Name, err)
	} else {
		err = a.ValidateOutput(output)
	}
	if t.on() {
		t.done("validate output", string(out), err)
	}
	if err != nil {
		p.validationFailed(rec, a, "output", err)
		return nil, err
	}
	return out, nil
}

// invokeFailed decides what a failed invocation answers. It is the one
// place that turns a spent budget into 504 and a caller that went away into
// 499; the plugin's own typed errors, and the catalog's (503 while no
// process runs), pass through.
func invokeFailed(ctx context.Context, a *registry.Action, err error) *apierr.Error {
	var e *apierr.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return apierr.Wrap(err, http.StatusGatewayTimeout, "timeout", "action %q did not answer within its %v budget", a.Name, a.Timeout)
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return apierr.Wrap(err, apierr.StatusClientClosed, "client_closed_request", "the caller went away before action %q answered", a.Name)
	}
	return apierr.From(err)
}

var traceContext = propagation.TraceContext{}

// validationFailed counts a schema failure and records where it was: never
// the message, which may quote the value.
func (p *Pipeline) validationFailed(rec *audit.Record, a *registry.Action, stage string, err error) {
	p.obs.ValidationFailed(a.Name, stage)
	var e *apierr.Error
	if !errors.As(err, &e) {
		return
	}
	for _, d := range e.Details {
		rec.Validation = append(rec.Validation, audit.Violation{Stage: stage, Location: d.Location, Keyword: d.Keyword})
	}
}

// Margin is how long before the end of an action's budget the host stops
// waiting for the plugin, so that its 504 reaches Genesys Cloud before
// Genesys gives up on the action itself (and holds a slot of the
// organization's data-action concurrency limit meanwhile): a twentieth of
// the budget, between 50 ms and 500 ms.
func Margin(budget time.Duration) time.Duration {
	return min(max(budget/20, 50*time.Millisecond), 500*time.Millisecond, budget/2)
}

// asMap is the wire form of the metadata: only the keys the caller sent.
func (m Metadata) asMap() map[string]string {
	if m == (Metadata{}) {
		return nil
	}
	md := make(map[string]string, 4)
	put := func(k, v string) {
		if v != "" {
			md[k] = v
		}
	}
	put("correlationId", m.CorrelationID)
	put("organizationId", m.OrganizationID)
	put("homeOrganizationId", m.HomeOrganizationID)
	put("userId", m.UserID)
	return md
}

// truncate keeps caller-supplied names in messages short.
func truncate(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

// MaxDepth is the deepest nesting of objects and arrays accepted in a body
// or an output: Genesys Cloud's limit for data action JSON.
const MaxDepth = 50

// depth is the deepest nesting of objects and arrays in JSON text, counted
// without decoding (brackets inside strings do not count). It runs before
// the decoder, so that a deep document costs no more than its length.
func depth(b []byte) int {
	d, deepest, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}

// tracer reports stages when the call asked for it, and costs nothing when
// it did not.
type tracer struct {
	fn    func(Stage)
	begin time.Time
}

func (t *tracer) on() bool { return t.fn != nil }

func (t *tracer) start() {
	if t.fn != nil {
		t.begin = time.Now()
	}
}

func (t *tracer) done(name, detail string, err error) {
	if t.fn != nil {
		t.fn(Stage{Name: name, Took: time.Since(t.begin), Detail: detail, Err: err})
	}
}
