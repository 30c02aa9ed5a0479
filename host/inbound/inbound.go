// Package inbound authenticates the callers of the host's HTTP API in every
// way Genesys Cloud can call: Basic (the Basic Auth credential type), an
// API-key header (User Defined), a bearer token from the host's own token
// endpoint (User Defined (OAuth)), and a client certificate (mTLS). Secrets
// are compared in constant time and never leave this package: a request's
// Principal names who called, never the credential.
package inbound

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/host/config"
)

// Principal is who made a request: how they authenticated and their
// non-secret identity ("genesys" for Basic, "key#2" for the second API key,
// the client id for OAuth, the certificate's subject for mTLS).
type Principal struct {
	Method string // "basic", "api_key", "oauth", "mtls", or "none" when authentication is off
	ID     string
}

// Authenticator checks requests against the configured credentials.
type Authenticator struct {
	basicUser, basicPass [sha256.Size]byte
	basicUsername        string
	hasBasic             bool
	keyHeader            string
	keys                 [][sha256.Size]byte
	oauth                *config.InboundOAuth
	oauthID, oauthSecret [sha256.Size]byte
	tokenKey             []byte // signs the bearer tokens the host issues
	clientBinding        [8]byte
	mtls                 *config.MTLS
	fingerprints         map[string]bool
	challenge            string
	now                  func() time.Time
}

// New returns an Authenticator for cfg. With nothing configured, every request
// is admitted as Principal{Method: "none"}: the caller must have decided
// that this is acceptable (serve --dev).
func New(cfg config.Inbound) *Authenticator {
	a := &Authenticator{now: time.Now}
	var challenges []string
	if b := cfg.Basic; b != nil {
		a.hasBasic = true
		a.basicUsername = b.Username
		a.basicUser = sha256.Sum256([]byte(b.Username))
		a.basicPass = sha256.Sum256([]byte(b.Password))
		challenges = append(challenges, `Basic realm="switchboard", charset="UTF-8"`)
	}
	if o := cfg.OAuth; o != nil {
		a.oauth = o
		a.oauthID = sha256.Sum256([]byte(o.ClientID))
		a.oauthSecret = sha256.Sum256([]byte(o.ClientSecret))
		// Tokens are signed with a key derived from the client secret: every
		// replica with the same config accepts every replica's tokens, and
		// changing the secret revokes them all.
		m := hmac.New(sha256.New, []byte(o.ClientSecret))
		m.Write([]byte("switchboard inbound token key v1"))
		a.tokenKey = m.Sum(nil)
		copy(a.clientBinding[:], a.oauthID[:]) // a token names the client it was issued to
		challenges = append(challenges, `Bearer realm="switchboard"`)
	}
	if k := cfg.APIKey; k != nil {
		a.keyHeader = http.CanonicalHeaderKey(k.Header)
		for _, key := range k.Keys {
			a.keys = append(a.keys, sha256.Sum256([]byte(key)))
		}
		challenges = append(challenges, fmt.Sprintf(`ApiKey realm="switchboard", header=%q`, k.Header))
	}
	if m := cfg.MTLS; m != nil {
		a.mtls = m
		a.fingerprints = map[string]bool{}
		for _, fp := range m.AllowedFingerprints {
			a.fingerprints[fp] = true
		}
	}
	a.challenge = strings.Join(challenges, ", ")
	return a
}

// Enabled reports whether any method is configured.
func (a *Authenticator) Enabled() bool {
	return a.hasBasic || len(a.keys) > 0 || a.oauth != nil || a.mtls != nil
}

// OAuth reports whether the host issues bearer tokens (POST /oauth/token).
func (a *Authenticator) OAuth() bool { return a.oauth != nil }

// Challenge is the WWW-Authenticate value for a 401 answer.
func (a *Authenticator) Challenge() string { return a.challenge }

// Authenticate returns who made the request, or false when no configured
// method admits it. Secrets are compared in constant time.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, bool) {
	if !a.Enabled() {
		return Principal{Method: "none"}, true
	}
	if a.mtls != nil && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		if leaf := r.TLS.VerifiedChains[0][0]; a.allowedCertificate(leaf) {
			return Principal{Method: "mtls", ID: subject(leaf)}, true
		}
	}
	if a.oauth != nil {
		if tok, ok := bearer(r.Header.Get("Authorization")); ok && a.validToken(tok) {
			return Principal{Method: "oauth", ID: a.oauth.ClientID}, true
		}
	}
	if len(a.keys) > 0 {
		if v := r.Header.Get(a.keyHeader); v != "" {
			sum := sha256.Sum256([]byte(v))
			match := 0
			for i := range a.keys {
				if subtle.ConstantTimeCompare(sum[:], a.keys[i][:]) == 1 {
					match = i + 1
				}
			}
			if match > 0 {
				return Principal{Method: "api_key", ID: fmt.Sprintf("key#%d", match)}, true
			}
		}
	}
	if a.hasBasic {
		if user, pass, ok := r.BasicAuth(); ok {
			u := sha256.Sum256([]byte(user))
			p := sha256.Sum256([]byte(pass))
			if subtle.ConstantTimeCompare(u[:], a.basicUser[:])&subtle.ConstantTimeCompare(p[:], a.basicPass[:]) == 1 {
				return Principal{Method: "basic", ID: a.basicUsername}, true
			}
		}
	}
	return Principal{}, false
}

// bearer reads a bearer token: the scheme in any case (RFC 6750 §2.1 and
// RFC 9110 §11.1), then the token.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimLeft(tok, " ")
	return tok, tok != ""
}

// allowedCertificate reports whether a certificate the CA signed is one the
// config admits: any, when no allowed list is set; else one whose subject,
// a subject alternative name or its SHA-256 fingerprint is listed.
func (a *Authenticator) allowedCertificate(c *x509.Certificate) bool {
	m := a.mtls
	if !m.Restricted() {
		return true
	}
	if slices.Contains(m.AllowedSubjects, c.Subject.String()) {
		return true
	}
	sans := slices.Concat(c.DNSNames, c.EmailAddresses)
	for _, u := range c.URIs {
		sans = append(sans, u.String())
	}
	for _, ip := range c.IPAddresses {
		sans = append(sans, ip.String())
	}
	for _, san := range sans {
		if slices.Contains(m.AllowedSANs, san) {
			return true
		}
	}
	fp := sha256.Sum256(c.Raw)
	return a.fingerprints[hex.EncodeToString(fp[:])]
}

func subject(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	if len(c.DNSNames) > 0 {
		return c.DNSNames[0]
	}
	return c.Subject.String()
}

// Token is a successful token response (RFC 6749 §5.1).
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	ClientID    string `json:"-"` // who asked, for the audit log
}

// TokenError is a failed token request (RFC 6749 §5.2).
type TokenError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *TokenError) Error() string { return e.Code + ": " + e.Description }

// IssueToken serves one client-credentials token request: the client id and
// secret as HTTP Basic (as they are, or form-encoded first as RFC 6749
// §2.3.1 says) or as the form fields client_id and client_secret.
func (a *Authenticator) IssueToken(r *http.Request) (*Token, *TokenError) {
	if a.oauth == nil {
		return nil, &TokenError{Status: http.StatusNotFound, Code: "invalid_request", Description: "this host issues no tokens"}
	}
	if r.Method != http.MethodPost {
		return nil, &TokenError{Status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "use POST"}
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return nil, &TokenError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "the body must be an application/x-www-form-urlencoded form"}
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		return nil, &TokenError{Status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: "only grant_type=client_credentials is supported"}
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	// Basic credentials may come as they are (Genesys Cloud's customAuth)
	// or form-encoded first (RFC 6749 §2.3.1): either admits the client.
	ok := a.client(id, secret)
	if basic {
		ok = a.client(formDecoded(id), formDecoded(secret)) || ok
	}
	if !ok {
		return nil, &TokenError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "client authentication failed"}
	}
	return &Token{AccessToken: a.newToken(), TokenType: "bearer", ExpiresIn: int(a.oauth.TokenTTL / time.Second), ClientID: a.oauth.ClientID}, nil
}

// client compares a client id and secret with the configured ones in
// constant time.
func (a *Authenticator) client(id, secret string) bool {
	i, s := sha256.Sum256([]byte(id)), sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(i[:], a.oauthID[:])&subtle.ConstantTimeCompare(s[:], a.oauthSecret[:]) == 1
}

// formDecoded undoes the form encoding RFC 6749 §2.3.1 asks clients to apply
// to Basic credentials; a value that is not form-encoded is kept as it is
// (Genesys Cloud's customAuth sends them as they are).
func formDecoded(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// Tokens are "sbt2.<payload>.<mac>", in unpadded URL-safe base64: payload
// = expiry (8 bytes, Unix seconds), the first 8 bytes of the client id's
// SHA-256 (a token is bound to the client it was issued to) and 16 random
// bytes; mac = HMAC-SHA256 of the payload. Decoding is strict, so that each
// token has exactly one spelling.
const (
	tokenPrefix  = "sbt2."
	tokenPayload = 32
)

var tokenEncoding = base64.RawURLEncoding.Strict()

func (a *Authenticator) newToken() string {
	payload := make([]byte, tokenPayload)
	binary.BigEndian.PutUint64(payload, uint64(a.now().Add(a.oauth.TokenTTL).Unix()))
	copy(payload[8:16], a.clientBinding[:])
	rand.Read(payload[16:])
	m := hmac.New(sha256.New, a.tokenKey)
	m.Write(payload)
	return tokenPrefix + tokenEncoding.EncodeToString(payload) + "." + tokenEncoding.EncodeToString(m.Sum(nil))
}

func (a *Authenticator) validToken(tok string) bool {
	rest, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok {
		return false
	}
	p, mac, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	payload, err1 := tokenEncoding.DecodeString(p)
	sum, err2 := tokenEncoding.DecodeString(mac)
	if err1 != nil || err2 != nil || len(payload) != tokenPayload {
		return false
	}
	m := hmac.New(sha256.New, a.tokenKey)
	m.Write(payload)
	if !hmac.Equal(sum, m.Sum(nil)) || subtle.ConstantTimeCompare(payload[8:16], a.clientBinding[:]) != 1 {
		return false
	}
	return a.now().Unix() < int64(binary.BigEndian.Uint64(payload))
}
