package outbound

import (
	"net/url"
	"time"

	"github.com/sony/gobreaker/v2"
)

// View is a connection as the operator console shows it: never a
// credential, never a token.
type View struct {
	Name    string `json:"name"`
	BaseURL string `json:"baseUrl"`
	// Auth is the credential's kind: oauth2, api_key, basic or none.
	Auth string `json:"auth"`
	// Circuit is the worst of the plugins' breakers: open, half_open or
	// closed; Circuits is each plugin's.
	Circuit  string            `json:"circuit"`
	Circuits map[string]string `json:"circuits"`
	// Token is the OAuth token's state; nil for other credentials.
	Token *TokenView `json:"token"`
	// RateLimit is the limit and what is left of its burst; nil without one.
	RateLimit *RateLimitView `json:"rateLimit"`
}

// TokenView is an OAuth token's state: valid, expired, or none fetched yet.
type TokenView struct {
	State            string `json:"state"`
	ExpiresInSeconds int64  `json:"expiresInSeconds"`
}

// RateLimitView is a connection's rate limit and its use.
type RateLimitView struct {
	RequestsPerMinute int `json:"requestsPerMinute"`
	Burst             int `json:"burst"`
	// Available is the turns that can go at once now, Used is Burst less
	// Available: this replica's own limiter, so they mean something only
	// without Redis (Shared false) or while it fails (Local true).
	Available float64 `json:"available"`
	Used      float64 `json:"used"`
	Shared    bool    `json:"shared"` // across replicas (Redis)
	Local     bool    `json:"local"`  // Redis fails: this replica keeps to its share
}

// View returns the connection's state now.
func (c *Connection) View() View {
	v := View{Name: c.name, BaseURL: shownURL(c.base), Auth: "none", Circuit: "closed", Circuits: map[string]string{}}
	switch {
	case c.cfg.OAuth2 != nil:
		v.Auth = "oauth2"
	case c.cfg.APIKey != nil:
		v.Auth = "api_key"
	case c.cfg.Basic != nil:
		v.Auth = "basic"
	}
	rank := map[string]int{"closed": 0, "half_open": 1, "open": 2}
	c.shares.Range(func(k, s any) bool {
		st := "closed"
		switch s.(*share).breaker.State() {
		case gobreaker.StateOpen:
			st = "open"
		case gobreaker.StateHalfOpen:
			st = "half_open"
		}
		v.Circuits[k.(string)] = st
		if rank[st] > rank[v.Circuit] {
			v.Circuit = st
		}
		return true
	})
	if t, ok := c.cred.(*tokenCache); ok {
		t.mu.Lock()
		tok := t.tok
		t.mu.Unlock()
		tv := &TokenView{State: "none"}
		if tok != nil {
			tv.State = "valid"
			if !tok.Expiry.IsZero() {
				tv.ExpiresInSeconds = int64(tok.Expiry.Sub(t.now()) / time.Second)
				if tv.ExpiresInSeconds <= 0 {
					tv.State, tv.ExpiresInSeconds = "expired", 0
				}
			}
		}
		v.Token = tv
	}
	if l := c.limit; l != nil {
		rv := &RateLimitView{RequestsPerMinute: l.limit.RequestsPerMinute, Burst: l.limit.Burst, Shared: l.shared != nil, Local: l.degraded.Load()}
		rv.Available = max(0, l.local.Tokens())
		rv.Used = max(0, float64(l.limit.Burst)-rv.Available)
		v.RateLimit = rv
	}
	return v
}

// shownURL is a base URL without its query and fragment, which may hold a
// key (config refuses user info); "?…" says a query was there.
func shownURL(u *url.URL) string {
	shown := *u
	shown.RawQuery, shown.ForceQuery, shown.Fragment, shown.RawFragment = "", false, "", ""
	if u.RawQuery != "" {
		return shown.String() + "?…"
	}
	return shown.String()
}
