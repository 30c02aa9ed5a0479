package sim

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Defaults and limits of Options.
const (
	// DefaultClientID is the client id accepted when Options.ClientID is empty.
	DefaultClientID = "sim-client"
	// DefaultClientSecret is the secret accepted when Options.ClientSecret is empty.
	DefaultClientSecret = "sim-secret"
	// DefaultTokenTTL is Genesys Cloud's default token duration for an OAuth client.
	DefaultTokenTTL = 24 * time.Hour
	// MinTokenTTL and MaxTokenTTL bound the token duration Genesys Cloud lets
	// an administrator set on an OAuth client (300–172800 s).
	MinTokenTTL = 300 * time.Second
	MaxTokenTTL = 172800 * time.Second
	// GenesysTokenRateLimit is Genesys Cloud's default for the limit
	// client.credentials.token.rate.per.minute: API requests per
	// client-credentials token per minute. Set Options.TokenRateLimit to it
	// to simulate the limit.
	GenesysTokenRateLimit = 300
)

// Options configures a Server. The zero value is ready to use.
type Options struct {
	// ClientID is the OAuth client id the token endpoint accepts.
	// Empty means DefaultClientID.
	ClientID string
	// ClientSecret is that client's secret. Empty means DefaultClientSecret.
	ClientSecret string
	// OtherClients are further OAuth clients the token endpoint accepts,
	// id → secret (a credential rotation moves from one to another).
	OtherClients map[string]string
	// TokenTTL is the lifetime of an issued token, sent as expires_in in whole
	// seconds. Zero means DefaultTokenTTL; other values are clamped to
	// [MinTokenTTL, MaxTokenTTL], the range Genesys Cloud allows.
	TokenTTL time.Duration
	// TokenRateLimit caps the API requests a single token may make in a
	// minute; past it the API answers 429 too.many.requests with Retry-After
	// until the minute is over. Zero or negative means no limit.
	TokenRateLimit int
	// Users are the users GET /api/v2/users/{userId} knows.
	// Nil means DefaultUsers().
	Users []User
	// Now is the clock for token expiry and rate-limit windows (not for
	// injected latency). Nil means time.Now.
	Now func() time.Time
	// Logger receives a record for every fault applied and every change made
	// through the admin API. Nil means no logging.
	Logger *slog.Logger
}

// Stats counts what a Server has answered since it was created or reset.
type Stats struct {
	// TokenRequests counts POST /oauth/token requests, whatever their outcome.
	TokenRequests int64 `json:"tokenRequests"`
	// TokensIssued counts tokens granted.
	TokensIssued int64 `json:"tokensIssued"`
	// ActiveTokens is the number of tokens that are neither expired nor revoked.
	ActiveTokens int `json:"activeTokens"`
	// APIRequests counts requests under /api/, whatever their outcome.
	APIRequests int64 `json:"apiRequests"`
	// APIByStatus counts API answers by HTTP status. It never is nil.
	APIByStatus map[int]int64 `json:"apiByStatus"`
	// FaultsApplied counts requests an injected fault acted on.
	FaultsApplied int64 `json:"faultsApplied"`
	// Cancelled counts requests (token or API) whose client went away while
	// an injected latency held them; they have no status.
	Cancelled int64 `json:"cancelled"`
}

// Server simulates the Genesys Cloud login service and platform API. Its
// methods are safe for concurrent use.
type Server struct {
	clientID     string
	clientSecret string
	otherClients map[string]string // read-only after New
	ttl          time.Duration
	rateLimit    int
	users        map[string]User // read-only after New
	now          func() time.Time
	log          *slog.Logger
	handler      http.Handler

	mu     sync.Mutex
	tokens map[string]*token
	faults []Fault
	stats  Stats
}

// New returns a Server configured by opts.
func New(opts Options) *Server {
	s := &Server{
		clientID:     opts.ClientID,
		clientSecret: opts.ClientSecret,
		otherClients: maps.Clone(opts.OtherClients),
		ttl:          opts.TokenTTL,
		rateLimit:    max(opts.TokenRateLimit, 0),
		users:        make(map[string]User),
		now:          opts.Now,
		log:          opts.Logger,
		tokens:       make(map[string]*token),
		stats:        Stats{APIByStatus: make(map[int]int64)},
	}
	if s.clientID == "" {
		s.clientID = DefaultClientID
	}
	if s.clientSecret == "" {
		s.clientSecret = DefaultClientSecret
	}
	if s.ttl == 0 {
		s.ttl = DefaultTokenTTL
	}
	s.ttl = min(max(s.ttl, MinTokenTTL), MaxTokenTTL)
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	users := opts.Users
	if users == nil {
		users = DefaultUsers()
	}
	for _, u := range users {
		s.users[u.ID] = normalizeUser(u)
	}

	mux := http.NewServeMux()
	mux.Handle("POST /oauth/token", s.simulate(false, s.issueToken))
	mux.Handle("GET /api/v2/users/{userId}", s.simulate(true, s.authorized(s.getUser)))
	mux.Handle("/api/", s.simulate(true, s.authorized(notFound)))
	mux.HandleFunc("GET /sim/stats", s.serveStats)
	mux.HandleFunc("GET /sim/faults", s.serveFaults)
	mux.HandleFunc("POST /sim/faults", s.postFault)
	mux.HandleFunc("DELETE /sim/faults", s.deleteFaults)
	mux.HandleFunc("POST /sim/tokens/revoke", s.revokeTokens)
	mux.HandleFunc("POST /sim/reset", s.reset)
	s.handler = mux
	return s
}

// Handler returns the HTTP handler serving the simulated Genesys Cloud
// endpoints and the /sim/ admin API. Serve it over plain HTTP: the login
// service and the platform API share one address.
func (s *Server) Handler() http.Handler { return s.handler }

// ClientID returns the OAuth client id the token endpoint accepts.
func (s *Server) ClientID() string { return s.clientID }

// ClientSecret returns that client's secret.
func (s *Server) ClientSecret() string { return s.clientSecret }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.APIByStatus = maps.Clone(s.stats.APIByStatus)
	now := s.now()
	for _, t := range s.tokens {
		if t.validAt(now) {
			st.ActiveTokens++
		}
	}
	return st
}

// RevokeTokens invalidates every issued token, as if each had expired, and
// returns how many were still valid.
func (s *Server) RevokeTokens() int {
	s.mu.Lock()
	n := 0
	now := s.now()
	for _, t := range s.tokens {
		if t.validAt(now) {
			n++
		}
	}
	clear(s.tokens)
	s.mu.Unlock()
	s.log.Info("sim: tokens revoked", "count", n)
	return n
}

// Reset revokes every token, clears the faults and zeroes the counters.
func (s *Server) Reset() {
	s.mu.Lock()
	clear(s.tokens)
	s.faults = nil
	s.stats = Stats{APIByStatus: make(map[int]int64)}
	s.mu.Unlock()
	s.log.Info("sim: reset")
}

// reply is what a simulated endpoint answers.
type reply struct {
	status     int
	body       any
	retryAfter string
}

// simulate wraps a simulated endpoint: it counts the request, applies the
// first matching fault, and writes the reply. api tells the platform API
// (/api/...) from the login service (/oauth/token).
func (s *Server) simulate(api bool, endpoint func(*http.Request) reply) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, faulty := s.begin(api, r.URL.Path)
		if faulty {
			s.log.Info("sim: fault applied", "path", r.URL.Path, "status", f.Status, "latency", f.Latency)
		}
		if faulty && f.Latency > 0 && !sleep(r.Context(), f.Latency) {
			s.mu.Lock()
			s.stats.Cancelled++
			s.mu.Unlock()
			return
		}
		var rep reply
		switch {
		case faulty && f.Status != 0 && api:
			rep = reply{status: f.Status, body: statusError(f.Status), retryAfter: f.RetryAfter}
		case faulty && f.Status != 0:
			rep = reply{status: f.Status, body: statusTokenError(f.Status), retryAfter: f.RetryAfter}
		default:
			rep = endpoint(r)
		}
		if api {
			s.mu.Lock()
			s.stats.APIByStatus[rep.status]++
			s.mu.Unlock()
		} else {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Pragma", "no-cache")
		}
		write(w, r, rep)
	})
}

// begin counts a request and takes one use of the first fault matching path.
func (s *Server) begin(api bool, path string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if api {
		s.stats.APIRequests++
	} else {
		s.stats.TokenRequests++
	}
	for i, f := range s.faults {
		if !f.matches(path) {
			continue
		}
		if f.Count > 0 {
			s.faults[i].Count--
			if s.faults[i].Count == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		s.stats.FaultsApplied++
		return f, true
	}
	return Fault{}, false
}

// sleep waits for d and reports whether it did before ctx was done.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// write sends rep as JSON. Like Genesys Cloud, it echoes the request's
// ININ-Correlation-Id (or makes one up) and uses it as the error contextId.
func write(w http.ResponseWriter, r *http.Request, rep reply) {
	id := r.Header.Get("ININ-Correlation-Id")
	if id == "" {
		id = uuid.NewString()
	}
	if e, ok := rep.body.(*ErrorBody); ok {
		e.ContextID = id
	}
	body, err := json.Marshal(rep.body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("ININ-Correlation-Id", id)
	if rep.retryAfter != "" {
		h.Set("Retry-After", rep.retryAfter)
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(body)
}
