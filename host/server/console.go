package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/console"
	"github.com/switchboard-dev/switchboard/host/pipeline"
	"github.com/switchboard-dev/switchboard/host/stats"
)

// The operator console: its page and its admin routes, served where the
// admin API is (admin_listen, or behind inbound auth), from the same
// exchange: audited, throttled, refused cross-site.

const tryRoute = "/admin/actions/{name}/try"

func (s *Server) consoleRoutes(mux *http.ServeMux, auth bool) {
	if s.opts.Console == nil {
		return
	}
	mux.HandleFunc("/admin/actions", s.exchange("/admin/actions", auth, s.getJSON(s.opts.Console.Actions)))
	mux.HandleFunc("/admin/connections", s.exchange("/admin/connections", auth, s.getJSON(s.opts.Console.Connections)))
	mux.HandleFunc("/admin/failures", s.exchange("/admin/failures", auth, s.getJSON(s.failures)))
	mux.HandleFunc(tryRoute, s.exchange(tryRoute, auth, s.handleTry))
	mux.HandleFunc("/admin/console", s.exchange("/admin/console", auth, s.handleConsole))
	mux.HandleFunc("/admin/console/{file}", s.exchange("/admin/console/{file}", auth, s.handleConsole))
}

// getJSON serves GET of a body.
func (s *Server) getJSON(body func() any) handler {
	return func(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
		if r.Method != http.MethodGet {
			w.Header()["Allow"] = allowGet
			return nil, apierr.New(http.StatusMethodNotAllowed, "method_not_allowed", "use GET, not %s", truncate(r.Method))
		}
		w.Header().Set("Cache-Control", "no-store")
		return indentJSON(body()), nil
	}
}

// failures is the body of GET /admin/failures: the last failed requests,
// newest first, with no input or output value.
func (s *Server) failures() any {
	f := []stats.Failure{}
	if s.opts.Stats != nil {
		f = s.opts.Stats.Failures()
	}
	return map[string]any{"failures": f}
}

// ContentSecurityPolicy is the console page's: its own scripts, styles
// and fetches only, nothing inline, no frames.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// handleConsole serves the console's page and its two assets, embedded in
// the binary.
func (s *Server) handleConsole(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = allowGet
		return nil, apierr.New(http.StatusMethodNotAllowed, "method_not_allowed", "use GET, not %s", truncate(r.Method))
	}
	name := r.PathValue("file")
	if name == "" {
		name = "index.html"
	}
	body, ctype, ok := console.File(name)
	if !ok {
		return nil, apierr.New(http.StatusNotFound, "not_found", "the console has no file %q", truncate(name))
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-cache")
	return body, nil
}

// tryStage is one stage of a console test run, as invoke --trace shows it.
type tryStage struct {
	Name       string  `json:"name"`
	DurationMS float64 `json:"durationMs"`
	Detail     string  `json:"detail,omitempty"`
	Error      string  `json:"error,omitempty"`
}

// tryAnswer is the body of POST /admin/actions/{name}/try.
type tryAnswer struct {
	RequestID string `json:"requestId"`
	// Status and Body are what Genesys Cloud would get (errors = "data"
	// applied).
	Status  int             `json:"status"`
	Code    string          `json:"code"`
	Body    json.RawMessage `json:"body"`
	Stages  []tryStage      `json:"stages"`
	TotalMS float64         `json:"totalMs"`
}

// handleTry is POST /admin/actions/{name}/try with {"input": {…}}: the
// action runs as Genesys Cloud would call it, each stage traced. Its audit
// record is marked as a console test, its principal the operator's.
func (s *Server) handleTry(w http.ResponseWriter, r *http.Request, x *exchange) ([]byte, error) {
	if err := checkAdminPost(w, r); err != nil {
		return nil, err
	}
	x.rec.Console = true
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes+1024))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(s.opts.MaxBodyBytes)
		}
		return nil, apierr.Wrap(err, http.StatusBadRequest, "unreadable_body", "the request body could not be read")
	}
	var in struct {
		Input json.RawMessage `json:"input"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || len(in.Input) == 0 {
		return nil, apierr.New(http.StatusBadRequest, "invalid_json", "the body is {\"input\": {…}}, the action's input object")
	}
	var (
		mu     sync.Mutex
		stages []tryStage
	)
	call := &pipeline.Call{
		Action: r.PathValue("name"), RequestID: x.id, Metadata: x.md, Body: in.Input, Record: x.rec,
		Trace: func(st pipeline.Stage) {
			ts := tryStage{Name: st.Name, DurationMS: millis(st.Took), Detail: st.Detail}
			if st.Err != nil {
				ts.Error = st.Err.Error()
			}
			mu.Lock()
			stages = append(stages, ts)
			mu.Unlock()
		},
	}
	begin := time.Now()
	res, err := s.opts.Pipeline.Run(r.Context(), call)
	took := time.Since(begin)
	if e := apierr.From(err); e != nil && e.Code == "action_not_found" {
		return nil, s.notReady(err)
	}
	cacheStatus(w, res)
	reply := pipeline.Answer(res, err)
	ans := tryAnswer{RequestID: x.id, Status: http.StatusOK, Code: reply.Code, Body: reply.Body, TotalMS: millis(took)}
	if reply.Err != nil {
		ans.Status, ans.Code, ans.Body = reply.Err.Status, reply.Err.Code, errorJSON(reply.Err, x.id)
	}
	mu.Lock()
	ans.Stages = append([]tryStage{}, stages...)
	mu.Unlock()
	x.outcome = ans.Status
	if ans.Code != "ok" {
		x.code = ans.Code
		x.stage = failedStage(ans.Stages)
	}
	s.logger.Info("console test run", "action", call.Action, "request_id", x.id, "principal", x.rec.Principal.ID, "status", ans.Status, "code", ans.Code)
	return indentJSON(ans), nil
}

// failedStage is the stage of a traced run that failed; "" when none did.
func failedStage(st []tryStage) string {
	for _, s := range st {
		if s.Error != "" {
			return s.Name
		}
	}
	if len(st) > 0 {
		return st[len(st)-1].Name
	}
	return ""
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// record gives the console's stats an answered request: every one that ran
// an action, and the failures of the action routes.
func (s *Server) record(x *exchange, status int, code string, took time.Duration) {
	if s.opts.Stats == nil {
		return
	}
	if x.outcome != 0 && status == http.StatusOK {
		status = x.outcome
	}
	s.opts.Stats.Record(x.rec.Action, status, code, took, x.rec.Cache)
	if !stats.IsError(status, code) {
		return
	}
	switch x.rec.Route {
	case "/actions/{name}", "/webhook/data-action":
	case tryRoute: // a test run's failures; not the refusals of the route itself
		if x.rec.Action == "" {
			return
		}
	default:
		return
	}
	stage := x.stage
	if stage == "" {
		stage = stageOf(status, code)
	}
	s.opts.Stats.Fail(stats.Failure{At: x.rec.Time.UTC(), RequestID: x.id, Action: x.rec.Action, Route: x.rec.Route,
		Status: status, Code: code, Stage: stage, Console: x.rec.Console})
}

// stageOf names where a request with this outcome failed, from its code.
func stageOf(status int, code string) string {
	switch {
	case code == "unauthorized" || code == "too_many_auth_failures":
		return "auth"
	case code == "action_not_found" || code == "not_ready":
		return "lookup"
	case code == "invalid_json":
		return "decode"
	case strings.HasPrefix(code, "mapping_"):
		return "map"
	case code == "invalid_input":
		return "validate input"
	case code == "invalid_output":
		return "validate output"
	case code == "audit_unavailable":
		return "audit"
	}
	switch code {
	case "method_not_allowed", "unsupported_media_type", "body_too_large", "headers_too_large",
		"invalid_envelope", "unreadable_body", "invalid_path", "cross_origin_refused", "not_found":
		return "request"
	}
	return "invoke"
}
