package sim_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/genesys/sim"
	"github.com/switchboard-dev/switchboard/host/internal/golden"
)

// start serves a new simulator on 127.0.0.1:0 for the test's lifetime.
func start(t *testing.T, opts sim.Options) (*sim.Server, string) {
	t.Helper()
	s := sim.New(opts)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts.URL
}

// oauth2Basic is the Authorization header golang.org/x/oauth2 sends with
// AuthStyleInHeader: id and secret form-encoded, then Basic (RFC 6749 §2.3.1).
func oauth2Basic(id, secret string) string {
	return rawBasic(url.QueryEscape(id), url.QueryEscape(secret))
}

// rawBasic is the header Genesys Cloud's SDKs send: no form-encoding.
func rawBasic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

const formType = "application/x-www-form-urlencoded"

type response struct {
	status int
	header http.Header
	body   []byte
}

// send makes one request; header values "" are left out.
func send(ctx context.Context, method, target string, header map[string]string, body string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	if err != nil {
		return response{}, fmt.Errorf("new request: %w", err)
	}
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("read body: %w", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func mustSend(t *testing.T, method, target string, header map[string]string, body string) response {
	t.Helper()
	r, err := send(t.Context(), method, target, header, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fetchToken asks for a token exactly as golang.org/x/oauth2/clientcredentials does.
func fetchToken(ctx context.Context, base, id, secret string) (string, error) {
	r, err := send(ctx, http.MethodPost, base+"/oauth/token",
		map[string]string{"Authorization": oauth2Basic(id, secret), "Content-Type": formType},
		"grant_type=client_credentials")
	if err != nil {
		return "", err
	}
	if r.status != http.StatusOK {
		return "", fmt.Errorf("token: status %d: %s", r.status, r.body)
	}
	var tok sim.TokenResponse
	if err := json.Unmarshal(r.body, &tok); err != nil {
		return "", fmt.Errorf("token body: %w", err)
	}
	return tok.AccessToken, nil
}

func mustToken(t *testing.T, s *sim.Server, base string) string {
	t.Helper()
	tok, err := fetchToken(t.Context(), base, s.ClientID(), s.ClientSecret())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func getUser(ctx context.Context, base, token, id string) (response, error) {
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return send(ctx, http.MethodGet, base+"/api/v2/users/"+id, h, "")
}

func mustGetUser(t *testing.T, base, token, id string) response {
	t.Helper()
	r, err := getUser(t.Context(), base, token, id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantAPIError checks a platform API error answer.
func wantAPIError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	for _, field := range []string{"message", "code", "status", "messageParams", "contextId", "details", "errors"} {
		if _, ok := raw[field]; !ok {
			t.Errorf("error body %s lacks %q", r.body, field)
		}
	}
	var e sim.ErrorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if e.Code != code || e.Status != status || e.Message == "" {
		t.Errorf("error body = %+v, want code %q status %d and a message", e, code, status)
	}
	if id := r.header.Get("ININ-Correlation-Id"); id == "" || e.ContextID != id {
		t.Errorf("contextId %q, ININ-Correlation-Id %q: want equal and set", e.ContextID, id)
	}
}

// clock is a settable Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	const id, secret = "6f0c1a52-3c1e-4c8e-9d55-0d4f3a7b9e21", "s3+cr/t=%&x y"
	_, base := start(t, sim.Options{ClientID: id, ClientSecret: secret})

	tests := map[string]struct {
		auth, contentType, body string
		wantStatus              int
		wantError, wantDesc     string
	}{
		"x/oauth2 header": {
			auth: oauth2Basic(id, secret), contentType: formType,
			body: "grant_type=client_credentials", wantStatus: 200,
		},
		"x/oauth2 header with scope": {
			auth: oauth2Basic(id, secret), contentType: formType,
			body: "grant_type=client_credentials&scope=users%3Aread+analytics", wantStatus: 200,
		},
		"content type with charset": {
			auth: oauth2Basic(id, secret), contentType: formType + "; charset=utf-8",
			body: "grant_type=client_credentials", wantStatus: 200,
		},
		"genesys sdk raw header": {
			auth: rawBasic(id, secret), contentType: formType,
			body: "grant_type=client_credentials", wantStatus: 200,
		},
		"form credentials": {
			contentType: formType, wantStatus: 200,
			body: url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode(),
		},
		"header wins over form": {
			auth: oauth2Basic(id, "wrong"), contentType: formType, wantStatus: 401,
			body:      url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode(),
			wantError: "invalid_client", wantDesc: "authentication failed",
		},
		"wrong secret": {
			auth: oauth2Basic(id, "not-the-secret"), contentType: formType, body: "grant_type=client_credentials",
			wantStatus: 401, wantError: "invalid_client", wantDesc: "authentication failed",
		},
		"empty secret": {
			auth: oauth2Basic(id, ""), contentType: formType, body: "grant_type=client_credentials",
			wantStatus: 401, wantError: "invalid_client", wantDesc: "authentication failed",
		},
		"unknown client": {
			auth: oauth2Basic("someone-else", secret), contentType: formType, body: "grant_type=client_credentials",
			wantStatus: 401, wantError: "invalid_client", wantDesc: "client not found",
		},
		"no credentials": {
			contentType: formType, body: "grant_type=client_credentials",
			wantStatus: 401, wantError: "invalid_client", wantDesc: "client authentication required",
		},
		"bearer instead of basic": {
			auth: "Bearer abc", contentType: formType, body: "grant_type=client_credentials",
			wantStatus: 401, wantError: "invalid_client", wantDesc: "client authentication required",
		},
		"unsupported grant": {
			auth: oauth2Basic(id, secret), contentType: formType, body: "grant_type=password&username=a&password=b",
			wantStatus: 400, wantError: "unsupported_grant_type", wantDesc: `unsupported grant_type "password"`,
		},
		"missing grant": {
			auth: oauth2Basic(id, secret), contentType: formType, body: "",
			wantStatus: 400, wantError: "invalid_request", wantDesc: "missing grant_type",
		},
		"json body": {
			auth: oauth2Basic(id, secret), contentType: "application/json", body: `{"grant_type":"client_credentials"}`,
			wantStatus: 400, wantError: "invalid_request", wantDesc: "Content-Type must be application/x-www-form-urlencoded",
		},
		"no content type": {
			auth: oauth2Basic(id, secret), body: "grant_type=client_credentials",
			wantStatus: 400, wantError: "invalid_request", wantDesc: "Content-Type must be application/x-www-form-urlencoded",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := mustSend(t, http.MethodPost, base+"/oauth/token",
				map[string]string{"Authorization": tc.auth, "Content-Type": tc.contentType}, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.status, tc.wantStatus, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			if tc.wantStatus == http.StatusOK {
				var tok sim.TokenResponse
				if err := json.Unmarshal(r.body, &tok); err != nil {
					t.Fatal(err)
				}
				if len(tok.AccessToken) < 32 || tok.TokenType != "bearer" || tok.ExpiresIn != 86400 {
					t.Errorf("token = %+v, want a long opaque bearer token for 86400 s", tok)
				}
				return
			}
			var e sim.TokenError
			if err := json.Unmarshal(r.body, &e); err != nil {
				t.Fatal(err)
			}
			want := sim.TokenError{Error: tc.wantError, Description: tc.wantDesc, ErrorDescription: tc.wantDesc}
			if e != want {
				t.Errorf("error = %+v, want %+v", e, want)
			}
		})
	}

	t.Run("GET is not allowed", func(t *testing.T) {
		t.Parallel()
		if r := mustSend(t, http.MethodGet, base+"/oauth/token", nil, ""); r.status != http.StatusMethodNotAllowed {
			t.Errorf("status = %d, want 405", r.status)
		}
	})
}

func TestTokensAreUnique(t *testing.T) {
	t.Parallel()
	s, base := start(t, sim.Options{})
	a, b := mustToken(t, s, base), mustToken(t, s, base)
	if a == b {
		t.Errorf("two grants returned the same token %q", a)
	}
	for _, tok := range []string{a, b} {
		if r := mustGetUser(t, base, tok, sim.AgentUserID); r.status != http.StatusOK {
			t.Errorf("token %q: status %d", tok, r.status)
		}
	}
}

func TestTokenTTL(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		ttl  time.Duration
		want int
	}{
		"zero is Genesys's default": {0, 86400},
		"one hour":                  {time.Hour, 3600},
		"below the minimum":         {time.Second, 300},
		"above the maximum":         {100 * time.Hour, 172800},
		"fractional seconds":        {10*time.Minute + 500*time.Millisecond, 600},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, base := start(t, sim.Options{TokenTTL: tc.ttl})
			r := mustSend(t, http.MethodPost, base+"/oauth/token",
				map[string]string{"Authorization": oauth2Basic(s.ClientID(), s.ClientSecret()), "Content-Type": formType},
				"grant_type=client_credentials")
			var tok sim.TokenResponse
			if err := json.Unmarshal(r.body, &tok); err != nil {
				t.Fatal(err)
			}
			if tok.ExpiresIn != tc.want {
				t.Errorf("expires_in = %d, want %d", tok.ExpiresIn, tc.want)
			}
		})
	}
}

func TestDefaultCredentials(t *testing.T) {
	t.Parallel()
	s := sim.New(sim.Options{})
	if s.ClientID() != sim.DefaultClientID || s.ClientSecret() != sim.DefaultClientSecret {
		t.Errorf("credentials = %q/%q, want the defaults", s.ClientID(), s.ClientSecret())
	}
}

func TestGetUser(t *testing.T) {
	t.Parallel()
	s, base := start(t, sim.Options{})
	tok := mustToken(t, s, base)

	tests := map[string]struct {
		header     map[string]string
		path       string
		wantStatus int
		wantCode   string // for errors
		wantName   string // for users
	}{
		"agent":                  {path: "/api/v2/users/" + sim.AgentUserID, wantStatus: 200, wantName: "Aoife Byrne"},
		"supervisor":             {path: "/api/v2/users/" + sim.SupervisorUserID, wantStatus: 200, wantName: "Marcus Okafor"},
		"admin":                  {path: "/api/v2/users/" + sim.AdminUserID, wantStatus: 200, wantName: "Priya Raman"},
		"inactive user is found": {path: "/api/v2/users/" + sim.InactiveUserID, wantStatus: 200, wantName: "Tomás Herrera"},
		"expand is ignored": {
			path: "/api/v2/users/" + sim.AgentUserID + "?expand=presence,routingStatus", wantStatus: 200, wantName: "Aoife Byrne",
		},
		"lower-case scheme": {
			header: map[string]string{"Authorization": "bearer " + tok},
			path:   "/api/v2/users/" + sim.AgentUserID, wantStatus: 200, wantName: "Aoife Byrne",
		},
		"unknown user": {path: "/api/v2/users/00000000-0000-4000-8000-000000000000", wantStatus: 404, wantCode: "not.found"},
		"not a uuid":   {path: "/api/v2/users/me", wantStatus: 404, wantCode: "not.found"},
		"unknown path": {path: "/api/v2/routing/queues", wantStatus: 404, wantCode: "not.found"},
		"no token": {
			header: map[string]string{"Authorization": ""},
			path:   "/api/v2/users/" + sim.AgentUserID, wantStatus: 401, wantCode: "authentication.required",
		},
		"basic auth": {
			header: map[string]string{"Authorization": rawBasic(s.ClientID(), s.ClientSecret())},
			path:   "/api/v2/users/" + sim.AgentUserID, wantStatus: 401, wantCode: "authentication.required",
		},
		"unknown token": {
			header: map[string]string{"Authorization": "Bearer not-a-token"},
			path:   "/api/v2/users/" + sim.AgentUserID, wantStatus: 401, wantCode: "bad.credentials",
		},
		"no token on unknown path": {
			header: map[string]string{"Authorization": ""},
			path:   "/api/v2/routing/queues", wantStatus: 401, wantCode: "authentication.required",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			header := map[string]string{"Authorization": "Bearer " + tok}
			for k, v := range tc.header {
				header[k] = v
			}
			r := mustSend(t, http.MethodGet, base+tc.path, header, "")
			if tc.wantCode != "" {
				wantAPIError(t, r, tc.wantStatus, tc.wantCode)
				return
			}
			if r.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.status, tc.wantStatus, r.body)
			}
			var u sim.User
			if err := json.Unmarshal(r.body, &u); err != nil {
				t.Fatal(err)
			}
			if u.Name != tc.wantName || !strings.Contains(tc.path, u.ID) {
				t.Errorf("user = %q (%s), want %q from %s", u.Name, u.ID, tc.wantName, tc.path)
			}
			if u.SelfURI != "/api/v2/users/"+u.ID || u.Division.ID != sim.HomeDivisionID || u.Chat.JabberID == "" {
				t.Errorf("user %+v lacks its selfUri, division or chat", u)
			}
		})
	}
}

// TestUserShape pins the JSON of a seeded user to a golden file; go test
// -update rewrites it.
func TestUserShape(t *testing.T) {
	t.Parallel()
	s, base := start(t, sim.Options{})
	r := mustGetUser(t, base, mustToken(t, s, base), sim.AgentUserID)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d; body %s", r.status, r.body)
	}
	var got bytes.Buffer
	if err := json.Indent(&got, r.body, "", "  "); err != nil {
		t.Fatal(err)
	}
	got.WriteByte('\n')
	golden.Check(t, filepath.Join("testdata", "agent-user.golden.json"), got.Bytes())
}

func TestCustomUsers(t *testing.T) {
	t.Parallel()
	const id = "2b9f3c1e-8a7d-4e6f-b5c4-1d2e3f4a5b6c"
	s, base := start(t, sim.Options{Users: []sim.User{{ID: id, Name: "Only One", State: "active"}}})
	tok := mustToken(t, s, base)
	r := mustGetUser(t, base, tok, id)
	var raw map[string]any
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["selfUri"] != "/api/v2/users/"+id || raw["addresses"] == nil || raw["primaryContactInfo"] == nil {
		t.Errorf("user = %s: want selfUri filled in and empty lists, not null", r.body)
	}
	wantAPIError(t, mustGetUser(t, base, tok, sim.AgentUserID), 404, "not.found")
}

func TestCorrelationID(t *testing.T) {
	t.Parallel()
	_, base := start(t, sim.Options{})
	const id = "3f1d6a0e-3c44-4f0e-9b1a-7f6e5d4c3b2a"
	r := mustSend(t, http.MethodGet, base+"/api/v2/users/"+sim.AgentUserID, map[string]string{"ININ-Correlation-Id": id}, "")
	wantAPIError(t, r, 401, "authentication.required")
	if got := r.header.Get("ININ-Correlation-Id"); got != id {
		t.Errorf("ININ-Correlation-Id = %q, want the request's %q", got, id)
	}
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	c := newClock()
	s, base := start(t, sim.Options{TokenTTL: time.Hour, Now: c.Now})
	tok := mustToken(t, s, base)

	c.Advance(time.Hour - time.Second)
	if r := mustGetUser(t, base, tok, sim.AgentUserID); r.status != http.StatusOK {
		t.Fatalf("a second before expiry: status %d", r.status)
	}
	if n := s.Stats().ActiveTokens; n != 1 {
		t.Errorf("ActiveTokens = %d before expiry, want 1", n)
	}
	c.Advance(time.Second)
	wantAPIError(t, mustGetUser(t, base, tok, sim.AgentUserID), 401, "bad.credentials")
	if n := s.Stats().ActiveTokens; n != 0 {
		t.Errorf("ActiveTokens = %d after expiry, want 0", n)
	}
	if r := mustGetUser(t, base, mustToken(t, s, base), sim.AgentUserID); r.status != http.StatusOK {
		t.Errorf("fresh token: status %d", r.status)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	s, base := start(t, sim.Options{})
	old := mustToken(t, s, base)
	mustToken(t, s, base)

	r := mustSend(t, http.MethodPost, base+"/sim/tokens/revoke", nil, "")
	if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"revoked":2}` {
		t.Fatalf("revoke = %d %s, want 200 {\"revoked\":2}", r.status, r.body)
	}
	wantAPIError(t, mustGetUser(t, base, old, sim.AgentUserID), 401, "bad.credentials")
	if r := mustGetUser(t, base, mustToken(t, s, base), sim.AgentUserID); r.status != http.StatusOK {
		t.Errorf("token issued after the revocation: status %d", r.status)
	}
	if n := s.RevokeTokens(); n != 1 {
		t.Errorf("RevokeTokens() = %d, want 1", n)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	c := newClock()
	s, base := start(t, sim.Options{TokenRateLimit: 3, Now: c.Now})
	tok, other := mustToken(t, s, base), mustToken(t, s, base)

	for i := range 3 {
		if r := mustGetUser(t, base, tok, sim.AgentUserID); r.status != http.StatusOK {
			t.Fatalf("request %d: status %d", i+1, r.status)
		}
	}
	c.Advance(20 * time.Second)
	r := mustGetUser(t, base, tok, sim.AgentUserID)
	wantAPIError(t, r, 429, "too.many.requests")
	if ra := r.header.Get("Retry-After"); ra != "40" {
		t.Errorf("Retry-After = %q, want 40", ra)
	}
	if r := mustGetUser(t, base, other, sim.AgentUserID); r.status != http.StatusOK {
		t.Errorf("another token: status %d, want 200: the limit is per token", r.status)
	}
	c.Advance(40 * time.Second)
	if r := mustGetUser(t, base, tok, sim.AgentUserID); r.status != http.StatusOK {
		t.Errorf("next minute: status %d", r.status)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	httpDate := "Wed, 21 Oct 2026 07:28:00 GMT"
	type step struct {
		token      bool // a token request instead of a user request
		wantStatus int
		wantRetry  string
	}
	tests := map[string]struct {
		faults []string
		steps  []step
	}{
		"429 twice then normal": {
			faults: []string{`{"path":"/api/v2/users","status":429,"retryAfter":"1","count":2}`},
			steps:  []step{{wantStatus: 429, wantRetry: "1"}, {wantStatus: 429, wantRetry: "1"}, {wantStatus: 200}},
		},
		"retry-after as an HTTP date": {
			faults: []string{`{"path":"/api/v2/users","status":503,"retryAfter":"` + httpDate + `"}`},
			steps:  []step{{wantStatus: 503, wantRetry: httpDate}, {wantStatus: 200}},
		},
		"503 forever": {
			faults: []string{`{"status":503,"count":-1}`},
			steps:  []step{{wantStatus: 503}, {wantStatus: 503}, {token: true, wantStatus: 503}, {wantStatus: 503}},
		},
		"token endpoint 500 once": {
			faults: []string{`{"path":"/oauth/token","status":500,"count":1}`},
			steps:  []step{{wantStatus: 200}, {token: true, wantStatus: 500}, {token: true, wantStatus: 200}},
		},
		"token endpoint 429": {
			faults: []string{`{"path":"/oauth/token","status":429,"retryAfter":"3"}`},
			steps:  []step{{token: true, wantStatus: 429, wantRetry: "3"}, {token: true, wantStatus: 200}},
		},
		"in order": {
			faults: []string{`{"status":503}`, `{"status":429,"count":2}`, `{"status":500}`},
			steps:  []step{{wantStatus: 503}, {wantStatus: 429}, {wantStatus: 429}, {wantStatus: 500}, {wantStatus: 200}},
		},
		"path below": {
			faults: []string{`{"path":"/api/v2/users/","status":502}`},
			steps:  []step{{token: true, wantStatus: 200}, {wantStatus: 502}, {wantStatus: 200}},
		},
		"other path untouched": {
			faults: []string{`{"path":"/api/v2/routing","status":500,"count":-1}`, `{"path":"/api/v2/user","status":500,"count":-1}`},
			steps:  []step{{wantStatus: 200}, {token: true, wantStatus: 200}},
		},
		"injected 401": {
			faults: []string{`{"path":"/api/v2/users","status":401}`},
			steps:  []step{{wantStatus: 401}, {wantStatus: 200}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, base := start(t, sim.Options{})
			tok := mustToken(t, s, base)
			for _, f := range tc.faults {
				if r := mustSend(t, http.MethodPost, base+"/sim/faults", nil, f); r.status != http.StatusCreated {
					t.Fatalf("POST /sim/faults %s = %d %s", f, r.status, r.body)
				}
			}
			for i, st := range tc.steps {
				var r response
				if st.token {
					r = mustSend(t, http.MethodPost, base+"/oauth/token",
						map[string]string{"Authorization": oauth2Basic(s.ClientID(), s.ClientSecret()), "Content-Type": formType},
						"grant_type=client_credentials")
				} else {
					r = mustGetUser(t, base, tok, sim.AgentUserID)
				}
				if r.status != st.wantStatus {
					t.Fatalf("step %d: status = %d, want %d; body %s", i, r.status, st.wantStatus, r.body)
				}
				if got := r.header.Get("Retry-After"); got != st.wantRetry {
					t.Errorf("step %d: Retry-After = %q, want %q", i, got, st.wantRetry)
				}
				switch {
				case r.status == http.StatusOK:
				case st.token:
					var e sim.TokenError
					if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" || e.Description == "" || e.ErrorDescription != e.Description {
						t.Errorf("step %d: token error body %s (%v)", i, r.body, err)
					}
				default:
					code := map[int]string{401: "bad.credentials", 429: "too.many.requests", 500: "internal.server.error",
						502: "bad.gateway", 503: "service.unavailable"}[st.wantStatus]
					wantAPIError(t, r, st.wantStatus, code)
				}
			}
		})
	}
}

func TestFaultListAndClear(t *testing.T) {
	t.Parallel()
	s, base := start(t, sim.Options{})
	tok := mustToken(t, s, base)
	r := mustSend(t, http.MethodPost, base+"/sim/faults", nil, `{"path":"/api/v2/users","status":503,"count":3,"latency":"1ms"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("POST = %d %s", r.status, r.body)
	}
	mustGetUser(t, base, tok, sim.AgentUserID)

	r = mustSend(t, http.MethodGet, base+"/sim/faults", nil, "")
	want := `{"faults":[{"path":"/api/v2/users","status":503,"latency":"1ms","count":2}]}`
	if got := strings.TrimSpace(string(r.body)); got != want {
		t.Errorf("GET /sim/faults = %s, want %s", got, want)
	}

	if r := mustSend(t, http.MethodDelete, base+"/sim/faults", nil, ""); r.status != http.StatusNoContent {
		t.Errorf("DELETE = %d", r.status)
	}
	if f := s.Faults(); len(f) != 0 {
		t.Errorf("Faults() = %v after DELETE, want none", f)
	}
	if r := mustGetUser(t, base, tok, sim.AgentUserID); r.status != http.StatusOK {
		t.Errorf("after DELETE: status %d", r.status)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	s, base := start(t, sim.Options{})
	tok := mustToken(t, s, base)
	if err := s.AddFault(sim.Fault{Path: "/api/v2/users", Latency: 150 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	r := mustGetUser(t, base, tok, sim.AgentUserID)
	if elapsed := time.Since(began); elapsed < 150*time.Millisecond {
		t.Errorf("answered after %s, want at least 150ms", elapsed)
	}
	if r.status != http.StatusOK {
		t.Errorf("status %d, want 200: latency alone does not fail the request", r.status)
	}
}

func TestLatencyWithStatus(t *testing.T) {
	t.Parallel()
	s, base := start(t, sim.Options{})
	tok := mustToken(t, s, base)
	if err := s.AddFault(sim.Fault{Status: 504, Latency: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	r := mustGetUser(t, base, tok, sim.AgentUserID)
	if elapsed := time.Since(began); elapsed < 50*time.Millisecond {
		t.Errorf("answered after %s, want at least 50ms", elapsed)
	}
	wantAPIError(t, r, 504, "request.timeout")
}

func TestLatencyHonoursCancellation(t *testing.T) {
	t.Parallel()
	s, base := start(t, sim.Options{})
	tok := mustToken(t, s, base)
	if err := s.AddFault(sim.Fault{Latency: time.Hour}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := getUser(ctx, base, tok, sim.AgentUserID); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	// The server notices the closed connection shortly after the client.
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Cancelled != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("Stats = %+v: the held request was never cancelled", s.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.Stats(); st.APIByStatus[200] != 0 || st.FaultsApplied != 1 {
		t.Errorf("Stats = %+v, want no answer and one fault applied", st)
	}
}

func TestAdminValidation(t *testing.T) {
	t.Parallel()
	_, base := start(t, sim.Options{})
	tests := map[string]struct {
		body    string
		wantErr string // "" means accepted; each line must appear in the message
	}{
		"status":            {`{"status":503}`, ""},
		"latency":           {`{"latency":"300ms"}`, ""},
		"everything":        {`{"path":"/oauth/token","status":429,"retryAfter":"Wed, 21 Oct 2026 07:28:00 GMT","latency":"1s","count":-1}`, ""},
		"empty body":        {``, "empty body"},
		"bad JSON":          {`{"status":`, "bad JSON body"},
		"not an object":     {`[{"status":503}]`, "cannot unmarshal array"},
		"unknown field":     {`{"status":503,"retry_after":"1"}`, `unknown field "retry_after"`},
		"two values":        {`{"status":503} {"status":500}`, "more than one JSON value"},
		"latency as number": {`{"latency":300}`, "cannot unmarshal number"},
		"bad latency":       {`{"latency":"soon"}`, `invalid duration "soon"`},
		"negative latency":  {`{"latency":"-1s"}`, "latency -1s is negative"},
		"nothing to do":     {`{"path":"/api/v2/users","count":2}`, "needs a status, a latency or both"},
		"success status":    {`{"status":200}`, "status 200 is not an error status"},
		"huge status":       {`{"status":700}`, "status 700 is not an error status"},
		"bad retry-after":   {`{"status":429,"retryAfter":"soon"}`, `retryAfter "soon" is neither`},
		"negative seconds":  {`{"status":429,"retryAfter":"-1"}`, `retryAfter "-1" is neither`},
		"retry-after alone": {`{"latency":"1s","retryAfter":"1"}`, "retryAfter needs a status"},
		"relative path":     {`{"path":"api/v2/users","status":500}`, "must start with /"},
		"admin path":        {`{"path":"/sim/stats","status":500}`, "faults do not apply to the admin API"},
		"count too small":   {`{"status":500,"count":-2}`, "count -2"},
		"two problems":      {`{"status":200,"count":-5}`, "status 200 is not an error status\ncount -5"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := mustSend(t, http.MethodPost, base+"/sim/faults", map[string]string{"Content-Type": "application/json"}, tc.body)
			if tc.wantErr == "" {
				if r.status != http.StatusCreated {
					t.Errorf("status = %d %s, want 201", r.status, r.body)
				}
				return
			}
			var e sim.AdminError
			if err := json.Unmarshal(r.body, &e); err != nil {
				t.Fatalf("body %s: %v", r.body, err)
			}
			if r.status != http.StatusBadRequest || e.Status != http.StatusBadRequest {
				t.Errorf("= %d %+v, want 400", r.status, e)
			}
			for _, want := range strings.Split(tc.wantErr, "\n") {
				if !strings.Contains(e.Message, want) {
					t.Errorf("message %q lacks %q", e.Message, want)
				}
			}
		})
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	s, base := start(t, sim.Options{})
	tok := mustToken(t, s, base)
	mustSend(t, http.MethodPost, base+"/oauth/token", map[string]string{"Authorization": oauth2Basic(s.ClientID(), "wrong"), "Content-Type": formType}, "grant_type=client_credentials")
	mustGetUser(t, base, tok, sim.AgentUserID)
	mustGetUser(t, base, tok, sim.AgentUserID)
	mustGetUser(t, base, "", sim.AgentUserID)
	mustGetUser(t, base, tok, "missing")
	if err := s.AddFault(sim.Fault{Status: 503}); err != nil {
		t.Fatal(err)
	}
	mustGetUser(t, base, tok, sim.AgentUserID)

	want := sim.Stats{
		TokenRequests: 2, TokensIssued: 1, ActiveTokens: 1, APIRequests: 5,
		APIByStatus:   map[int]int64{200: 2, 401: 1, 404: 1, 503: 1},
		FaultsApplied: 1,
	}
	if got := s.Stats(); !reflect.DeepEqual(got, want) {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	r := mustSend(t, http.MethodGet, base+"/sim/stats", nil, "")
	var got sim.Stats
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GET /sim/stats = %s, want %+v", r.body, want)
	}

	if r := mustSend(t, http.MethodPost, base+"/sim/reset", nil, ""); r.status != http.StatusNoContent {
		t.Fatalf("reset = %d", r.status)
	}
	if got := s.Stats(); !reflect.DeepEqual(got, sim.Stats{APIByStatus: map[int]int64{}}) {
		t.Errorf("Stats() after reset = %+v, want zero", got)
	}
	wantAPIError(t, mustGetUser(t, base, tok, sim.AgentUserID), 401, "bad.credentials")
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s, base := start(t, sim.Options{})
	const workers, calls = 8, 25
	errs := make(chan error, workers*(calls+1))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			tok, err := fetchToken(t.Context(), base, s.ClientID(), s.ClientSecret())
			if err != nil {
				errs <- err
				return
			}
			for range calls {
				r, err := getUser(t.Context(), base, tok, sim.SupervisorUserID)
				if err == nil && r.status != http.StatusOK {
					err = fmt.Errorf("status %d: %s", r.status, r.body)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	// Admin traffic alongside: latency-only faults do not change answers.
	wg.Go(func() {
		for range calls {
			if err := s.AddFault(sim.Fault{Latency: time.Millisecond, Count: 2}); err != nil {
				errs <- err
			}
			_ = s.Stats()
			_ = s.Faults()
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	st := s.Stats()
	if st.TokenRequests != workers || st.TokensIssued != workers || st.ActiveTokens != workers {
		t.Errorf("token stats = %+v, want %d of each", st, workers)
	}
	if st.APIRequests != workers*calls || st.APIByStatus[200] != workers*calls {
		t.Errorf("API stats = %+v, want %d requests, all 200", st, workers*calls)
	}
}
