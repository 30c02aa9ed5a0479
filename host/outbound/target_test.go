package outbound

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/config"
)

func crmConnection(t testing.TB) *Connection {
	t.Helper()
	base, _ := url.Parse("https://crm.example.com/api/v2")
	cfg := config.NewConnection("crm", base)
	cfg.AllowedHosts = []string{"files.example.com"}
	cfg.APIKey = &config.ConnectionAPIKey{Header: "X-Api-Key", Value: "k-secret-1234567890"}
	return NewConnection(cfg, Options{})
}

// TestResolveKeepsTheCredentialUnderBaseURL: with base_url
// https://crm.example.com/api/v2, every way out of its path is refused, and
// the credential goes under it only.
func TestResolveKeepsTheCredentialUnderBaseURL(t *testing.T) {
	t.Parallel()
	c := crmConnection(t)
	ok := map[string]struct {
		want string
		cred bool
	}{
		"/contacts?q=a%2Fb":                    {"https://crm.example.com/api/v2/contacts?q=a%2Fb", true},
		"contacts/7":                           {"https://crm.example.com/api/v2/contacts/7", true},
		"users/../groups":                      {"https://crm.example.com/api/v2/groups", true},
		"./users/%2e/x":                        {"https://crm.example.com/api/v2/users/x", true},
		"":                                     {"https://crm.example.com/api/v2/", true},
		"https://crm.example.com/api/v2/x":     {"https://crm.example.com/api/v2/x", true},
		"https://CRM.example.com:443/api/v2/x": {"https://CRM.example.com:443/api/v2/x", true},
		"https://files.example.com/a/../b#f":   {"https://files.example.com/b", false},
		"https://files.example.com/api/v2/x":   {"https://files.example.com/api/v2/x", false},
	}
	for in, want := range ok {
		got, err := c.Resolve(in)
		if err != nil || got.URL.String() != want.want || got.Credential != want.cred {
			t.Errorf("Resolve(%q) = %v, %v, %v; want %s, credential %v", in, got.URL, got.Credential, err, want.want, want.cred)
		}
	}
	refused := map[string]string{
		"../../admin":                         "outside the connection's base_url path",
		"/../../admin":                        "outside",
		"%2e%2e/%2e%2e/admin":                 "outside",
		"%2E%2E/admin":                        "outside",
		"users/../../../admin":                "outside",
		"https://crm.example.com/admin":       "outside",
		"https://crm.example.com/api/v20":     "outside",
		"https://crm.example.com/api/v2/../x": "outside",
		"/users/a%2Fb":                        "encoded slashes",
		"/users/..%2F..%2Fadmin":              "encoded slashes",
		`/users\..\admin`:                     "backslash",
		"/users/%5c":                          "backslash",
		"http://crm.example.com/api/v2/x":     "scheme",
		"https://evil.example.com/":           "not the connection's host",
		"//evil.example.com/api/v2":           "scheme",
		"ftp://crm.example.com/api/v2/":       "scheme",
		"https://u:p@crm.example.com/api/v2/": "user info",
	}
	for in, want := range refused {
		got, err := c.Resolve(in)
		if err == nil {
			t.Errorf("Resolve(%q) = %v, want refused", in, got.URL)
		} else if !strings.Contains(err.Error(), want) {
			t.Errorf("Resolve(%q): %v, want it to mention %q", in, err, want)
		}
	}
}

// twoHosts is a base_url server and an allowed host on another name, both
// plain http on loopback, recording what they receive.
type twoHosts struct {
	base, other *httptest.Server
	got         chan *http.Request
}

func newTwoHosts(t *testing.T, redirect func(w http.ResponseWriter, r *http.Request, other string)) *twoHosts {
	t.Helper()
	h := &twoHosts{got: make(chan *http.Request, 16)}
	h.other = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h.got <- r
		io.WriteString(w, "other:"+string(body))
	}))
	t.Cleanup(h.other.Close)
	_, port, _ := net.SplitHostPort(h.other.Listener.Addr().String())
	otherURL := "http://localhost:" + port // another host name than the base's 127.0.0.1
	h.base = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/final") {
			h.got <- r
			io.WriteString(w, "base")
			return
		}
		redirect(w, r, otherURL)
	}))
	t.Cleanup(h.base.Close)
	return h
}

func (h *twoHosts) connection(t *testing.T, mutate func(*config.Connection)) *Connection {
	t.Helper()
	base, _ := url.Parse(h.base.URL + "/api")
	cfg := config.NewConnection("crm", base)
	u, _ := url.Parse(h.other.URL)
	_, port, _ := net.SplitHostPort(u.Host)
	cfg.AllowedHosts = []string{"localhost:" + port}
	cfg.Retry.MaxAttempts = 1
	if mutate != nil {
		mutate(cfg)
	}
	return NewConnection(cfg, Options{})
}

// TestRedirectsPassTheChecksOfADirectCall: the credential (an API key, or
// Basic in Authorization) is removed on every hop that is not under
// base_url, no Referer is sent, every hop is reported, and a redirect the
// connection would refuse as a direct call is not followed.
func TestRedirectsPassTheChecksOfADirectCall(t *testing.T) {
	t.Parallel()
	credentials := map[string]func(*config.Connection){
		"api key": func(c *config.Connection) {
			c.APIKey = &config.ConnectionAPIKey{Header: "X-Api-Key", Value: "key-secret-0123456789"}
		},
		"basic": func(c *config.Connection) { c.Basic = &config.Basic{Username: "u", Password: "pw-secret-0123456789"} },
	}
	for name, cred := range credentials {
		t.Run(name+": to an allowed host", func(t *testing.T) {
			t.Parallel()
			h := newTwoHosts(t, func(w http.ResponseWriter, r *http.Request, other string) {
				http.Redirect(w, r, other+"/landing", http.StatusFound)
			})
			resp, err := h.connection(t, cred).Do(ctxWithin(t, 5*time.Second), &Call{Method: "GET", URL: "/start"})
			if err != nil || resp.Status != 200 || string(resp.Body) != "other:" {
				t.Fatalf("%v %+v", err, resp)
			}
			r := <-h.got
			for _, k := range []string{"X-Api-Key", "Authorization", "Referer"} {
				if v := r.Header.Get(k); v != "" {
					t.Errorf("the allowed host got %s: %q", k, v)
				}
			}
			if len(resp.Redirects) != 1 || resp.Redirects[0].Status != 302 || resp.Redirects[0].URL.Path != "/landing" || resp.Redirects[0].Credential {
				t.Errorf("redirects: %+v", resp.Redirects)
			}
		})
	}
	t.Run("under base_url the credential goes along", func(t *testing.T) {
		t.Parallel()
		h := newTwoHosts(t, func(w http.ResponseWriter, r *http.Request, other string) {
			http.Redirect(w, r, "/api/final", http.StatusTemporaryRedirect)
		})
		resp, err := h.connection(t, credentials["api key"]).Do(ctxWithin(t, 5*time.Second), &Call{Method: "POST", URL: "/start", Body: []byte("b")})
		if err != nil || resp.Status != 200 || string(resp.Body) != "base" {
			t.Fatalf("%v %+v", err, resp)
		}
		if r := <-h.got; r.Header.Get("X-Api-Key") != "key-secret-0123456789" || r.Method != "POST" {
			t.Errorf("the base host got %s without its key: %v", r.Method, r.Header)
		}
	})
	refused := map[string]string{
		"outside base_url's path":       "/elsewhere",
		"to a host that is not allowed": "http://evil.example.com/x",
		"to non-loopback plain http":    "http://192.0.2.1/x",
		"with user info":                "http://u:p@127.0.0.1/api/x",
	}
	for name, location := range refused {
		t.Run("not followed: "+name, func(t *testing.T) {
			t.Parallel()
			h := newTwoHosts(t, func(w http.ResponseWriter, r *http.Request, other string) {
				w.Header().Set("Location", location)
				w.WriteHeader(http.StatusFound)
			})
			resp, err := h.connection(t, credentials["api key"]).Do(ctxWithin(t, 5*time.Second), &Call{Method: "GET", URL: "/start"})
			if err != nil || resp.Status != 302 || len(resp.Redirects) != 0 {
				t.Fatalf("%v %+v: want the 302 itself", err, resp)
			}
		})
	}
	t.Run("a plugin's own Authorization stays on its origin", func(t *testing.T) {
		t.Parallel()
		h := newTwoHosts(t, func(w http.ResponseWriter, r *http.Request, other string) {
			http.Redirect(w, r, other+"/landing", http.StatusSeeOther)
		})
		resp, err := h.connection(t, nil).Do(ctxWithin(t, 5*time.Second), &Call{Method: "POST", URL: "/start", Body: []byte("body"),
			Header: http.Header{"Authorization": {"Bearer plugin-token"}, "Cookie": {"c=1"}}})
		if err != nil || resp.Status != 200 {
			t.Fatalf("%v %+v", err, resp)
		}
		r := <-h.got
		if r.Method != "GET" || r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
			t.Errorf("303 to another origin: %s %v", r.Method, r.Header)
		}
		if string(resp.Body) != "other:" {
			t.Errorf("a 303 kept the body: %q", resp.Body)
		}
	})
}

func TestTraceAndConnectAreRefused(t *testing.T) {
	t.Parallel()
	c := crmConnection(t)
	for _, m := range []string{"TRACE", "CONNECT", "trace"} {
		_, err := c.Do(ctxWithin(t, time.Second), &Call{Method: m, URL: "/x"})
		var e *apierr.Error
		if !errors.As(err, &e) || e.Code != "outbound_refused" || !strings.Contains(e.Message, "TRACE") && !strings.Contains(e.Message, "CONNECT") {
			t.Errorf("%s: %v", m, err)
		}
	}
}

func TestResponseHeadersEchoingTheCredentialAreRemoved(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", "you sent "+r.Header.Get("Authorization"))
		w.Header().Set("X-Pass", r.Header.Get("Authorization")[len("Basic "):])
		w.Header().Set("X-Fine", "ok")
	}))
	defer ts.Close()
	base, _ := url.Parse(ts.URL)
	cfg := config.NewConnection("crm", base)
	cfg.Basic = &config.Basic{Username: "u", Password: "pw-secret-0123456789"}
	resp, err := NewConnection(cfg, Options{}).Do(ctxWithin(t, 5*time.Second), &Call{Method: "GET", URL: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Echo") != "" || resp.Header.Get("X-Pass") != "" || resp.Header.Get("X-Fine") != "ok" {
		t.Errorf("headers: %v", resp.Header)
	}
}

// TestOnePluginCannotStarveTheOthers: a plugin holding every call it may
// make on a shared connection waits on its own share; another plugin's call
// goes through at once. A plugin whose calls fail opens its own circuit, not
// the other plugin's.
func TestOnePluginCannotStarveTheOthers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			<-release
		case "/fail":
			w.WriteHeader(500)
		}
	}))
	defer ts.Close()
	defer close(release)
	base, _ := url.Parse(ts.URL)
	cfg := config.NewConnection("shared", base)
	cfg.MaxConcurrency, cfg.MaxConcurrencyPerPlugin = 4, 2
	cfg.Retry.MaxAttempts = 1
	cfg.Circuit = config.Circuit{Failures: 3, OpenFor: time.Minute}
	c := NewConnection(cfg, Options{})

	var held atomic.Int64
	for i := 0; i < 2; i++ {
		go func() {
			held.Add(1)
			c.Do(context.Background(), &Call{Method: "GET", URL: "/slow", Plugin: "greedy"})
		}()
	}
	for held.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // both slow calls are in the server
	_, err := c.Do(ctxWithin(t, 200*time.Millisecond), &Call{Method: "GET", URL: "/", Plugin: "greedy"})
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != "downstream_timeout" {
		t.Errorf("the greedy plugin's third call: %v, want it to wait on its own share until its deadline", err)
	}
	if resp, err := c.Do(ctxWithin(t, 2*time.Second), &Call{Method: "GET", URL: "/", Plugin: "other"}); err != nil || resp.Status != 200 {
		t.Errorf("another plugin's call: %v %+v", err, resp)
	}

	for i := 0; i < 3; i++ {
		c.Do(ctxWithin(t, time.Second), &Call{Method: "GET", URL: "/fail", Plugin: "failing"})
	}
	if _, err := c.Do(ctxWithin(t, time.Second), &Call{Method: "GET", URL: "/", Plugin: "failing"}); !errors.As(err, &e) || e.Code != "circuit_open" {
		t.Errorf("the failing plugin after 3 failures: %v, want circuit_open", err)
	}
	if resp, err := c.Do(ctxWithin(t, time.Second), &Call{Method: "GET", URL: "/", Plugin: "other"}); err != nil || resp.Status != 200 {
		t.Errorf("another plugin while the failing one's circuit is open: %v %+v", err, resp)
	}
}

// FuzzResolve: a request that leaves the host either goes under base_url
// with the credential, or to an allowed host without it, or is refused —
// judged as a server would read the URL: percent-decoded, dot segments
// resolved.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"/x", "../../admin", "%2e%2e/admin", "https://crm.example.com/api/v2/a", "https://files.example.com/../x",
		"//evil/x", "/a/%2e%2E/../b?q=%2e%2e", "https://crm.example.com:443/api/v2/../v3", "users/..%2f", "/%252e%252e/x", "http://[::1]/x"} {
		f.Add(s)
	}
	c := crmConnection(f)
	f.Fuzz(func(t *testing.T, raw string) {
		target, err := c.Resolve(raw)
		if err != nil {
			return
		}
		u := target.URL
		if u.User != nil || u.Scheme != "https" {
			t.Fatalf("Resolve(%q) = %v: user info or not https", raw, u)
		}
		// What the server sees: the URL as sent, parsed again, decoded and
		// its dot segments resolved.
		sent, err := url.Parse(u.String())
		if err != nil {
			t.Fatalf("Resolve(%q) = %v, which does not parse: %v", raw, u, err)
		}
		decoded, err := url.PathUnescape(sent.EscapedPath())
		if err != nil {
			t.Fatalf("Resolve(%q) = %v: bad escaping", raw, u)
		}
		seen := (&url.URL{Scheme: "https", Host: "h"}).ResolveReference(&url.URL{Path: decoded}).Path
		host := strings.ToLower(strings.TrimSuffix(sent.Host, ":443"))
		switch {
		case target.Credential:
			if host != "crm.example.com" || !(seen == "/api/v2" || strings.HasPrefix(seen, "/api/v2/")) {
				t.Fatalf("Resolve(%q) = %v with the credential; the server reads %s%s", raw, u, host, seen)
			}
		case host != "files.example.com":
			t.Fatalf("Resolve(%q) = %v without the credential, on host %q: neither base nor allowed", raw, u, host)
		}
	})
}
