// Package outbound sends plugins' HTTP calls to downstream APIs on the
// connections the host's config defines. It owns every credential and OAuth
// token, the retry and circuit-breaker policies, the concurrency limit and
// the host allowlist of each connection; a plugin only names a connection
// and never sees a secret.
//
// Libraries: golang.org/x/oauth2/clientcredentials fetches tokens;
// github.com/cenkalti/backoff/v5 runs the retries, because its Retry takes
// per-call options, so the request's remaining budget bounds the total wait
// and the last answer comes back when the next wait would not fit;
// github.com/sony/gobreaker/v2 is the circuit breaker.
package outbound

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/semaphore"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/config"
)

// Call is one HTTP request a plugin asks for.
type Call struct {
	Method string
	// URL is a path (with query) relative to the base URL, or an absolute URL
	// on the base URL's host or an allowed host.
	URL    string
	Header http.Header
	Body   []byte
	// Idempotent is the action's declaration: POST and PATCH may be retried.
	Idempotent bool
	// Plugin is the calling plugin: its share of the connection's
	// concurrency and its own circuit breaker.
	Plugin string
}

// Response is the downstream's answer, its body read in full.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Attempts int // attempts made, the first and the one after a token refresh included
	// Redirects are the redirects the last attempt followed, in order.
	Redirects []Redirect

	credentialed bool // the answer came from base_url, to a request with the credential
}

// Redirect is one redirect followed: the status that sent it and where to.
type Redirect struct {
	Status int
	Target
}

// Connection is one configured downstream API. It is safe for concurrent use.
type Connection struct {
	cfg         config.Connection // what it was built from, to tell a reload's changes
	name        string
	base        *url.URL
	hosts       map[string]bool // lower-case host[:port] calls may reach
	cred        credential
	client      *http.Client
	sem         *semaphore.Weighted
	perPlugin   int64
	circuit     config.Circuit
	shares      sync.Map // plugin name → *share
	openFor     time.Duration
	retry       config.Retry
	maxResponse int64
	obs         Observer
	tracer      trace.Tracer // nil: no spans
	limit       *limiter     // nil: no rate_limit
}

// Options are host-wide settings for connections.
type Options struct {
	// Observer receives metrics; nil for none.
	Observer Observer
	// Transport sends the requests; nil means a transport with sane timeouts
	// that honours the HTTP(S)_PROXY environment.
	Transport http.RoundTripper
	// UserAgent is sent when the plugin sets none.
	UserAgent string
	// Shared, when set, makes rate limits hold across replicas (Redis).
	Shared *Shared
	// Now is the clock OAuth token expiry is judged by; nil means time.Now.
	Now func() time.Time
	// Tracer makes a span per attempt and sends its traceparent downstream;
	// nil for none.
	Tracer trace.Tracer
}

// NewConnection builds a connection from its config.
func NewConnection(cfg *config.Connection, opts Options) *Connection {
	obs := opts.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	rt := opts.Transport
	if rt == nil {
		rt = newTransport(cfg.MaxConcurrency)
	}
	c := &Connection{
		cfg:         *cfg,
		name:        cfg.Name,
		base:        cfg.BaseURL,
		hosts:       map[string]bool{hostKey(cfg.BaseURL): true},
		sem:         semaphore.NewWeighted(int64(cfg.MaxConcurrency)),
		perPlugin:   int64(cmp.Or(cfg.MaxConcurrencyPerPlugin, cfg.MaxConcurrency)),
		circuit:     cfg.Circuit,
		openFor:     cfg.Circuit.OpenFor,
		retry:       cfg.Retry,
		maxResponse: cfg.MaxResponseBytes,
		obs:         obs,
		tracer:      opts.Tracer,
	}
	c.limit = newLimiter(cfg.Name, cfg.RateLimit, opts.Shared, obs)
	for _, h := range cfg.AllowedHosts {
		c.hosts[strings.ToLower(h)] = true
	}
	c.client = &http.Client{
		Transport: &userAgent{rt: rt, ua: opts.UserAgent},
		// Redirects are followed by send, each hop checked as a direct call.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	c.cred = newCredential(cfg, c.client, obs, now)
	return c
}

// share is one plugin's part of a connection: a bulkhead of
// max_concurrency_per_plugin slots and a circuit breaker of its own, so that
// a plugin that holds many calls, or calls a failing endpoint, neither
// starves the plugins that share the connection nor opens their circuit.
type share struct {
	sem     *semaphore.Weighted
	breaker *gobreaker.TwoStepCircuitBreaker[struct{}]
}

func (c *Connection) share(plugin string) *share {
	if s, ok := c.shares.Load(plugin); ok {
		return s.(*share)
	}
	s := &share{sem: semaphore.NewWeighted(c.perPlugin)}
	s.breaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        c.name,
		MaxRequests: 1,
		Timeout:     c.circuit.OpenFor,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= uint32(c.circuit.Failures)
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errCallerGone) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			c.obs.CircuitState(name, plugin, to.String())
		},
	})
	if prev, loaded := c.shares.LoadOrStore(plugin, s); loaded {
		return prev.(*share)
	}
	c.obs.CircuitState(c.name, plugin, gobreaker.StateClosed.String())
	return s
}

// Name returns the connection's name.
func (c *Connection) Name() string { return c.name }

// newTransport is a dedicated transport per connection, so that one slow
// downstream cannot exhaust another's connections.
func newTransport(maxConns int) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxConns,
		MaxIdleConnsPerHost:   maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Do sends the call under the connection's policies. A refusal (host not
// allowed, path outside base_url, forbidden method or header) never leaves
// the host. The error is an *apierr.Error; a downstream that answered, even
// with a failure status, is a Response.
func (c *Connection) Do(ctx context.Context, call *Call) (*Response, error) {
	start := time.Now()
	refused := func(err error) error {
		return apierr.Wrap(err, http.StatusForbidden, "outbound_refused", "connection %q: %v", c.name, err)
	}
	switch strings.ToUpper(call.Method) {
	case http.MethodTrace, http.MethodConnect:
		return nil, refused(fmt.Errorf("method %s is refused", strings.ToUpper(call.Method)))
	}
	target, err := c.Resolve(call.URL)
	if err != nil {
		return nil, refused(err)
	}
	if err := c.checkHeaders(call.Header); err != nil {
		return nil, refused(err)
	}
	sh := c.share(call.Plugin)
	// The plugin's own share first: a plugin over its share waits without
	// holding one of the connection's slots.
	if err := sh.sem.Acquire(ctx, 1); err != nil {
		return nil, c.transportError(ctx, err, 0)
	}
	defer sh.sem.Release(1)
	if err := c.sem.Acquire(ctx, 1); err != nil {
		return nil, c.transportError(ctx, err, 0)
	}
	defer c.sem.Release(1)

	tries := 1
	if call.Idempotent || idempotentMethod(call.Method) || call.Header.Get("Idempotency-Key") != "" {
		tries = c.retry.MaxAttempts
	}
	opts := []backoff.RetryOption{backoff.WithBackOff(c.backoff()), backoff.WithMaxTries(uint(tries))}
	if deadline, ok := ctx.Deadline(); ok {
		// Never wait past the deadline: give back the last answer instead.
		opts = append(opts, backoff.WithMaxElapsedTime(time.Until(deadline)))
	}
	attempts := 0
	resp, err := backoff.Retry(ctx, func() (*Response, error) {
		if attempts > 0 {
			c.obs.Retry(c.name)
		}
		r, n, err := c.attempt(ctx, sh, target, call)
		attempts += n
		switch {
		case errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) || errors.Is(err, errRateLimited):
			return nil, backoff.Permanent(err)
		case err != nil:
			return nil, err
		case apierr.RetryableStatus(r.Status):
			if d, ok := retryAfter(r.Header, time.Now()); ok {
				return r, &backoff.RetryAfterError{Duration: d}
			}
			return r, errRetryableStatus
		}
		return r, nil
	}, opts...)
	status := 0
	if resp != nil {
		resp.Attempts = attempts
		status = resp.Status
	}
	c.obs.Request(c.name, status, attempts, time.Since(start))
	if resp != nil {
		return resp, nil
	}
	return nil, c.transportError(ctx, err, attempts)
}

var (
	errRetryableStatus = errors.New("retryable status")
	errCallerGone      = errors.New("the caller's deadline passed or it gave up")
)

// attempt sends the call once, through the plugin's circuit breaker; after
// a 401 on an OAuth connection it replaces the token and sends once more. It
// returns how many requests it sent.
func (c *Connection) attempt(ctx context.Context, sh *share, target Target, call *Call) (*Response, int, error) {
	done, err := sh.breaker.Allow()
	if err != nil {
		return nil, 0, err
	}
	r, n, err := c.sendWithAuth(ctx, target, call)
	switch {
	case err != nil && (ctx.Err() != nil || errors.Is(err, errRateLimited)):
		done(errCallerGone) // neither says anything of the downstream's health
	case err != nil:
		done(err)
	case r.Status >= 500 && r.Status != http.StatusNotImplemented:
		done(fmt.Errorf("status %d", r.Status))
	default:
		done(nil)
	}
	return r, n, err
}

func (c *Connection) sendWithAuth(ctx context.Context, target Target, call *Call) (*Response, int, error) {
	var auth authorization
	if c.cred != nil && target.Credential {
		var err error
		if auth, err = c.cred.authorize(ctx); err != nil {
			return nil, 0, err
		}
	}
	r, err := c.send(ctx, target, call, auth)
	if err != nil || r.Status != http.StatusUnauthorized || !r.credentialed || !c.cred.refreshable() {
		return r, 1, err
	}
	// The token was refused: forget it, fetch a new one and try once more.
	c.cred.invalidate(auth)
	if auth, err = c.cred.authorize(ctx); err != nil {
		return r, 1, nil // the 401 is the answer
	}
	r, err = c.send(ctx, target, call, auth)
	return r, 2, err
}

// maxRedirects is how many redirects one attempt follows.
const maxRedirects = 5

// send sends the call once and follows its redirects. Each hop passes the
// same checks as a direct call (Connection.check); the credential goes only
// to hops under base_url; no Referer is sent; a redirect that is not
// allowed is not followed, and the plugin gets it as the answer.
func (c *Connection) send(ctx context.Context, target Target, call *Call, auth authorization) (*Response, error) {
	method, body, header := call.Method, call.Body, call.Header
	var hops []Redirect
	for {
		if err := c.limit.wait(ctx); err != nil {
			return nil, err
		}
		r, err := c.sendOnce(ctx, target, method, header, body, auth)
		if err != nil {
			return nil, err
		}
		next, ok := c.redirect(r, target)
		if !ok || len(hops) == maxRedirects {
			r.Redirects = hops
			scrub(r.Header, auth.secrets)
			return r, nil
		}
		hops = append(hops, Redirect{Status: r.Status, Target: next})
		if r.Status == http.StatusSeeOther || (r.Status == http.StatusMovedPermanently || r.Status == http.StatusFound) && method == http.MethodPost {
			if method != http.MethodHead {
				method = http.MethodGet
			}
			body = nil
		}
		if hostKey(next.URL) != hostKey(target.URL) || next.URL.Scheme != target.URL.Scheme {
			header = withoutSensitive(header)
		}
		target = next
	}
}

// redirect returns where a redirect answer sends the call, if it may be
// followed: a Location that passes the connection's checks, never from
// https to http.
func (c *Connection) redirect(r *Response, from Target) (Target, bool) {
	switch r.Status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return Target{}, false
	}
	raw := r.Header.Get("Location")
	loc, err := from.URL.Parse(raw)
	if raw == "" || err != nil {
		return Target{}, false
	}
	if from.URL.Scheme == "https" && loc.Scheme != "https" {
		return Target{}, false
	}
	next, err := c.check(loc)
	if err != nil {
		return Target{}, false
	}
	return next, true
}

// withoutSensitive drops the plugin's own credentials and cookies for a hop
// to another origin, as net/http's client does.
func withoutSensitive(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Www-Authenticate", "Cookie", "Cookie2":
		default:
			out[k] = v
		}
	}
	return out
}

// scrub removes every response header whose value holds a secret of the
// connection's credential, so that a downstream echoing it cannot hand it
// to the plugin.
func scrub(h http.Header, secrets []string) {
	for k, vs := range h {
		for _, v := range vs {
			if containsAny(v, secrets) {
				delete(h, k)
				break
			}
		}
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// sendOnce sends one HTTP request and reads its answer.
func (c *Connection) sendOnce(ctx context.Context, target Target, method string, header http.Header, body []byte, auth authorization) (resp *Response, err error) {
	start := time.Now()
	if c.tracer != nil {
		var span trace.Span
		ctx, span = c.tracer.Start(ctx, "outbound "+c.name+" "+method, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("switchboard.connection", c.name), attribute.String("server.address", target.URL.Host)))
		defer func() {
			if resp != nil {
				span.SetAttributes(attribute.Int("http.response.status_code", resp.Status))
			}
			if err != nil {
				span.SetStatus(codes.Error, "no answer")
			}
			span.End()
		}()
	}
	req, err := http.NewRequestWithContext(ctx, method, target.URL.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		if !hopByHop(k) {
			req.Header[http.CanonicalHeaderKey(k)] = v
		}
	}
	credentialed := target.Credential && auth.header != ""
	if credentialed {
		req.Header.Set(auth.header, auth.value)
	}
	if c.tracer != nil {
		propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	hresp, err := c.client.Do(req)
	if err != nil {
		c.obs.Attempt(c.name, 0, time.Since(start))
		return nil, err
	}
	defer hresp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(hresp.Body, c.maxResponse+1))
	c.obs.Attempt(c.name, hresp.StatusCode, time.Since(start))
	if err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	if int64(len(b)) > c.maxResponse {
		return nil, backoff.Permanent(apierr.New(http.StatusBadGateway, "downstream_response_too_large",
			"connection %q: the response exceeds %d bytes", c.name, c.maxResponse))
	}
	h := hresp.Header.Clone()
	for k := range h {
		if hopByHop(k) {
			delete(h, k)
		}
	}
	return &Response{Status: hresp.StatusCode, Header: h, Body: b, credentialed: credentialed}, nil
}

// transportError explains a call that got no answer.
func (c *Connection) transportError(ctx context.Context, err error, attempts int) error {
	var e *apierr.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests):
		e := apierr.New(http.StatusServiceUnavailable, "circuit_open", "connection %q: its circuit breaker is open after repeated failures of this plugin's calls; they are refused for up to %v", c.name, c.openFor)
		e.RetryAfter = c.openFor
		return e
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return apierr.Wrap(err, http.StatusGatewayTimeout, "downstream_timeout", "connection %q: no answer within the action's time budget (%d attempts)", c.name, attempts)
	}
	return apierr.Wrap(err, http.StatusBadGateway, "downstream_unreachable", "connection %q: could not reach %s (%d attempts)", c.name, c.base.Host, attempts)
}

// backoff is exponential with jitter, never above the connection's max delay.
func (c *Connection) backoff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = c.retry.BaseDelay
	b.MaxInterval = c.retry.MaxDelay
	b.Multiplier = 2
	b.RandomizationFactor = 0.5
	return capped{b: b, max: c.retry.MaxDelay}
}

type capped struct {
	b   backoff.BackOff
	max time.Duration
}

func (c capped) NextBackOff() time.Duration { return min(c.b.NextBackOff(), c.max) }
func (c capped) Reset()                     { c.b.Reset() }

// checkHeaders refuses headers that would set or read the credential.
func (c *Connection) checkHeaders(h http.Header) error {
	for k := range h {
		switch ck := http.CanonicalHeaderKey(k); {
		case ck == "Proxy-Authorization":
			return fmt.Errorf("header %s is refused", ck)
		case c.cred != nil && c.cred.owns(ck):
			return fmt.Errorf("header %s is refused: the host sets the connection's credential", ck)
		}
	}
	return nil
}

func hostKey(u *url.URL) string {
	h := strings.ToLower(u.Host)
	switch {
	case u.Scheme == "https" && strings.HasSuffix(h, ":443"):
		h = strings.TrimSuffix(h, ":443")
	case u.Scheme == "http" && strings.HasSuffix(h, ":80"):
		h = strings.TrimSuffix(h, ":80")
	}
	return h
}

func idempotentMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

// retryAfter reads Retry-After in both its forms: seconds, or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func hopByHop(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length":
		return true
	}
	return false
}

// userAgent sets a User-Agent when the plugin sets none.
type userAgent struct {
	rt http.RoundTripper
	ua string
}

func (u *userAgent) RoundTrip(req *http.Request) (*http.Response, error) {
	if u.ua != "" && req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", u.ua)
	}
	return u.rt.RoundTrip(req)
}

var _ http.RoundTripper = (*userAgent)(nil)
