package emulator

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/host/genesys/velocity"
	"github.com/switchboard-dev/switchboard/sdk/contract"
)

// MaxResponseBytes is the largest response body an action accepts: above
// 2 MB Architect takes the failure path.
const MaxResponseBytes = 2 << 20

// CredentialType is the credential type of the integration an action
// belongs to, named as the Genesys Cloud API names it.
type CredentialType string

// The credential types of a web services data actions integration.
const (
	// UserDefined credentials reach the request only through
	// ${credentials.NAME} in the templates.
	UserDefined CredentialType = "userDefined"
	// BasicAuth: Genesys adds "Authorization: Basic base64(userName:password)"
	// to every request, from the credential fields userName (or username)
	// and password.
	BasicAuth CredentialType = "basicAuth"
	// UserDefinedOAuth: Genesys runs the integration's customAuth action
	// first and exposes its output to the templates as ${authResponse.NAME}.
	UserDefinedOAuth CredentialType = "userDefinedOAuth"
)

// Redacted replaces credential values and tokens in trace lines.
const Redacted = "[redacted]"

// CorrelationHeader is the header through which Genesys Cloud sends the
// correlation id of an action execution.
const CorrelationHeader = "ININ-Correlation-Id"

// RunOptions configure one Run. The zero value runs an action of a User
// Defined integration without credentials, with http.DefaultClient.
type RunOptions struct {
	// Client sends the requests. Nil means http.DefaultClient.
	Client *http.Client
	// CredentialType of the integration; "" means UserDefined.
	CredentialType CredentialType
	// Credentials are the integration's credential fields, visible to the
	// templates as ${credentials.NAME}: userName and password for
	// BasicAuth, any fields otherwise.
	Credentials map[string]string
	// Auth is the integration's customAuth action, required with
	// UserDefinedOAuth and refused otherwise. It runs once per Run, with
	// the same options, and its output is the authResponse of the action.
	Auth *Action
	// BaseURL, when set, sends every request (the customAuth one included)
	// to this scheme://host[:port] instead of the one the URL template
	// rendered, keeping path and query: it runs a production definition
	// against a local host or a test server.
	BaseURL string
	// Header holds headers Genesys Cloud adds to every request
	// (ININ-Organization-Id, ...). Unless it sets ININ-Correlation-Id, a
	// new UUID is sent there, the same for every request of the run.
	Header http.Header
	// Trace, when set, is called for each step of the run. Credential
	// values and tokens never reach it: see the package documentation.
	Trace func(step, detail string)
}

// Run executes the action the way Genesys Cloud does (see the package
// documentation) and returns its output as compact JSON. The action's
// timeout bounds the run, within ctx.
func (a *Action) Run(ctx context.Context, input json.RawMessage, opts RunOptions) (json.RawMessage, error) {
	r, err := newRun(opts)
	if err != nil {
		return nil, fmt.Errorf("data action %q: %w", a.Name, err)
	}
	auth := &authResponse{}
	if r.credType == UserDefinedOAuth {
		if auth, err = r.authenticate(ctx); err != nil {
			return nil, fmt.Errorf("data action %q: custom auth action %q: %w", a.Name, opts.Auth.Name, err)
		}
	}
	out, err := r.execute(ctx, a, input, auth, "")
	if err != nil {
		return nil, fmt.Errorf("data action %q: %w", a.Name, err)
	}
	return out, nil
}

// run is the state of one Run: options, credentials and secrets to redact.
type run struct {
	opts        RunOptions
	credType    CredentialType
	client      *http.Client
	base        *url.URL // nil: requests go where their URL says
	correlation string
	creds       map[string]any // ${credentials.*}
	credsShown  map[string]any // the same, every value Redacted
	basic       string         // BasicAuth: the Authorization header value

	secrets  []string
	replacer *strings.Replacer // built from secrets when needed
}

// authResponse is the output of the customAuth action: real, and as traces
// show it.
type authResponse struct{ real, shown map[string]any }

func newRun(opts RunOptions) (*run, error) {
	r := &run{opts: opts, credType: opts.CredentialType, client: opts.Client}
	if r.credType == "" {
		r.credType = UserDefined
	}
	if r.client == nil {
		r.client = http.DefaultClient
	}
	switch r.credType {
	case UserDefined, BasicAuth:
		if opts.Auth != nil {
			return nil, fmt.Errorf("a custom auth action needs credential type %q, not %q", UserDefinedOAuth, r.credType)
		}
	case UserDefinedOAuth:
		if opts.Auth == nil {
			return nil, fmt.Errorf("credential type %q needs the integration's custom auth action", UserDefinedOAuth)
		}
		if opts.Auth.ActionType != CustomAuth {
			return nil, fmt.Errorf("auth action %q has actionType %q, want %q", opts.Auth.Name, opts.Auth.ActionType, CustomAuth)
		}
	default:
		return nil, fmt.Errorf("unknown credential type %q", r.credType)
	}
	if opts.BaseURL != "" {
		u, err := url.Parse(opts.BaseURL)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			return nil, fmt.Errorf("base URL %q: want scheme://host[:port] with scheme http or https", opts.BaseURL)
		}
		r.base = u
	}
	r.correlation = headerValue(opts.Header, CorrelationHeader)
	if r.correlation == "" {
		r.correlation = uuid.NewString()
	}
	r.creds = make(map[string]any, len(opts.Credentials))
	r.credsShown = make(map[string]any, len(opts.Credentials))
	for k, v := range opts.Credentials {
		r.creds[k] = v
		r.credsShown[k] = Redacted
		r.addSecret(v)
	}
	if r.credType == BasicAuth {
		user := opts.Credentials["userName"]
		if user == "" {
			user = opts.Credentials["username"]
		}
		if user == "" {
			return nil, errors.New(`credential type basicAuth needs the credential field "userName"`)
		}
		token := base64.StdEncoding.EncodeToString([]byte(user + ":" + opts.Credentials["password"]))
		r.basic = "Basic " + token
		r.addSecret(token)
	}
	return r, nil
}

// authenticate runs the customAuth action and returns its output.
func (r *run) authenticate(ctx context.Context) (*authResponse, error) {
	out, err := r.execute(ctx, r.opts.Auth, nil, &authResponse{}, "auth ")
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := decodeJSON(out, &m); err != nil || m == nil {
		return nil, errors.New("its output is not a JSON object")
	}
	ar := &authResponse{real: m, shown: make(map[string]any, len(m))}
	for k, v := range m {
		ar.shown[k] = v
		if s, ok := v.(string); ok && secretKey(k) {
			r.addSecret(s)
			ar.shown[k] = Redacted
		}
	}
	return ar, nil
}

// execute runs one action: the custom action, or the customAuth one.
func (r *run) execute(ctx context.Context, a *Action, input json.RawMessage, auth *authResponse, prefix string) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	trace := func(step, detail string) {
		if r.opts.Trace != nil {
			r.opts.Trace(prefix+step, r.redact(detail))
		}
	}

	in, rawRequest, err := decodeInput(input)
	if err != nil {
		return nil, err
	}
	if err := a.input.Validate(in); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInput, contract.Describe(err))
	}
	inputVars := maps.Clone(in)
	inputVars["rawRequest"] = rawRequest
	vars := map[string]any{"input": inputVars, "credentials": r.creds, "authResponse": orEmpty(auth.real)}
	shown := map[string]any{"input": inputVars, "credentials": r.credsShown, "authResponse": orEmpty(auth.shown)}

	req, err := r.request(ctx, a, vars, shown, trace)
	if err != nil {
		return nil, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("send request: %w", r.scrub(err))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	resp.Body.Close()
	trace("status", resp.Status)
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if len(body) > MaxResponseBytes {
		trace("response", fmt.Sprintf("(more than %d bytes)", MaxResponseBytes))
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxResponseBytes)
	}
	if a.ActionType == CustomAuth && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		r.addResponseSecrets(body)
	}
	trace("response", string(body))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &HTTPError{Status: resp.StatusCode, Body: r.redact(string(body))}
	}

	rawResult := string(body)
	if strings.TrimSpace(rawResult) == "" {
		rawResult = "{}" // an empty 2xx answer (204) is an empty object
	}
	var doc any
	if err := decodeJSON([]byte(rawResult), &doc); err != nil {
		return nil, fmt.Errorf("%w (Content-Type %q): %v", ErrNotJSON, resp.Header.Get("Content-Type"), err)
	}

	successVars := map[string]any{"input": inputVars, "rawResult": rawResult}
	for _, tr := range a.translations {
		v, found, err := tr.path.Eval(doc)
		if err != nil {
			return nil, fmt.Errorf("%w: %q (%s): %v", ErrTranslation, tr.name, tr.path, err)
		}
		var text string
		switch {
		case found:
			if text, err = jsonText(v); err != nil {
				return nil, fmt.Errorf("%w: %q: %v", ErrTranslation, tr.name, err)
			}
		case tr.def != nil:
			text = *tr.def
		default:
			return nil, fmt.Errorf("%w: %q (%s) resolved nothing and has no default", ErrTranslation, tr.name, tr.path)
		}
		successVars[tr.name] = text
		trace("translation", tr.name+" = "+text)
	}

	out, err := a.success.Render(successVars)
	if err != nil {
		return nil, fmt.Errorf("render successTemplate: %w", err)
	}
	trace("output", out)
	var v any
	if err := decodeJSON([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("%w: the success template rendered invalid JSON: %v", ErrOutput, err)
	}
	if err := a.output.Validate(v); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrOutput, contract.Describe(err))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(out)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOutput, err)
	}
	return buf.Bytes(), nil
}

// request renders the URL, the headers and the body into a request, and
// traces it as it would look with every secret redacted.
func (r *run) request(ctx context.Context, a *Action, vars, shown map[string]any, trace func(step, detail string)) (*http.Request, error) {
	rawURL, shownURL, err := r.render(a.url, vars, shown)
	if err != nil {
		return nil, err
	}
	target, err := r.target(rawURL)
	if err != nil {
		return nil, fmt.Errorf("requestUrlTemplate rendered %q: %w", r.redact(shownURL), err)
	}
	if u, err := r.target(shownURL); err == nil {
		shownURL = u.String()
	}

	var body io.Reader
	var shownBody string
	sendsBody := a.RequestType == http.MethodPost || a.RequestType == http.MethodPut || a.RequestType == http.MethodPatch
	if sendsBody {
		var text string
		if text, shownBody, err = r.render(a.body, vars, shown); err != nil {
			return nil, err
		}
		body = strings.NewReader(text)
	}
	req, err := http.NewRequestWithContext(ctx, a.RequestType, target.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", r.scrub(err))
	}

	shownHeaders := make(map[string]string, len(a.headers)+2)
	set := func(name, value, shownValue string) {
		for k := range req.Header {
			if strings.EqualFold(k, name) {
				delete(req.Header, k)
				delete(shownHeaders, k)
			}
		}
		req.Header[name] = []string{value} // as written: Genesys does not canonicalize
		shownHeaders[name] = shownValue
	}
	for _, h := range a.headers {
		v, sv, err := r.render(h.tmpl, vars, shown)
		if err != nil {
			return nil, err
		}
		set(h.name, v, r.shownHeader(v, sv))
	}
	for k, vs := range r.opts.Header {
		if len(vs) > 0 {
			set(k, vs[0], vs[0])
		}
	}
	if headerValue(r.opts.Header, CorrelationHeader) == "" {
		set(CorrelationHeader, r.correlation, r.correlation)
	}
	if r.basic != "" {
		set("Authorization", r.basic, "Basic "+Redacted)
	}

	trace("request", a.RequestType+" "+shownURL)
	for _, name := range slices.Sorted(maps.Keys(shownHeaders)) {
		trace("header", name+": "+shownHeaders[name])
	}
	if sendsBody {
		trace("body", shownBody)
	}
	return req, nil
}

// render renders a template with the real context and with the redacted one.
func (r *run) render(t *velocity.Template, vars, shown map[string]any) (real, redacted string, err error) {
	if real, err = t.Render(vars); err != nil {
		return "", "", fmt.Errorf("render %s: %w", t.Name(), r.scrub(err))
	}
	if redacted, err = t.Render(shown); err != nil {
		redacted = Redacted
	}
	return real, redacted, nil
}

// target parses a rendered URL and applies BaseURL.
func (r *run) target(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if r.base != nil {
		u.Scheme, u.Host = r.base.Scheme, r.base.Host
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, errors.New("not an absolute http or https URL")
	}
	return u, nil
}

// minSecret is the length under which a secret is not searched for in
// trace lines: replacing every "x" would garble them. Templates still never
// show it, being rendered with Redacted in its place.
const minSecret = 4

// secretKey reports whether a member of an auth response holds a secret.
func secretKey(key string) bool {
	k := strings.ToLower(key)
	if k == "token_type" {
		return false
	}
	for _, word := range []string{"token", "secret", "password", "key", "assertion", "code"} {
		if strings.Contains(k, word) {
			return true
		}
	}
	return false
}

// addSecret registers a value to redact, with the encodings a template or
// an echoing server may give it.
func (r *run) addSecret(s string) {
	if len(s) < minSecret {
		return
	}
	quoted, _ := jsonText(s)
	forms := []string{
		s,
		strings.TrimSuffix(strings.TrimPrefix(quoted, `"`), `"`),
		url.QueryEscape(s),
		url.PathEscape(s),
		base64.StdEncoding.EncodeToString([]byte(s)),
		base64.RawURLEncoding.EncodeToString([]byte(s)),
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		// A URL credential (a login URL) may reach the trace without its
		// scheme and host, which BaseURL replaces.
		forms = append(forms, u.RequestURI())
		for _, vs := range u.Query() {
			forms = append(forms, vs...)
		}
	}
	for _, form := range forms {
		if len(form) >= minSecret && form != Redacted && !slices.Contains(r.secrets, form) {
			r.secrets = append(r.secrets, form)
			r.replacer = nil
		}
	}
}

// shownHeader is how the trace shows a header value: the real value with
// what the secrets became redacted ("Basic [redacted]" rather than base64
// of "[redacted]:[redacted]"), or the redacted rendering when a secret
// would stay visible in that (one too short to be searched for).
func (r *run) shownHeader(real, shown string) string {
	if real == shown {
		return shown
	}
	r.addDerivedSecrets(real, shown)
	redacted := r.redact(real)
	for _, word := range strings.Fields(real) {
		if !strings.Contains(shown, word) && strings.Contains(redacted, word) {
			return shown
		}
	}
	return redacted
}

// addDerivedSecrets registers what a secret turned into in a rendered value
// (such as base64 of "id:secret"): the words of the real rendering that its
// redacted rendering lacks.
func (r *run) addDerivedSecrets(real, shown string) {
	if real == shown {
		return
	}
	for _, word := range strings.Fields(real) {
		if !strings.Contains(shown, word) {
			r.addSecret(word)
		}
	}
}

// addResponseSecrets registers the secrets of a customAuth response: the
// strings, at any depth, under a key that names a token (but not
// token_type), a secret, a password or a key.
func (r *run) addResponseSecrets(body []byte) {
	var v any
	if decodeJSON(body, &v) != nil {
		return
	}
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(k, e)
			}
		case []any:
			for _, e := range v {
				walk(key, e)
			}
		case string:
			if secretKey(key) {
				r.addSecret(v)
			}
		}
	}
	walk("", v)
}

// redact replaces every registered secret, longest first.
func (r *run) redact(s string) string {
	if len(r.secrets) == 0 {
		return s
	}
	if r.replacer == nil {
		sorted := slices.Clone(r.secrets)
		slices.SortStableFunc(sorted, func(a, b string) int { return len(b) - len(a) })
		pairs := make([]string, 0, 2*len(sorted))
		for _, s := range sorted {
			pairs = append(pairs, s, Redacted)
		}
		r.replacer = strings.NewReplacer(pairs...)
	}
	return r.replacer.Replace(s)
}

// scrub redacts an error's message; the result still wraps err, so that
// errors.Is finds context.DeadlineExceeded and the like.
func (r *run) scrub(err error) error {
	if msg := r.redact(err.Error()); msg != err.Error() {
		return &scrubbed{msg, err}
	}
	return err
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// decodeInput decodes an action input: a JSON object (absent means {}). It
// returns the object and its compact JSON text, ${input.rawRequest}.
func decodeInput(input json.RawMessage) (map[string]any, string, error) {
	input = bytes.TrimSpace(input)
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	var v any
	if err := decodeJSON(input, &v); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInput, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, "", fmt.Errorf("%w: the input must be a JSON object", ErrInput)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, input); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInput, err)
	}
	return m, buf.String(), nil
}

// decodeJSON decodes exactly one JSON value, numbers as json.Number.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("more than one JSON value")
	}
	return nil
}

// jsonText encodes v as JSON text without HTML escaping, as Java's JSON
// libraries write it.
func jsonText(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// headerValue is h.Get(name) that also finds keys not in canonical form.
func headerValue(h http.Header, name string) string {
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
