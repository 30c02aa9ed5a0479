// Package server is the host's inbound HTTP API: the routes Genesys Cloud
// calls, inbound authentication, request ids, body limits, health endpoints
// and the error body. It turns HTTP into pipeline calls and back.
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/catalog"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/inbound"
	"github.com/switchboard-dev/switchboard/host/pipeline"
)

// Options configure a Server.
type Options struct {
	Pipeline *pipeline.Pipeline
	// Auth admits callers; with no method enabled every caller is admitted.
	Auth *inbound.Authenticator
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	// Logger, nil for none.
	Logger hclog.Logger
	// Ready reports whether the host serves its actions (GET /readyz). Nil:
	// always ready.
	Ready func() bool
	// Admin serves /admin/plugins; nil for no admin API.
	Admin Admin
	// SeparateAdmin keeps the admin API off the main handler: it is served
	// only by AdminHandler, on its own address.
	SeparateAdmin bool
}

// Admin is what the admin API shows and does.
type Admin interface {
	Plugins() []catalog.PluginView
	Reload(ctx context.Context, name string) (catalog.PluginView, error)
}

// Server serves the HTTP API. It is an http.Handler.
type Server struct {
	opts   Options
	logger hclog.Logger
	mux    *http.ServeMux
	admin  *http.ServeMux // admin routes without inbound auth, for AdminHandler
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
	s.mux.HandleFunc("/actions/{name}", s.handleAction)
	s.mux.HandleFunc("/webhook/data-action", s.handleEnvelope)
	s.mux.HandleFunc("/healthz", s.handleHealth)
	s.mux.HandleFunc("/readyz", s.handleReady)
	s.mux.HandleFunc("/", s.handleNotFound)
	if opts.Admin != nil {
		s.admin = http.NewServeMux()
		s.admin.HandleFunc("GET /admin/plugins", s.handlePlugins)
		s.admin.HandleFunc("POST /admin/plugins/{name}/reload", s.handleReload)
		s.admin.HandleFunc("/", s.handleNotFound)
		if !opts.SeparateAdmin {
			s.mux.Handle("/admin/", s.authenticated(s.admin))
		}
	}
	return s
}

// AdminHandler serves the admin API without inbound authentication, for a
// separate admin address that only operators reach.
func (s *Server) AdminHandler() http.Handler {
	if s.admin == nil {
		return http.NotFoundHandler()
	}
	return s.admin
}

// authenticated admits only authenticated callers to h.
func (s *Server) authenticated(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestID(r, "")
		w.Header()["X-Request-Id"] = []string{id}
		if _, ok := s.opts.Auth.Authenticate(r); !ok {
			w.Header().Set("WWW-Authenticate", s.opts.Auth.Challenge())
			s.fail(w, r, id, "", apierr.New(http.StatusUnauthorized, "unauthorized", "missing or wrong credentials"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) handlePlugins(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.opts.Admin.Plugins())
}

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	id := requestID(r, "")
	name := r.PathValue("name")
	v, err := s.opts.Admin.Reload(r.Context(), name)
	switch {
	case errors.Is(err, catalog.ErrNoPlugin):
		s.fail(w, r, id, "", apierr.New(http.StatusNotFound, "plugin_not_found", "no plugin file named %q", truncate(name)))
	case err != nil:
		s.fail(w, r, id, "", apierr.Wrap(err, http.StatusBadGateway, "reload_failed", "plugin %q was not reloaded: %v", truncate(name), err))
	default:
		s.logger.Info("plugin reloaded", "plugin", name, "pid", v.PID, "request_id", id)
		writeJSON(w, http.StatusOK, v)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

var (
	jsonContentType = []string{"application/json"}
	allowPost       = []string{http.MethodPost}
)

// handleAction serves POST /actions/{name}: the body is the action input, as
// Genesys Cloud's default request template ${input.rawRequest} sends it.
func (s *Server) handleAction(w http.ResponseWriter, r *http.Request) {
	id := requestID(r, "")
	w.Header()["X-Request-Id"] = []string{id}
	if !s.admit(w, r, id) {
		return
	}
	name := r.PathValue("name")
	body, release, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, id, name, err)
		return
	}
	defer release()
	res, err := s.opts.Pipeline.Run(r.Context(), &pipeline.Call{Action: name, RequestID: id, Metadata: metadata(r), Body: body})
	if err != nil {
		s.fail(w, r, id, name, err)
		return
	}
	w.Header()["Content-Type"] = jsonContentType
	w.Write(res.Output)
}

// envelope is the seed's request shape.
type envelope struct {
	RequestID string          `json:"requestId"`
	Action    string          `json:"action"`
	Data      json.RawMessage `json:"data"`
}

// handleEnvelope serves POST /webhook/data-action with the seed's envelope
// {"requestId", "action", "data"}; it answers {"requestId", "data"}.
func (s *Server) handleEnvelope(w http.ResponseWriter, r *http.Request) {
	id := requestID(r, "")
	w.Header()["X-Request-Id"] = []string{id}
	if !s.admit(w, r, id) {
		return
	}
	body, release, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, r, id, "", err)
		return
	}
	defer release()
	var env envelope
	if _, err := pipeline.DecodeObject(body); err != nil {
		s.fail(w, r, id, "", apierr.Wrap(err, http.StatusBadRequest, "invalid_json", "the request body is not a JSON object: %v", err))
		return
	}
	if err := json.Unmarshal(body, &env); err != nil {
		s.fail(w, r, id, "", apierr.Wrap(err, http.StatusBadRequest, "invalid_envelope", "the envelope must be {\"requestId\": string, \"action\": string, \"data\": object}: %v", err))
		return
	}
	if env.Action == "" || len(env.Data) == 0 {
		s.fail(w, r, id, env.Action, apierr.New(http.StatusBadRequest, "invalid_envelope", "the envelope must name an \"action\" and carry its input in \"data\""))
		return
	}
	if r.Header.Get("Inin-Correlation-Id") == "" && r.Header.Get("X-Request-Id") == "" && env.RequestID != "" {
		id = requestID(r, env.RequestID)
		w.Header()["X-Request-Id"] = []string{id}
	}
	res, err := s.opts.Pipeline.Run(r.Context(), &pipeline.Call{Action: env.Action, RequestID: id, Metadata: metadata(r), Body: env.Data})
	if err != nil {
		s.fail(w, r, id, env.Action, err)
		return
	}
	idJSON, _ := json.Marshal(id)
	out := make([]byte, 0, len(res.Output)+len(idJSON)+24)
	out = append(out, `{"requestId":`...)
	out = append(out, idJSON...)
	out = append(out, `,"data":`...)
	out = append(out, res.Output...)
	out = append(out, '}')
	w.Header()["Content-Type"] = jsonContentType
	w.Write(out)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = jsonContentType
	w.Write([]byte(`{"status":"ok"}`))
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = jsonContentType
	if s.opts.Ready != nil && !s.opts.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"starting"}`))
		return
	}
	w.Write([]byte(`{"status":"ready"}`))
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	id := requestID(r, "")
	w.Header()["X-Request-Id"] = []string{id}
	writeError(w, id, apierr.New(http.StatusNotFound, "not_found", "no route %s %s; actions are called with POST /actions/{name}", r.Method, truncate(r.URL.Path)))
}

// admit authenticates the request and checks its method and content type,
// answering the failure itself.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, id string) bool {
	if _, ok := s.opts.Auth.Authenticate(r); !ok {
		w.Header().Set("WWW-Authenticate", s.opts.Auth.Challenge())
		s.fail(w, r, id, "", apierr.New(http.StatusUnauthorized, "unauthorized", "missing or wrong credentials"))
		return false
	}
	if r.Method != http.MethodPost {
		w.Header()["Allow"] = allowPost
		s.fail(w, r, id, "", apierr.New(http.StatusMethodNotAllowed, "method_not_allowed", "use POST, not %s", truncate(r.Method)))
		return false
	}
	if ct := r.Header.Get("Content-Type"); !acceptedContentType(ct) {
		s.fail(w, r, id, "", apierr.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json, not %q", truncate(ct)))
		return false
	}
	return true
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

// readBody reads the whole body within the size limit. The bytes are valid
// until release is called.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, func(), error) {
	limit := s.opts.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, nil, tooLarge(limit)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	release := func() {
		if buf.Cap() <= maxPooledBuffer {
			bufPool.Put(buf)
		}
	}
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		release()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, nil, tooLarge(limit)
		}
		return nil, nil, apierr.Wrap(err, http.StatusBadRequest, "unreadable_body", "the request body could not be read")
	}
	return buf.Bytes(), release, nil
}

func tooLarge(limit int64) error {
	return apierr.New(http.StatusRequestEntityTooLarge, "body_too_large", "the request body exceeds %d bytes", limit)
}

// fail answers with the error body and logs what operators need to know.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, id, action string, err error) {
	e := apierr.From(err)
	switch {
	case e.Status >= 500:
		s.logger.Warn("request failed", "request_id", id, "action", action, "status", e.Status, "code", e.Code, "error", e.Error())
	case s.logger.IsDebug():
		s.logger.Debug("request refused", "request_id", id, "action", action, "status", e.Status, "code", e.Code, "error", e.Error())
	}
	writeError(w, id, e)
}

// writeError is the one place that renders an error for a caller.
func writeError(w http.ResponseWriter, id string, e *apierr.Error) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+999_999_999)/1_000_000_000)))
	}
	status := e.Status
	if status == apierr.StatusClientClosed { // nobody is listening; keep the status valid
		status = http.StatusServiceUnavailable
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e.Body(id))
}

// requestID picks the request id: Genesys Cloud's ININ-Correlation-Id, else
// X-Request-Id, else fallback (the envelope's requestId), else a new UUID.
// A value that is too long or holds characters outside [A-Za-z0-9._:/+=@-]
// is ignored, so that no caller can forge log lines with it.
func requestID(r *http.Request, fallback string) string {
	for _, v := range [...]string{r.Header.Get("Inin-Correlation-Id"), r.Header.Get("X-Request-Id"), fallback} {
		if validID(v) {
			return v
		}
	}
	return uuid.NewString()
}

func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:/+=@-", c) >= 0) {
			return false
		}
	}
	return true
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
	if v := r.Header.Get(key); validID(v) {
		return v
	}
	return ""
}

// truncate keeps caller-supplied text in messages short.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
