// Package server is the host's inbound HTTP API: the routes Genesys Cloud
// calls, inbound authentication, request ids, body limits, health, metrics
// and admin endpoints, the error body, and one audit record, one metrics
// sample and one trace span per request. It turns HTTP into pipeline calls
// and back.
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/audit"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/inbound"
	"github.com/switchboard-dev/switchboard/host/pipeline"
	"github.com/switchboard-dev/switchboard/host/stats"
)

// Options configure a Server.
type Options struct {
	Pipeline *pipeline.Pipeline
	// Auth admits callers; with no method enabled every caller is admitted.
	// SetAuth replaces it on a running server (a config reload).
	Auth *inbound.Authenticator
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	// Logger, nil for none.
	Logger hclog.Logger
	// Readiness reports whether the host serves its actions, and if not why
	// (GET /readyz). Nil: always ready.
	Readiness func() (bool, string)
	// Stopping reports that the host is shutting down: /readyz then says
	// "stopping" rather than "starting". Nil: never.
	Stopping func() bool
	// Admin serves /admin/plugins; nil for no admin API.
	Admin Admin
	// SeparateAdmin keeps the admin API off the main handler: it is served
	// only by AdminHandler, on its own address, without inbound auth.
	SeparateAdmin bool
	// Observer counts every request; nil for none. MetricsHandler serves
	// GET /metrics behind inbound auth, unless SeparateMetrics keeps it for
	// its own address (without auth).
	Observer        Observer
	MetricsHandler  http.Handler
	SeparateMetrics bool
	// Audit receives one record per request (health, readiness and metrics
	// scrapes excepted); nil for none. With FailClosed, a request whose
	// record cannot be written answers 503 instead of its result.
	Audit      *audit.Log
	FailClosed bool
	// Tracer makes a span per request, continuing a traceparent an
	// authenticated caller sent; nil for none.
	Tracer trace.Tracer
	// Throttle slows addresses that fail to authenticate; nil means the
	// defaults of inbound.NewThrottle.
	Throttle *inbound.Throttle
	// Stats receives every answered request of an action and every failed
	// one, for the operator console; nil for none.
	Stats *stats.Stats
	// Console is what the console's admin routes show beyond Stats
	// (GET /admin/actions, /admin/connections); nil: those routes and the
	// console page are not served.
	Console Console
}

// Console is what the operator console's views show. Its answers are JSON
// bodies.
type Console interface {
	// Actions is the body of GET /admin/actions.
	Actions() any
	// Connections is the body of GET /admin/connections.
	Connections() any
}

// Admin is what the admin API shows and does. Its answers are JSON bodies.
type Admin interface {
	// Plugins is the body of GET /admin/plugins.
	Plugins() any
	// Reload restarts one plugin and returns its new view; ErrUnknownPlugin
	// when no plugin has the name.
	Reload(ctx context.Context, name string) (any, error)
	// Config is the body of GET /admin/config: the configuration in effect.
	Config() any
	// ReloadConfig reads the config file again and applies it, or nothing
	// of it (dryRun: neither, it says what would change). Its body is the
	// answer either way; err is why the config was refused.
	ReloadConfig(ctx context.Context, dryRun bool) (any, error)
	// PurgeCache removes an action's cached answers, or with input (the
	// action's input object) the one of that input and organization, and
	// says how many; ErrUnknownAction when no action has the name.
	PurgeCache(ctx context.Context, action string, input json.RawMessage, org string) (int, error)
}

// ErrUnknownAction is Admin.PurgeCache's answer for a name no action has.
var ErrUnknownAction = errors.New("no action by that name")

// ErrUnknownPlugin is Admin.Reload's answer for a name no plugin has.
var ErrUnknownPlugin = errors.New("no plugin by that name")

// Observer is told of every request; the metrics implement it.
type Observer interface {
	// Request is one answered request; action is "" when it named no known one.
	Request(action string, status int, code string, d time.Duration)
	// InFlight moves the number of requests being served.
	InFlight(delta float64)
	// AuthFailure is a request refused for its credentials: result is
	// "rejected" (401) or "throttled" (429).
	AuthFailure(route, result string)
	// AuditFailure is an audit record that could not be written.
	AuditFailure()
}

type nopObserver struct{}

func (nopObserver) Request(string, int, string, time.Duration) {}
func (nopObserver) InFlight(float64)                           {}
func (nopObserver) AuthFailure(string, string)                 {}
func (nopObserver) AuditFailure()                              {}

// Server serves the HTTP API. It is an http.Handler.
type Server struct {
	opts   Options
	auth   atomic.Pointer[inbound.Authenticator]
	logger hclog.Logger
	mux    *http.ServeMux
	admin  *http.ServeMux // admin routes without inbound auth, for AdminHandler
	// crossOrigin refuses state-changing requests from browser pages of
	// other origins (Sec-Fetch-Site, Origin): Genesys Cloud calls from its
	// servers, which send neither.
	crossOrigin *http.CrossOriginProtection
}

// New returns a Server with its routes.
func New(opts Options) *Server {
	s := &Server{opts: opts, logger: opts.Logger, mux: http.NewServeMux()}
	if s.logger == nil {
		s.logger = hclog.NewNullLogger()
	}
	if s.opts.Auth == nil {
		s.opts.Auth = inbound.New(config.Inbound{})
	}
	s.auth.Store(s.opts.Auth)
	if s.opts.Throttle == nil {
		s.opts.Throttle = inbound.NewThrottle(0, 0, nil)
	}
	if s.opts.Observer == nil {
		s.opts.Observer = nopObserver{}
	}
	s.crossOrigin = http.NewCrossOriginProtection()
	s.mux.HandleFunc("/actions/{name}", s.exchange("/actions/{name}", true, s.handleAction))
	s.mux.HandleFunc("/webhook/data-action", s.exchange("/webhook/data-action", true, s.handleEnvelope))
	// The token endpoint exists while the inbound config has an oauth block.
	token, notFound := s.exchange(tokenRoute, false, s.handleToken), s.exchange("", false, s.handleNotFound)
	s.mux.HandleFunc(tokenRoute, func(w http.ResponseWriter, r *http.Request) {
		if s.auth.Load().OAuth() {
			token(w, r)
		} else {
			notFound(w, r)
		}
	})
	s.mux.HandleFunc("/healthz", s.handleHealth)
	s.mux.HandleFunc("/readyz", s.handleReady)
	s.mux.HandleFunc("/", s.exchange("", false, s.handleNotFound))
	if opts.MetricsHandler != nil && !opts.SeparateMetrics {
		s.mux.Handle("/metrics", s.authenticated("/metrics", opts.MetricsHandler))
	}
	if opts.Admin != nil {
		if opts.SeparateAdmin {
			s.admin = http.NewServeMux()
			s.adminRoutes(s.admin, false)
		} else {
			s.adminRoutes(s.mux, true)
		}
	}
	return s
}

// SetAuth makes a the authenticator of every request from now on; those
// being served finish with the one they started with.
func (s *Server) SetAuth(a *inbound.Authenticator) { s.auth.Store(a) }

func (s *Server) adminRoutes(mux *http.ServeMux, auth bool) {
	mux.HandleFunc("/admin/plugins", s.exchange("/admin/plugins", auth, s.handlePlugins))
	mux.HandleFunc("/admin/plugins/{name}/reload", s.exchange("/admin/plugins/{name}/reload", auth, s.handleReload))
	mux.HandleFunc("/admin/config", s.exchange("/admin/config", auth, s.handleConfig))
	mux.HandleFunc("/admin/config/reload", s.exchange("/admin/config/reload", auth, s.handleConfigReload))
	mux.HandleFunc("/admin/cache/{action}", s.exchange("/admin/cache/{action}", auth, s.handlePurge))
	s.consoleRoutes(mux, auth)
	if !auth {
		mux.HandleFunc("/", s.exchange("", false, s.handleNotFound))
	}
}

// ServeHTTP implements http.Handler. A path that is not clean ("..", "//")
// is refused with 400 rather than redirected: callers are programs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.serve(s.mux, w, r)
}

func (s *Server) serve(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p == "" || path.Clean(p) != p {
		s.refuse(w, r, apierr.New(http.StatusBadRequest, "invalid_path", "the path %q is not in canonical form", truncate(r.URL.Path)))
		return
	}
	if err := s.crossOrigin.Check(r); err != nil {
		s.refuse(w, r, apierr.Wrap(err, http.StatusForbidden, "cross_origin_refused", "cross-origin requests from browsers are refused"))
		return
	}
	mux.ServeHTTP(w, r)
}

// AdminHandler serves the admin API without inbound authentication, for a
// separate admin address that only operators reach.
func (s *Server) AdminHandler() http.Handler {
	if s.admin == nil {
		return http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(s.admin, w, r) })
}

var (
	jsonContentType = []string{"application/json"}
	allowPost       = []string{http.MethodPost}
	allowGet        = []string{http.MethodGet}
	traceContext    = propagation.TraceContext{}
)

// exchange is one audited request as its handler sees it.
type exchange struct {
	auth    *inbound.Authenticator // the one in effect when the request came
	id      string
	md      pipeline.Metadata // what Genesys Cloud said in its headers
	rec     *audit.Record
	code    string   // the outcome's code when the answer is a 200 that reports a failure
	stage   string   // where it failed, when the handler knows (a console test run)
	outcome int      // the status the action answered, when not the exchange's (a console test run)
	cleanup []func() // run after the answer is written
}

// handler serves one route: it returns the answer's body, or an error that
// becomes the error body. It may set response headers on w, never write.
type handler func(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error)

// exchange wraps a handler with what every audited request gets: a request
// id, authentication (and the throttle of repeated failures), a trace span,
// then one audit record and one metrics sample before the answer is
// written.
//
// What an unauthenticated caller says of itself is not taken as fact: its
// request id and Genesys headers go to the record's "claimed" part, the
// request gets an id of the host's, and its traceparent is not continued.
func (s *Server) exchange(route string, auth bool, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.opts.Observer.InFlight(1)
		defer s.opts.Observer.InFlight(-1)
		ip := remoteIP(r)
		x := &exchange{auth: s.auth.Load(), rec: &audit.Record{Time: start, Route: route, RemoteAddr: ip}}
		if route == "" {
			x.rec.Route = "unknown"
		}
		throttled := auth || route == tokenRoute
		wait := time.Duration(0)
		if throttled {
			wait = s.opts.Throttle.Wait(ip)
		}
		var (
			p  inbound.Principal
			ok bool
		)
		if wait == 0 { // a throttled address's credentials are not even looked at
			p, ok = x.auth.Authenticate(r)
		}
		x.rec.Principal = audit.Principal{Method: p.Method, ID: p.ID}
		md := metadata(r)
		if ok {
			x.id, x.md = pipeline.RequestID(headerIDs(r)...), md
			x.rec.CorrelationID, x.rec.OrganizationID = md.CorrelationID, md.OrganizationID
			x.rec.HomeOrganizationID, x.rec.GenesysUserID = md.HomeOrganizationID, md.UserID
		} else {
			x.id = uuid.NewString()
			if claimed := (audit.Claimed{RequestID: pipeline.FirstValidID(headerIDs(r)...), CorrelationID: md.CorrelationID, OrganizationID: md.OrganizationID,
				HomeOrganizationID: md.HomeOrganizationID, GenesysUserID: md.UserID}); claimed != (audit.Claimed{}) {
				x.rec.Claimed = &claimed
			}
		}
		var span trace.Span
		if s.opts.Tracer != nil {
			ctx := r.Context()
			if ok {
				ctx = traceContext.Extract(ctx, propagation.HeaderCarrier(r.Header))
			}
			ctx, span = s.opts.Tracer.Start(ctx, r.Method+" "+x.rec.Route, trace.WithSpanKind(trace.SpanKindServer))
			r = r.WithContext(ctx)
		}
		w.Header()["X-Request-Id"] = []string{x.id}

		var (
			body []byte
			err  error
		)
		switch n := headerBytes(r); {
		case n > MaxHeaderBytes:
			err = apierr.New(http.StatusRequestHeaderFieldsTooLarge, "headers_too_large", "the request headers take %d bytes; at most %d are read", n, MaxHeaderBytes)
		case wait > 0:
			e := apierr.New(http.StatusTooManyRequests, "too_many_auth_failures", "too many failed authentications from this address; try again later")
			e.RetryAfter = wait
			err = e
			x.rec.Principal = audit.Principal{Method: "throttled"}
			s.authFailure(route, "throttled")
		case auth && !ok:
			w.Header().Set("WWW-Authenticate", x.auth.Challenge())
			err = errUnauthorized
			x.rec.Principal = audit.Principal{Method: "rejected"}
			s.opts.Throttle.Failed(ip)
			s.authFailure(route, "rejected")
		default:
			body, err = s.run(h, w, r, x)
		}
		status, code := http.StatusOK, "ok"
		if x.code != "" {
			code = x.code
		}
		if err != nil {
			e := apierr.From(err)
			status, code = e.Status, e.Code
			w.Header().Del("Content-Type") // an error body is JSON
			body = s.errorBody(w, r, x, e)
		}
		s.finish(w, x, start, status, code, body)
		if span != nil {
			span.SetAttributes(attribute.String("switchboard.request_id", x.id), attribute.String("switchboard.action", x.rec.Action),
				attribute.Int("http.response.status_code", status), attribute.String("switchboard.code", code))
			if status >= 500 {
				span.SetStatus(codes.Error, code)
			}
			span.End()
		}
		for _, f := range x.cleanup {
			f()
		}
	}
}

// errUnauthorized answers a request without the right credentials.
var errUnauthorized = apierr.New(http.StatusUnauthorized, "unauthorized", "missing or wrong credentials")

// tokenRoute is the token endpoint, whose failures are throttled too.
const tokenRoute = "/oauth/token"

// run runs a handler, turning a panic anywhere in the request path into a
// 500 that is still audited and counted.
func (s *Server) run(h handler, w http.ResponseWriter, r *http.Request, x *exchange) (body []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.logger.Error("panic while serving a request", "request_id", x.id, "route", x.rec.Route, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			body, err = nil, apierr.New(http.StatusInternalServerError, "internal_error", "the host failed while serving the request")
		}
	}()
	return h(w, r, x)
}

func (s *Server) authFailure(route, result string) { s.opts.Observer.AuthFailure(route, result) }

// MaxHeaderBytes bounds a request's headers. HTTPServer reads up to
// ReadHeaderLimit so that a larger flood still gets an audited JSON 431;
// beyond that, net/http answers 431 itself.
const (
	MaxHeaderBytes  = 64 << 10
	ReadHeaderLimit = 1 << 20
)

// Limits are what an HTTP server allows each connection.
type Limits struct {
	// ReadHeader and Read bound reading the headers and the whole request:
	// a client that trickles them (slowloris) is dropped.
	ReadHeader, Read time.Duration
	// Write bounds the time from the end of the headers to the end of the
	// answer: it must leave room for the longest action budget.
	Write time.Duration
	Idle  time.Duration
}

// HTTPServer is the http.Server that serves h at addr with the limits and
// ReadHeaderLimit; errorLog, nil for the standard logger, receives what
// net/http reports of connections.
func HTTPServer(addr string, h http.Handler, l Limits, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    ReadHeaderLimit,
		ErrorLog:          errorLog,
	}
}

func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// finish writes the audit record and the metrics sample, then the answer.
func (s *Server) finish(w http.ResponseWriter, x *exchange, start time.Time, status int, code string, body []byte) {
	took := time.Since(start)
	x.rec.RequestID, x.rec.Status, x.rec.Code = x.id, status, code
	x.rec.DurationMS = float64(took.Microseconds()) / 1000
	if s.opts.Audit != nil {
		if err := s.opts.Audit.Write(x.rec); err != nil {
			s.opts.Observer.AuditFailure()
			s.logger.Error("audit record not written", "request_id", x.id, "error", err)
			if s.opts.FailClosed {
				status, code = http.StatusServiceUnavailable, "audit_unavailable"
				e := apierr.New(status, code, "the request was not served: its audit record could not be written")
				body = errorJSON(e, x.id)
				w.Header().Del("Retry-After")
				w.Header()["Content-Type"] = jsonContentType // not the console page's
			}
		}
	}
	s.opts.Observer.Request(x.rec.Action, status, code, took)
	s.record(x, status, code, took)
	if status == apierr.StatusClientClosed { // nobody is listening; keep the status valid
		status = http.StatusServiceUnavailable
	}
	if w.Header()["Content-Type"] == nil { // the console's pages set their own
		w.Header()["Content-Type"] = jsonContentType
	}
	w.WriteHeader(status)
	w.Write(body)
}

// handleAction serves POST /actions/{name}: the body is the action input, as
// Genesys Cloud's default request template ${input.rawRequest} sends it.
func (s *Server) handleAction(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	if err := checkPost(w, r); err != nil {
		return nil, err
	}
	body, err := s.readBody(w, r, x)
	if err != nil {
		return nil, err
	}
	res, err := s.opts.Pipeline.Run(r.Context(), &pipeline.Call{
		Action: r.PathValue("name"), RequestID: x.id, Metadata: x.md, Body: body, Record: x.rec,
	})
	cacheStatus(w, res)
	return x.answer(pipeline.Answer(res, s.notReady(err)))
}

// notReady turns "no such action" into 503 while the host is not ready:
// until its plugins are loaded it cannot know that the action is missing.
func (s *Server) notReady(err error) error {
	if e := apierr.From(err); e == nil || e.Code != "action_not_found" || s.opts.Readiness == nil {
		return err
	}
	ready, why := s.opts.Readiness()
	if ready {
		return err
	}
	e := apierr.Wrap(err, http.StatusServiceUnavailable, "not_ready", "the host is not ready (%s); the action may not be loaded yet", why)
	e.RetryAfter = time.Second
	return e
}

// answer gives the exchange a pipeline's reply.
func (x *exchange) answer(r pipeline.Reply) ([]byte, error) {
	if r.Err != nil {
		return nil, r.Err
	}
	x.code = r.Code
	return r.Body, nil
}

// envelope is the seed's request shape.
type envelope struct {
	RequestID string          `json:"requestId"`
	Action    string          `json:"action"`
	Data      json.RawMessage `json:"data"`
}

// handleEnvelope serves POST /webhook/data-action with the seed's envelope
// {"requestId", "action", "data"}; it answers {"requestId", "data"}.
func (s *Server) handleEnvelope(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	if err := checkPost(w, r); err != nil {
		return nil, err
	}
	body, err := s.readBody(w, r, x)
	if err != nil {
		return nil, err
	}
	if _, err := pipeline.DecodeObject(body); err != nil {
		return nil, apierr.Wrap(err, http.StatusBadRequest, "invalid_json", "the request body is not a JSON object: %v", err)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, apierr.Wrap(err, http.StatusBadRequest, "invalid_envelope", "the envelope must be {\"requestId\": string, \"action\": string, \"data\": object}: %v", err)
	}
	if env.Action == "" || len(env.Data) == 0 {
		return nil, apierr.New(http.StatusBadRequest, "invalid_envelope", "the envelope must name an \"action\" and carry its input in \"data\"")
	}
	x.id = pipeline.RequestID(append(headerIDs(r), env.RequestID)...)
	w.Header()["X-Request-Id"] = []string{x.id}
	res, err := s.opts.Pipeline.Run(r.Context(), &pipeline.Call{
		Action: env.Action, RequestID: x.id, Metadata: x.md, Body: env.Data, Record: x.rec,
	})
	cacheStatus(w, res)
	return x.answer(pipeline.Envelope(x.id, pipeline.Answer(res, s.notReady(err))))
}

// cacheStatus says what the response cache did (RFC 9211).
func cacheStatus(w http.ResponseWriter, res pipeline.Result) {
	if res.Cache != nil {
		w.Header().Set("Cache-Status", res.Cache.Header())
	}
}

// handleToken is the token endpoint of Genesys Cloud's User Defined
// (OAuth) credential type: client credentials in, a short-lived bearer
// token out, errors in OAuth's own shape.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	tok, terr := x.auth.IssueToken(r)
	if terr != nil {
		if terr.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="switchboard"`)
			s.opts.Throttle.Failed(x.rec.RemoteAddr)
			s.authFailure(tokenRoute, "rejected")
		}
		raw, _ := json.Marshal(terr)
		return nil, &apierr.Error{Status: terr.Status, Code: terr.Code, Message: terr.Description, Raw: raw}
	}
	x.rec.Principal = audit.Principal{Method: "oauth_client", ID: tok.ClientID}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	return json.Marshal(tok)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = jsonContentType
	w.Write([]byte(`{"status":"ok"}`))
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = jsonContentType
	if s.opts.Readiness != nil {
		if ok, why := s.opts.Readiness(); !ok {
			status := "starting"
			if s.opts.Stopping != nil && s.opts.Stopping() {
				status = "stopping"
			}
			b, _ := json.Marshal(map[string]string{"status": status, "reason": why})
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write(b)
			return
		}
	}
	w.Write([]byte(`{"status":"ready"}`))
}

// refuse answers a request that reaches no route with e, audited.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, e *apierr.Error) {
	s.exchange("", false, func(http.ResponseWriter, *http.Request, *exchange) ([]byte, error) { return nil, e })(w, r)
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	return nil, apierr.New(http.StatusNotFound, "not_found", "no route %s %s; actions are called with POST /actions/{name}", truncate(r.Method), truncate(r.URL.Path))
}

func (s *Server) handlePlugins(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	if r.Method != http.MethodGet {
		w.Header()["Allow"] = allowGet
		return nil, apierr.New(http.StatusMethodNotAllowed, "method_not_allowed", "use GET, not %s", truncate(r.Method))
	}
	return indentJSON(s.opts.Admin.Plugins()), nil
}

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	if err := checkAdminPost(w, r); err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	v, err := s.opts.Admin.Reload(r.Context(), name)
	switch {
	case errors.Is(err, ErrUnknownPlugin):
		return nil, apierr.New(http.StatusNotFound, "plugin_not_found", "no plugin file named %q", truncate(name))
	case err != nil:
		return nil, apierr.Wrap(err, http.StatusBadGateway, "reload_failed", "plugin %q was not reloaded: %v", truncate(name), err)
	}
	s.logger.Info("plugin reloaded", "plugin", name, "request_id", x.id, "principal", x.rec.Principal.ID)
	return indentJSON(v), nil
}

func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	if r.Method != http.MethodGet {
		w.Header()["Allow"] = allowGet
		return nil, apierr.New(http.StatusMethodNotAllowed, "method_not_allowed", "use GET, not %s", truncate(r.Method))
	}
	return indentJSON(s.opts.Admin.Config()), nil
}

// handleConfigReload is POST /admin/config/reload (?dry_run=true: what a
// reload would change, applying nothing). A refused config answers 422
// with the reasons; the configuration in effect stays.
func (s *Server) handleConfigReload(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	if err := checkAdminPost(w, r); err != nil {
		return nil, err
	}
	dry := r.URL.Query().Get("dry_run")
	if dry != "" && dry != "true" && dry != "false" {
		return nil, apierr.New(http.StatusBadRequest, "invalid_query", "dry_run is true or false, not %q", truncate(dry))
	}
	v, err := s.opts.Admin.ReloadConfig(r.Context(), dry == "true")
	if err != nil {
		raw, _ := json.Marshal(map[string]any{"status": http.StatusUnprocessableEntity, "code": "config_refused",
			"message": "the config was not applied; the one in effect stays: " + err.Error(), "requestId": x.id, "reload": v})
		return nil, &apierr.Error{Status: http.StatusUnprocessableEntity, Code: "config_refused", Message: err.Error(), Raw: raw}
	}
	if dry != "true" {
		s.logger.Info("config reloaded", "request_id", x.id, "principal", x.rec.Principal.ID)
	}
	return indentJSON(v), nil
}

// handlePurge is DELETE /admin/cache/{action}, with an optional JSON body
// {"input": {…}, "organizationId": "…"} naming one entry.
func (s *Server) handlePurge(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	if r.Method != http.MethodDelete {
		w.Header()["Allow"] = []string{http.MethodDelete}
		return nil, apierr.New(http.StatusMethodNotAllowed, "method_not_allowed", "use DELETE, not %s", truncate(r.Method))
	}
	var one struct {
		Input          json.RawMessage `json:"input"`
		OrganizationID string          `json:"organizationId"`
	}
	if body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20)); err != nil {
		return nil, apierr.Wrap(err, http.StatusRequestEntityTooLarge, "body_too_large", "the body is over 1 MiB")
	} else if len(bytes.TrimSpace(body)) > 0 {
		if err := checkJSONType(r); err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&one); err != nil {
			return nil, apierr.Wrap(err, http.StatusBadRequest, "invalid_json", "the body is {\"input\": {…}, \"organizationId\": \"…\"}: %v", err)
		}
	}
	action := r.PathValue("action")
	n, err := s.opts.Admin.PurgeCache(r.Context(), action, one.Input, one.OrganizationID)
	switch {
	case errors.Is(err, ErrUnknownAction):
		return nil, apierr.New(http.StatusNotFound, "action_not_found", "no action named %q", truncate(action))
	case err != nil:
		return nil, apierr.Wrap(err, http.StatusBadRequest, "purge_failed", "the cache of %q was not purged: %v", truncate(action), err)
	}
	s.logger.Info("cache purged", "action", action, "entries", n, "one", len(one.Input) > 0, "request_id", x.id, "principal", x.rec.Principal.ID)
	return indentJSON(map[string]any{"action": action, "purged": n}), nil
}

func indentJSON(v any) []byte {
	b, _ := json.MarshalIndent(v, "", "  ")
	return append(b, '\n')
}

// authenticated admits only authenticated callers to h (GET /metrics); the
// others get the audited, counted and throttled 401 (or 429) of every route.
func (s *Server) authenticated(route string, h http.Handler) http.Handler {
	refused := s.exchange(route, true, func(http.ResponseWriter, *http.Request, *exchange) ([]byte, error) {
		return nil, errUnauthorized // the credentials were refused just before
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Throttle.Wait(remoteIP(r)) == 0 {
			if _, ok := s.auth.Load().Authenticate(r); ok {
				h.ServeHTTP(w, r)
				return
			}
		}
		refused(w, r)
	})
}

// checkAdminPost checks an admin API POST: it must say it sends JSON, which
// a browser page of another site cannot make it do without asking first
// (a CORS preflight this host never grants).
func checkAdminPost(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header()["Allow"] = allowPost
		return apierr.New(http.StatusMethodNotAllowed, "method_not_allowed", "use POST, not %s", truncate(r.Method))
	}
	return checkJSONType(r)
}

// checkJSONType refuses an admin request body that is not JSON: a web
// page can make a browser send a form or text, never JSON.
func checkJSONType(r *http.Request) error {
	mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if mt = strings.ToLower(strings.TrimSpace(mt)); mt != "application/json" {
		return apierr.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "admin API requests must be sent with Content-Type: application/json")
	}
	return nil
}

// checkPost checks the method and content type of an action request.
func checkPost(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header()["Allow"] = allowPost
		return apierr.New(http.StatusMethodNotAllowed, "method_not_allowed", "use POST, not %s", truncate(r.Method))
	}
	if ct := r.Header.Get("Content-Type"); !acceptedContentType(ct) {
		return apierr.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json, not %q", truncate(ct))
	}
	return nil
}

// acceptedContentType admits JSON, no content type at all, and the form
// type that `curl -d` sends by default (the body is read as JSON anyway).
func acceptedContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "application/x-www-form-urlencoded"
}

// bufPool recycles request body buffers; buffers that grew large are dropped
// so that one big request does not pin memory.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuffer = 64 << 10

// readBody reads the whole body within the size limit. The bytes stay valid
// until the answer is written.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	limit := s.opts.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	x.cleanup = append(x.cleanup, func() {
		if buf.Cap() <= maxPooledBuffer {
			bufPool.Put(buf)
		}
	})
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(limit)
		}
		return nil, apierr.Wrap(err, http.StatusBadRequest, "unreadable_body", "the request body could not be read")
	}
	return buf.Bytes(), nil
}

func tooLarge(limit int64) error {
	return apierr.New(http.StatusRequestEntityTooLarge, "body_too_large", "the request body exceeds %d bytes", limit)
}

// errorBody renders e for the caller, sets its headers and logs what
// operators need to know.
func (s *Server) errorBody(w http.ResponseWriter, r *http.Request, x *exchange, e *apierr.Error) []byte {
	// A validation failure's message may quote the caller's values: the log
	// names where it failed and which keyword, as the audit log does.
	why := any(e.Error())
	if len(e.Details) > 0 {
		where := make([]string, len(e.Details))
		for i, d := range e.Details {
			where[i] = d.Location + " (" + d.Keyword + ")"
		}
		why = where
	}
	switch {
	case e.Status >= 500:
		s.logger.Warn("request failed", "request_id", x.id, "action", x.rec.Action, "status", e.Status, "code", e.Code, "error", why)
	case s.logger.IsDebug():
		s.logger.Debug("request refused", "request_id", x.id, "action", x.rec.Action, "status", e.Status, "code", e.Code, "error", why)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	if e.Raw != nil {
		return e.Raw
	}
	return errorJSON(e, x.id)
}

// errorJSON is the one place that renders an error for a caller.
func errorJSON(e *apierr.Error, id string) []byte {
	b, _ := json.Marshal(e.Body(id))
	return append(b, '\n')
}

// headerIDs are the request ids a request's headers name, in the order of
// precedence (pipeline.RequestID).
func headerIDs(r *http.Request) []string {
	return []string{r.Header.Get("Inin-Correlation-Id"), r.Header.Get("X-Request-Id")}
}

// metadata reads the headers Genesys Cloud adds to data action requests.
func metadata(r *http.Request) pipeline.Metadata {
	return pipeline.Metadata{
		CorrelationID:      headerID(r, "Inin-Correlation-Id"),
		OrganizationID:     headerID(r, "Inin-Organization-Id"),
		HomeOrganizationID: headerID(r, "Inin-Home-Organization-Id"),
		UserID:             headerID(r, "Inin-User-Id"),
	}
}

func headerID(r *http.Request, key string) string {
	if v := r.Header.Get(key); pipeline.ValidID(v) {
		return v
	}
	return ""
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// truncate keeps caller-supplied text in messages short.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
