package sim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxFormBytes bounds a token request body.
const maxFormBytes = 64 << 10

// token is the simulator's record of an issued access token.
type token struct {
	expires time.Time
	// window and used implement TokenRateLimit: requests made in the
	// minute that started at window.
	window time.Time
	used   int
}

func (t *token) validAt(now time.Time) bool { return now.Before(t.expires) }

// issueToken serves POST /oauth/token: the client-credentials grant as
// Genesys Cloud's login service answers it.
func (s *Server) issueToken(r *http.Request) reply {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return reply{status: http.StatusBadRequest, body: tokenError("invalid_request",
			"Content-Type must be application/x-www-form-urlencoded")}
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return reply{status: http.StatusBadRequest, body: tokenError("invalid_request",
			fmt.Sprintf("malformed form body: %v", err))}
	}
	if problem := s.authenticateClient(r); problem != "" {
		return reply{status: http.StatusUnauthorized, body: tokenError("invalid_client", problem)}
	}
	switch grant := r.PostForm.Get("grant_type"); grant {
	case "client_credentials":
	case "":
		return reply{status: http.StatusBadRequest, body: tokenError("invalid_request", "missing grant_type")}
	default:
		return reply{status: http.StatusBadRequest, body: tokenError("unsupported_grant_type",
			"unsupported grant_type "+strconv.Quote(grant))}
	}
	// scope is accepted and ignored: a client-credentials token carries the
	// roles of its OAuth client.

	value := newTokenValue()
	s.mu.Lock()
	now := s.now()
	for v, t := range s.tokens {
		if !t.validAt(now) {
			delete(s.tokens, v)
		}
	}
	s.tokens[value] = &token{expires: now.Add(s.ttl)}
	s.stats.TokensIssued++
	s.mu.Unlock()

	return reply{status: http.StatusOK, body: TokenResponse{
		AccessToken: value,
		TokenType:   "bearer",
		ExpiresIn:   int(s.ttl / time.Second),
	}}
}

// authenticateClient checks the client credentials of a token request and
// returns what is wrong with them, in Genesys Cloud's words, or "".
//
// Credentials come from the Basic Authorization header, as Genesys Cloud
// documents, or else from client_id and client_secret form fields, which
// its login service also accepts. In the header, RFC 6749 §2.3.1 has the id
// and secret form-encoded before base64 (golang.org/x/oauth2 does this),
// while Genesys Cloud's own SDKs send them as they are: both are accepted.
func (s *Server) authenticateClient(r *http.Request) string {
	var candidates [][2]string
	if id, secret, ok := r.BasicAuth(); ok {
		candidates = append(candidates, [2]string{id, secret})
		uid, err1 := url.QueryUnescape(id)
		usecret, err2 := url.QueryUnescape(secret)
		if err1 == nil && err2 == nil {
			candidates = append(candidates, [2]string{uid, usecret})
		}
	} else if r.PostForm.Has("client_id") {
		candidates = append(candidates, [2]string{r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")})
	} else {
		return "client authentication required"
	}
	problem := "client not found"
	for _, c := range candidates {
		secret, ok := s.otherClients[c[0]]
		if c[0] == s.clientID {
			secret, ok = s.clientSecret, true
		}
		if !ok {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(c[1]), []byte(secret)) == 1 {
			return ""
		}
		problem = "authentication failed"
	}
	return problem
}

// newTokenValue returns a random, opaque access token.
func newTokenValue() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorized guards a platform API endpoint with the bearer token check.
func (s *Server) authorized(endpoint func(*http.Request) reply) func(*http.Request) reply {
	return func(r *http.Request) reply {
		if rep, ok := s.checkBearer(r); !ok {
			return rep
		}
		return endpoint(r)
	}
}

// checkBearer validates the request's bearer token and applies
// TokenRateLimit to it. It returns the error reply when the request may not
// go on.
func (s *Server) checkBearer(r *http.Request) (reply, bool) {
	scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	value = strings.TrimSpace(value)
	if !strings.EqualFold(scheme, "Bearer") || value == "" {
		return reply{status: http.StatusUnauthorized,
			body: apiError(http.StatusUnauthorized, codeAuthRequired, msgAuthRequired)}, false
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	t := s.tokens[value]
	if t == nil || !t.validAt(now) {
		return reply{status: http.StatusUnauthorized,
			body: apiError(http.StatusUnauthorized, codeBadCreds, msgBadCreds)}, false
	}
	if s.rateLimit == 0 {
		return reply{}, true
	}
	if now.Sub(t.window) >= time.Minute {
		t.window, t.used = now, 0
	}
	if t.used >= s.rateLimit {
		wait := t.window.Add(time.Minute).Sub(now)
		seconds := max(int((wait+time.Second-1)/time.Second), 1)
		body := apiError(http.StatusTooManyRequests, codeTooMany,
			fmt.Sprintf("Rate limit exceeded the maximum [%d] requests within [60] seconds", s.rateLimit))
		return reply{status: http.StatusTooManyRequests, body: body, retryAfter: strconv.Itoa(seconds)}, false
	}
	t.used++
	return reply{}, true
}
