// Package inbound authenticates the callers of the host's HTTP API (Genesys
// Cloud, or an operator's tools). Secrets are compared in constant time and
// never leave this package: a request's Principal names who called, never the
// credential.
package inbound

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchboard-dev/switchboard/host/config"
)

// Principal is who made a request: how they authenticated and their
// non-secret identity ("genesys" for Basic, "key#2" for the second API key).
type Principal struct {
	Method string // "basic", "api_key", or "none" when authentication is off
	ID     string
}

// Authenticator checks requests against the configured credentials.
type Authenticator struct {
	basicUser, basicPass [sha256.Size]byte
	basicUsername        string
	hasBasic             bool
	keyHeader            string
	keys                 [][sha256.Size]byte
	challenge            string
}

// New returns an Authenticator for cfg. With nothing configured, every request
// is admitted as Principal{Method: "none"}: the caller must have decided
// that this is acceptable (serve --dev).
func New(cfg config.Inbound) *Authenticator {
	a := &Authenticator{}
	var challenges []string
	if b := cfg.Basic; b != nil {
		a.hasBasic = true
		a.basicUsername = b.Username
		a.basicUser = sha256.Sum256([]byte(b.Username))
		a.basicPass = sha256.Sum256([]byte(b.Password))
		challenges = append(challenges, `Basic realm="switchboard", charset="UTF-8"`)
	}
	if k := cfg.APIKey; k != nil {
		a.keyHeader = http.CanonicalHeaderKey(k.Header)
		for _, key := range k.Keys {
			a.keys = append(a.keys, sha256.Sum256([]byte(key)))
		}
		challenges = append(challenges, fmt.Sprintf(`ApiKey realm="switchboard", header=%q`, k.Header))
	}
	a.challenge = strings.Join(challenges, ", ")
	return a
}

// Enabled reports whether any method is configured.
func (a *Authenticator) Enabled() bool { return a.hasBasic || len(a.keys) > 0 }

// Challenge is the WWW-Authenticate value for a 401 answer.
func (a *Authenticator) Challenge() string { return a.challenge }

// Authenticate returns who made the request, or false when no configured
// method admits it. Every configured method is checked in full, in constant
// time, whatever the request carries.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, bool) {
	if !a.Enabled() {
		return Principal{Method: "none"}, true
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
