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
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
}

// Response is the downstream's answer, its body read in full.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Attempts int // attempts made, the first and the one after a token refresh included
}

// Connection is one configured downstream API. It is safe for concurrent use.
type Connection struct {
	name        string
	base        *url.URL
	hosts       map[string]bool // lower-case host[:port] calls may reach
	cred        credential
	client      *http.Client
	sem         *semaphore.Weighted
	breaker     *gobreaker.TwoStepCircuitBreaker[struct{}]
	openFor     time.Duration
	retry       config.Retry
	maxResponse int64
	obs         Observer
	tracer      trace.Tracer // nil: no spans
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
	// Now is the clock OAuth token expiry is judged by; nil means time.Now.
	Now func() time.Time
	// Tracer makes a span per attempt and sends its traceparent downstream;
	// nil for none.
	Tracer trace.Tracer
}

// New builds a connection from its config.
func New(cfg *config.Connection, opts Options) *Connection {
	obs := opts.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	rt := opts.Transport
	if rt == nil {
		rt = newTransport(cfg.MaxConcurrency)
	}
	c := &Connection{
		name:        cfg.Name,
		base:        cfg.BaseURL,
		hosts:       map[string]bool{hostKey(cfg.BaseURL): true},
		sem:         semaphore.NewWeighted(int64(cfg.MaxConcurrency)),
		openFor:     cfg.Circuit.OpenFor,
		retry:       cfg.Retry,
		maxResponse: cfg.MaxResponseBytes,
		obs:         obs,
		tracer:      opts.Tracer,
	}
	for _, h := range cfg.AllowedHosts {
		c.hosts[strings.ToLower(h)] = true
	}
	c.client = &http.Client{
		Transport:     &userAgent{rt: rt, ua: opts.UserAgent},
		CheckRedirect: c.checkRedirect,
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	c.cred = newCredential(cfg, c.client, obs, now)
	c.breaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        cfg.Name,
		MaxRequests: 1,
		Timeout:     cfg.Circuit.OpenFor,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= uint32(cfg.Circuit.Failures)
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errCallerGone) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			obs.CircuitState(name, to.String())
		},
	})
	obs.CircuitState(cfg.Name, gobreaker.StateClosed.String())
	return c
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
// allowed, forbidden header) never leaves the host. The error is an
// *apierr.Error; a downstream that answered, even with a failure status, is
// a Response.
func (c *Connection) Do(ctx context.Context, call *Call) (*Response, error) {
	start := time.Now()
	target, err := c.Target(call.URL)
	if err != nil {
		return nil, apierr.Wrap(err, http.StatusForbidden, "outbound_refused", "connection %q: %v", c.name, err)
	}
	if err := c.checkHeaders(call.Header); err != nil {
		return nil, apierr.Wrap(err, http.StatusForbidden, "outbound_refused", "connection %q: %v", c.name, err)
	}
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
		r, n, err := c.attempt(ctx, target, call)
		attempts += n
		switch {
		case errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests):
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

// attempt sends the call once, through the circuit breaker; after a 401 on
// an OAuth connection it replaces the token and sends once more. It returns
// how many requests it sent.
func (c *Connection) attempt(ctx context.Context, target *url.URL, call *Call) (*Response, int, error) {
	done, err := c.breaker.Allow()
	if err != nil {
		return nil, 0, err
	}
	r, n, err := c.sendWithAuth(ctx, target, call)
	switch {
	case err != nil && ctx.Err() != nil:
		done(errCallerGone)
	case err != nil:
		done(err)
	case r.Status >= 500 && r.Status != http.StatusNotImplemented:
		done(fmt.Errorf("status %d", r.Status))
	default:
		done(nil)
	}
	return r, n, err
}

func (c *Connection) sendWithAuth(ctx context.Context, target *url.URL, call *Call) (*Response, int, error) {
	withCred := c.cred != nil && hostKey(target) == hostKey(c.base) // the credential goes to the base host only
	var auth authorization
	if withCred {
		var err error
		if auth, err = c.cred.authorize(ctx); err != nil {
			return nil, 0, err
		}
	}
	r, err := c.send(ctx, target, call, auth)
	if err != nil || r.Status != http.StatusUnauthorized || !withCred || !c.cred.refreshable() {
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

func (c *Connection) send(ctx context.Context, target *url.URL, call *Call, auth authorization) (resp *Response, err error) {
	start := time.Now()
	if c.tracer != nil {
		var span trace.Span
		ctx, span = c.tracer.Start(ctx, "outbound "+c.name+" "+call.Method, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("switchboard.connection", c.name), attribute.String("server.address", target.Host)))
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
	req, err := http.NewRequestWithContext(ctx, call.Method, target.String(), bytes.NewReader(call.Body))
	if err != nil {
		return nil, err
	}
	for k, v := range call.Header {
		if !hopByHop(k) {
			req.Header[http.CanonicalHeaderKey(k)] = v
		}
	}
	if auth.header != "" {
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
	body, err := io.ReadAll(io.LimitReader(hresp.Body, c.maxResponse+1))
	c.obs.Attempt(c.name, hresp.StatusCode, time.Since(start))
	if err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	if int64(len(body)) > c.maxResponse {
		return nil, backoff.Permanent(apierr.New(http.StatusBadGateway, "downstream_response_too_large",
			"connection %q: the response exceeds %d bytes", c.name, c.maxResponse))
	}
	header := hresp.Header.Clone()
	for k := range header {
		if hopByHop(k) {
			delete(header, k)
		}
	}
	return &Response{Status: hresp.StatusCode, Header: header, Body: body}, nil
}

// transportError explains a call that got no answer.
func (c *Connection) transportError(ctx context.Context, err error, attempts int) error {
	var e *apierr.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests):
		e := apierr.New(http.StatusServiceUnavailable, "circuit_open", "connection %q: its circuit breaker is open after repeated failures; calls are refused for up to %v", c.name, c.openFor)
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

// Target turns a plugin's URL into the one to call, refusing what the
// connection does not allow.
func (c *Connection) Target(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL: %w", err)
	}
	if !u.IsAbs() && u.Host == "" {
		if !strings.HasPrefix(raw, "/") {
			raw = "/" + raw
		}
		return url.Parse(strings.TrimRight(c.base.String(), "/") + raw)
	}
	if u.User != nil {
		return nil, errors.New("URLs with user info are refused")
	}
	if !c.hosts[hostKey(u)] {
		return nil, fmt.Errorf("host %q is not the connection's host nor one of its allowed_hosts", u.Host)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && config.IsLoopback(u.Hostname())) {
		return nil, fmt.Errorf("scheme %q refused: use https", u.Scheme)
	}
	return u, nil
}

// checkRedirect follows redirects only to allowed hosts and never from https
// to http; otherwise the plugin gets the redirect itself.
func (c *Connection) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 || !c.hosts[hostKey(req.URL)] || (via[0].URL.Scheme == "https" && req.URL.Scheme != "https") {
		return http.ErrUseLastResponse
	}
	return nil
}

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
