package registry

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/audit"
	"github.com/switchboard-dev/switchboard/host/cache"
	"github.com/switchboard-dev/switchboard/host/jsonptr"
	"github.com/switchboard-dev/switchboard/host/mapping"
	"github.com/switchboard-dev/switchboard/sdk/contract"
)

// MaxTimeout is Genesys Cloud's limit on a data action; no budget exceeds it.
const MaxTimeout = 60 * time.Second

// Invoker runs an action's handler: a plugin's processes, or a Go function
// in benchmarks and tests. It returns the output JSON, or an error that is
// an *apierr.Error when the handler chose the answer.
type Invoker interface {
	Invoke(ctx context.Context, inv *Invocation) ([]byte, error)
}

// Invocation is one call of an action's handler, in the host's terms (the
// catalog turns it into the wire's InvokeRequest).
type Invocation struct {
	Action    string
	RequestID string
	// Metadata is what Genesys Cloud said of the call (pluginv1's
	// Metadata* keys), and the invocation's trace context.
	Metadata map[string]string
	// Input is the validated input, as JSON.
	Input []byte
	// ID names the invocation in the plugin's outbound calls; unique in the
	// host while it runs.
	ID uint64
}

// Description is what a plugin says of one of its actions.
type Description struct {
	Name, Version, Description string
	InputSchema, OutputSchema  []byte // JSON Schema documents; empty: any object
	Mapping                    []mapping.Rule
	Connections                []string
	Timeout                    time.Duration // 0: none declared
	Idempotent, Secure         bool
	Cache                      *CacheSuggestion // the plugin's; nil: none
}

// CacheSuggestion is the cache policy a plugin suggests for an action,
// used when the config has none for it.
type CacheSuggestion struct {
	TTL, StaleWhileRevalidate, StaleIfError time.Duration
	Key                                     []string
}

// Plugin identifies the binary an action comes from.
type Plugin struct {
	Name    string // file name in the plugins directory
	Path    string
	SHA256  string // hex, of the binary the process runs
	PID     int
	Version string // what the plugin reported
}

// Action is one servable action. It is immutable once built.
type Action struct {
	Name        string
	Version     string
	Description string
	Plugin      Plugin
	Connections []string
	Timeout     time.Duration
	Idempotent  bool
	Secure      bool
	// ErrorsAsData answers failures as 200 with ok:false (errors = "data").
	ErrorsAsData bool

	InputSchemaJSON  json.RawMessage // as the plugin declared it; nil: any object
	OutputSchemaJSON json.RawMessage
	Mapping          mapping.Mapping

	// AuditHMAC are the input fields written to the audit log as keyed
	// digests (never for a Secure action).
	AuditHMAC []jsonptr.Pointer
	// AuditPlugin identifies the plugin in audit records; shared, read-only.
	AuditPlugin *audit.Plugin

	// Cache is how its answers are cached; nil: not cached (no policy, or
	// a secure action the config does not allow to be).
	Cache *cache.Policy
	// Contract identifies the action's contract (version, schemas, errors
	// mode): cache entries of another contract are never read.
	Contract string

	input, output *jsonschema.Schema // nil: any object
	invoker       Invoker
	desc          Description // what the plugin declared, for WithOverrides
}

// Overrides are what the host's config changes in an action.
type Overrides struct {
	Timeout      time.Duration  // 0: keep the plugin's
	Mapping      []mapping.Rule // nil: keep the plugin's
	AuditHMAC    []string       // JSON pointers of input fields to digest in audit records
	ErrorsAsData bool           // errors = "data"
	Cache        *cache.Policy  // nil: the plugin's suggestion, if any
	CacheOff     bool           // cache { ttl = "0s" }: never cached, whatever the plugin suggests
	CacheSecure  bool           // cache { allow_secure = true }: cache it even if secure
}

// Options are the host-wide settings an action is built with.
type Options struct {
	// DefaultTimeout applies when neither the plugin nor the config sets a
	// budget. Zero means 10 s.
	DefaultTimeout time.Duration
}

// NewAction builds an action from a plugin's description: it compiles both
// schemas (once, here, never on the request path) and the mapping, and
// applies the config's overrides.
func NewAction(desc Description, plugin Plugin, inv Invoker, ov Overrides, opts Options) (*Action, error) {
	a := &Action{
		Name:        desc.Name,
		Version:     desc.Version,
		Description: desc.Description,
		Plugin:      plugin,
		Connections: desc.Connections,
		Idempotent:  desc.Idempotent,
		Secure:      desc.Secure,
		// The version the action declares (Version("2.0.0")), else the
		// plugin's build version.
		AuditPlugin:  &audit.Plugin{Name: plugin.Name, Version: cmp.Or(desc.Version, plugin.Version), SHA256: plugin.SHA256},
		ErrorsAsData: ov.ErrorsAsData,
		invoker:      inv,
		desc:         desc,
	}
	var errs []error
	for _, s := range ov.AuditHMAC {
		ptr, err := jsonptr.Parse(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("audit_hmac: %w", err))
			continue
		}
		a.AuditHMAC = append(a.AuditHMAC, ptr)
	}
	a.Timeout = budget(desc.Timeout, ov.Timeout, opts.DefaultTimeout)
	if d := desc.Timeout; d < 0 || d > MaxTimeout {
		errs = append(errs, fmt.Errorf("timeout %v: must be at most %v", d, MaxTimeout))
	}
	var err error
	if a.input, err = compileSchema("input", desc.InputSchema); err != nil {
		errs = append(errs, err)
	}
	if a.output, err = compileSchema("output", desc.OutputSchema); err != nil {
		errs = append(errs, err)
	}
	a.InputSchemaJSON = nonEmpty(desc.InputSchema)
	a.OutputSchemaJSON = nonEmpty(desc.OutputSchema)
	if a.ErrorsAsData {
		if err := dataFieldsFree(a.OutputSchemaJSON); err != nil {
			errs = append(errs, err)
		}
	}

	policy := ov.Cache
	if policy == nil && desc.Cache != nil && !ov.CacheOff {
		s := desc.Cache
		if s.TTL < time.Second || s.TTL > 24*time.Hour || s.StaleWhileRevalidate < 0 || s.StaleIfError < 0 {
			errs = append(errs, fmt.Errorf("cache: the suggested ttl %v is not between 1s and 24h", s.TTL))
		}
		policy = &cache.Policy{TTL: s.TTL, StaleWhileRevalidate: min(s.StaleWhileRevalidate, 24*time.Hour), StaleIfError: min(s.StaleIfError, 24*time.Hour)}
		for _, k := range s.Key {
			ptr, err := jsonptr.Parse(k)
			if err != nil || k == "" {
				errs = append(errs, fmt.Errorf("cache key %q: not a JSON pointer below the input root", k))
				continue
			}
			policy.Key = append(policy.Key, ptr)
		}
	}
	if policy != nil && !ov.CacheOff && (!desc.Secure || ov.CacheSecure) {
		a.Cache = policy
	}
	a.Contract = contractDigest(desc, ov.ErrorsAsData)

	rules := ov.Mapping
	if rules == nil {
		rules = desc.Mapping
	}
	if a.Mapping, err = mapping.Compile(rules); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("action %q of plugin %q: %w", a.Name, plugin.Name, err)
	}
	return a, nil
}

// WithOverrides builds the action again from its plugin's description, with
// other overrides and options (a config reload): same plugin process, new
// budget, mapping, audit digests or errors mode. a is left as it was.
func (a *Action) WithOverrides(ov Overrides, opts Options) (*Action, error) {
	return NewAction(a.desc, a.Plugin, a.invoker, ov, opts)
}

// contractDigest is a digest of what a cached output depends on besides
// the input: the version, both schemas and the errors mode.
func contractDigest(desc Description, errorsAsData bool) string {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(desc.Name), []byte(desc.Version), desc.InputSchema, desc.OutputSchema, []byte(strconv.FormatBool(errorsAsData))} {
		fmt.Fprintf(h, "%d:", len(part))
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// dataFields are what errors = "data" adds to an action's output.
var dataFields = []string{"ok", "status", "code", "message", "retryable"}

// dataFieldsFree refuses an output schema that already declares a field
// errors = "data" adds.
func dataFieldsFree(schema json.RawMessage) error {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if len(schema) == 0 || json.Unmarshal(schema, &s) != nil {
		return nil
	}
	for _, f := range dataFields {
		if _, ok := s.Properties[f]; ok {
			return fmt.Errorf("errors = \"data\" adds %v to the output, but its schema already declares %q", dataFields, f)
		}
	}
	return nil
}

// budget picks the action's time budget: the config's, else the plugin's,
// else the default; never more than MaxTimeout.
func budget(plugin, config, def time.Duration) time.Duration {
	d := def
	if d <= 0 {
		d = 10 * time.Second
	}
	if plugin > 0 {
		d = plugin
	}
	if config > 0 {
		d = config
	}
	return min(d, MaxTimeout)
}

func nonEmpty(b []byte) json.RawMessage {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return b
}

// compileSchema compiles one schema, once, at load; nil means any object.
// Like Genesys Cloud's contracts, a schema without "$schema" is draft-04,
// and it may not refer to files or URLs.
func compileSchema(which string, doc []byte) (*jsonschema.Schema, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, nil
	}
	if err := noRecursion(doc); err != nil {
		return nil, fmt.Errorf("%s schema: %w", which, err)
	}
	s, err := contract.Compile(doc)
	if err != nil {
		return nil, fmt.Errorf("%s schema: %w", which, err)
	}
	return s, nil
}

// Invoke runs the action's handler.
func (a *Action) Invoke(ctx context.Context, inv *Invocation) ([]byte, error) {
	return a.invoker.Invoke(ctx, inv)
}

// ValidateInput checks a decoded input against the input schema: a 400
// "invalid_input" naming each failing location.
func (a *Action) ValidateInput(v any) error {
	if err := validate(a.input, v); err != nil {
		return schemaError(http.StatusBadRequest, "invalid_input", fmt.Sprintf("the input of action %q does not match its schema", a.Name), err, true)
	}
	return nil
}

// ValidateOutput checks a decoded output against the output schema: a 502
// "invalid_output", since the plugin broke its own contract. It names each
// failing location and keyword, never the problem: the schema library's
// messages quote the value ("'jane.doe.at.example.com' is not valid
// 'email'"), and an output's values are not the caller's to see, nor the
// log's.
func (a *Action) ValidateOutput(v any) error {
	if err := validate(a.output, v); err != nil {
		return schemaError(http.StatusBadGateway, "invalid_output", fmt.Sprintf("the output of action %q does not match its schema", a.Name), err, false)
	}
	return nil
}

func validate(s *jsonschema.Schema, v any) error {
	if _, ok := v.(map[string]any); !ok {
		return errNotObject
	}
	if s == nil {
		return nil
	}
	return s.Validate(v)
}

var errNotObject = errors.New("not a JSON object")

// schemaError turns a validation failure into an *apierr.Error whose details
// list every failing location (the leaves of the validation tree). With
// problems false, each detail says only which keyword failed.
func schemaError(status int, code, msg string, err error, problems bool) *apierr.Error {
	var details []apierr.Detail
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		var leaves func(*jsonschema.ValidationError)
		leaves = func(e *jsonschema.ValidationError) {
			if len(e.Causes) == 0 {
				kw := e.KeywordLocation[strings.LastIndexByte(e.KeywordLocation, '/')+1:]
				problem := e.Message
				if !problems {
					problem = fmt.Sprintf("fails %q", kw)
				}
				details = append(details, apierr.Detail{Location: location(e.InstanceLocation), Problem: problem, Keyword: kw})
			}
			for _, c := range e.Causes {
				leaves(c)
			}
		}
		leaves(ve)
	} else {
		details = []apierr.Detail{{Location: "/", Problem: "must be a JSON object"}}
	}
	parts := make([]string, len(details))
	for i, d := range details {
		parts[i] = d.Location + ": " + d.Problem
	}
	e := apierr.New(status, code, "%s: %s", msg, strings.Join(parts, "; "))
	e.Details = details
	return e
}

// location shows the document root as "/" rather than the empty pointer.
func location(p string) string {
	if p == "" {
		return "/"
	}
	return p
}
