package inbound

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/config"
)

func oauthAuth(clientID string) *Authenticator {
	return New(config.Inbound{OAuth: &config.InboundOAuth{ClientID: clientID, ClientSecret: "oauth-secret-0123456789", TokenTTL: time.Hour}})
}

func issue(t *testing.T, a *Authenticator) string {
	t.Helper()
	r := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(a.oauth.ClientID, "oauth-secret-0123456789")
	tok, terr := a.IssueToken(r)
	if terr != nil {
		t.Fatal(terr)
	}
	return tok.AccessToken
}

func withAuthorization(v string) *http.Request {
	r := httptest.NewRequest("POST", "/actions/echo", nil)
	r.Header.Set("Authorization", v)
	return r
}

// TestHostIssuedTokens: one spelling per token (strict base64), bound to
// the client id, the Bearer scheme in any case.
func TestHostIssuedTokens(t *testing.T) {
	t.Parallel()
	a := oauthAuth("genesys")
	tok := issue(t, a)
	for _, scheme := range []string{"Bearer ", "bearer ", "BEARER ", "Bearer   "} {
		if _, ok := a.Authenticate(withAuthorization(scheme + tok)); !ok {
			t.Errorf("%q: refused", scheme)
		}
	}
	// Other spellings of the same bytes: the last character of each
	// base64 part carries unused bits that lax decoding ignores.
	payload, mac, _ := strings.Cut(strings.TrimPrefix(tok, tokenPrefix), ".")
	respell := func(s string) []string {
		var out []string
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		last := strings.IndexByte(alphabet, s[len(s)-1])
		for _, c := range alphabet {
			if i := strings.IndexRune(alphabet, c); i != last && i&^0b11 == last&^0b11 {
				out = append(out, s[:len(s)-1]+string(c))
			}
		}
		return out
	}
	var variants []string
	for _, p := range respell(payload) {
		variants = append(variants, tokenPrefix+p+"."+mac)
	}
	for _, m := range respell(mac) {
		variants = append(variants, tokenPrefix+payload+"."+m)
	}
	if len(variants) == 0 {
		t.Fatal("no other spelling made")
	}
	for _, v := range variants {
		if _, ok := a.Authenticate(withAuthorization("Bearer " + v)); ok {
			t.Errorf("another spelling of the token was admitted: %s", v)
		}
	}
	for _, bad := range []string{"Bearer", "Bearer ", "Basic " + tok, "Bearer" + tok, tok, "Bearer " + tok + "x"} {
		if _, ok := a.Authenticate(withAuthorization(bad)); ok {
			t.Errorf("%q admitted", bad)
		}
	}
	// The same secret with another client id: the token is not its.
	if _, ok := oauthAuth("someone-else").Authenticate(withAuthorization("Bearer " + tok)); ok {
		t.Error("a token issued to genesys was admitted for another client id")
	}
}

func certificate(t *testing.T, cn string, dns ...string) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, Organization: []string{"Genesys"}},
		DNSNames: dns, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestMTLSAllowedLists: a certificate the CA verified is admitted only when
// its subject, a SAN or its fingerprint is listed; with no list, any.
func TestMTLSAllowedLists(t *testing.T) {
	t.Parallel()
	genesys := certificate(t, "genesys-cloud", "gc.example.com")
	other := certificate(t, "someone-else", "other.example.com")
	fp := sha256.Sum256(genesys.Raw)
	verified := func(c *x509.Certificate) *http.Request {
		r := httptest.NewRequest("POST", "/actions/echo", nil)
		r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{c}}}
		return r
	}
	tests := map[string]config.MTLS{
		"subject":     {AllowedSubjects: []string{"CN=genesys-cloud,O=Genesys"}},
		"SAN":         {AllowedSANs: []string{"gc.example.com"}},
		"fingerprint": {AllowedFingerprints: []string{hex.EncodeToString(fp[:])}},
	}
	for name, m := range tests {
		a := New(config.Inbound{MTLS: &m})
		if p, ok := a.Authenticate(verified(genesys)); !ok || p.Method != "mtls" {
			t.Errorf("%s: the listed certificate was refused", name)
		}
		if _, ok := a.Authenticate(verified(other)); ok {
			t.Errorf("%s: another certificate of the same CA was admitted", name)
		}
	}
	if _, ok := New(config.Inbound{MTLS: &config.MTLS{}}).Authenticate(verified(other)); !ok {
		t.Error("with no list, a certificate the CA verified was refused")
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	th := NewThrottle(2*time.Second, 3, func() time.Time { return now })
	for i := 0; i < 3; i++ {
		if w := th.Wait("192.0.2.1"); w != 0 {
			t.Fatalf("failure %d: wait %v", i, w)
		}
		th.Failed("192.0.2.1")
	}
	if w := th.Wait("192.0.2.1"); w != 2*time.Second {
		t.Errorf("after the burst: wait %v, want 2s", w)
	}
	if w := th.Wait("192.0.2.2"); w != 0 {
		t.Errorf("another address: wait %v", w)
	}
	now = now.Add(2 * time.Second)
	if w := th.Wait("192.0.2.1"); w != 0 {
		t.Errorf("after 2s: wait %v", w)
	}
	// One /64 is one attacker.
	for i := 0; i < 3; i++ {
		th.Failed("2001:db8::" + string(rune('1'+i)))
	}
	if w := th.Wait("2001:db8::ffff"); w == 0 {
		t.Error("another address of the same IPv6 /64 is not throttled")
	}
}
