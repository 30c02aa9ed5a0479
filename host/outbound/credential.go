package outbound

import (
	"context"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/config"
)

// credential adds a connection's credential to requests for its base host.
type credential interface {
	// authorize returns the header to send.
	authorize(ctx context.Context) (authorization, error)
	// refreshable reports whether a 401 may be cured by a new credential.
	refreshable() bool
	// invalidate forgets a credential the downstream refused.
	invalidate(authorization)
	// owns reports whether a (canonical) header name carries the credential.
	owns(header string) bool
}

// authorization is one header carrying a credential.
type authorization struct {
	header, value string
	token         *oauth2.Token // the OAuth token behind value, if any
	// secrets are what a response must not echo back to the plugin: the
	// key, token or password, and the header value.
	secrets []string
}

func newCredential(cfg *config.Connection, client *http.Client, obs Observer, now func() time.Time) credential {
	switch {
	case cfg.OAuth2 != nil:
		return newTokenCache(cfg.Name, cfg.OAuth2, client, obs, now)
	case cfg.APIKey != nil:
		return staticCredential{auth: authorization{header: http.CanonicalHeaderKey(cfg.APIKey.Header), value: cfg.APIKey.Value, secrets: []string{cfg.APIKey.Value}}}
	case cfg.Basic != nil:
		b64 := base64.StdEncoding.EncodeToString([]byte(cfg.Basic.Username + ":" + cfg.Basic.Password))
		secrets := []string{b64}
		if len(cfg.Basic.Password) >= 4 {
			secrets = append(secrets, cfg.Basic.Password)
		}
		return staticCredential{auth: authorization{header: "Authorization", value: "Basic " + b64, secrets: secrets}}
	}
	return nil
}

// staticCredential is a fixed header: an API key or Basic credentials.
type staticCredential struct{ auth authorization }

func (s staticCredential) authorize(context.Context) (authorization, error) { return s.auth, nil }
func (s staticCredential) refreshable() bool                                { return false }
func (s staticCredential) invalidate(authorization)                         {}
func (s staticCredential) owns(h string) bool                               { return h == s.auth.header || h == "Authorization" }

// tokenRequestTimeout bounds one token request. Callers stop waiting at their
// own deadline; the request goes on so that the next caller gets the token.
const tokenRequestTimeout = 15 * time.Second

// tokenCache holds one OAuth client-credentials token per connection. It
// refreshes the token ExpiryBuffer before it expires; concurrent callers
// share one refresh.
type tokenCache struct {
	conn   string
	cfg    clientcredentials.Config
	buffer time.Duration
	client *http.Client
	obs    Observer
	now    func() time.Time
	flight singleflight.Group

	mu     sync.Mutex
	tok    *oauth2.Token
	usable time.Time // when tok stops being handed out
}

func newTokenCache(conn string, cfg *config.OAuth2, client *http.Client, obs Observer, now func() time.Time) *tokenCache {
	return &tokenCache{
		conn: conn,
		cfg: clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     cfg.TokenURL,
			Scopes:       cfg.Scopes,
			AuthStyle:    oauth2.AuthStyleInHeader, // HTTP Basic, as Genesys Cloud requires
		},
		buffer: cfg.ExpiryBuffer,
		client: client,
		obs:    obs,
		now:    now,
	}
}

func (t *tokenCache) authorize(ctx context.Context) (authorization, error) {
	tok, err := t.token(ctx)
	if err != nil {
		return authorization{}, err
	}
	return authorization{header: "Authorization", value: "Bearer " + tok.AccessToken, token: tok, secrets: []string{tok.AccessToken}}, nil
}

func (t *tokenCache) refreshable() bool  { return true }
func (t *tokenCache) owns(h string) bool { return h == "Authorization" }

// token returns the cached token, or waits for the one refresh in flight.
func (t *tokenCache) token(ctx context.Context) (*oauth2.Token, error) {
	t.mu.Lock()
	tok, usable := t.tok, t.usable
	t.mu.Unlock()
	if tok != nil && t.now().Before(usable) {
		return tok, nil
	}
	ch := t.flight.DoChan("token", t.refresh)
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*oauth2.Token), nil
	case <-ctx.Done():
		return nil, apierr.Wrap(ctx.Err(), http.StatusGatewayTimeout, "downstream_timeout", "connection %q: no OAuth token within the action's time budget", t.conn)
	}
}

// refresh fetches a new token. It runs once however many callers wait.
func (t *tokenCache) refresh() (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), tokenRequestTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, t.client)
	issued := t.now()
	tok, err := t.cfg.Token(ctx)
	t.obs.TokenRefresh(t.conn, err)
	if err != nil {
		// The error may quote the token endpoint's answer, never the secret.
		return nil, apierr.Wrap(err, http.StatusBadGateway, "token_unavailable", "connection %q: could not get an OAuth token from %s", t.conn, t.cfg.TokenURL)
	}
	usable := issued.Add(24 * time.Hour)
	if !tok.Expiry.IsZero() {
		// Replace the token `buffer` before it expires; for tokens that live
		// less than twice the buffer, halfway through their life. The
		// lifetime is what the token endpoint said (expires_in).
		life := time.Until(tok.Expiry)
		usable = issued.Add(life - min(t.buffer, life/2))
	}
	t.mu.Lock()
	t.tok, t.usable = tok, usable
	t.mu.Unlock()
	return tok, nil
}

// invalidate forgets the token a downstream refused, unless another caller
// already replaced it.
func (t *tokenCache) invalidate(a authorization) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == a.token {
		t.tok = nil
	}
}
