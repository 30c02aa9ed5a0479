package config

import (
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Inbound is how callers (Genesys Cloud) authenticate. Any enabled method
// admits a request.
type Inbound struct {
	Basic  *Basic
	APIKey *APIKey
	OAuth  *InboundOAuth
	MTLS   *MTLS
}

// Enabled reports whether any inbound authentication is configured.
func (in Inbound) Enabled() bool {
	return in.Basic != nil || in.APIKey != nil || in.OAuth != nil || in.MTLS != nil
}

// InboundOAuth is the host's own token endpoint (POST /oauth/token, client
// credentials) for Genesys Cloud's "User Defined (OAuth)" credential type:
// Genesys's customAuth action fetches a bearer token there.
type InboundOAuth struct {
	ClientID     string
	ClientSecret string
	TokenTTL     time.Duration // default 1 h
}

// MTLS admits callers presenting a client certificate signed by the CA
// (Genesys Cloud's client certificate). It needs the tls block. Genesys's
// certificates come from its regional private CA or DigiCert, which sign
// certificates for others too: the allowed lists say which of the CA's
// certificates are the caller's. With all three empty, any certificate the
// CA signed is admitted (and the host warns at start).
type MTLS struct {
	ClientCAFile string
	// AllowedSubjects are subject distinguished names in RFC 2253 form, as
	// Go prints them ("CN=genesys,O=Genesys,C=US").
	AllowedSubjects []string
	// AllowedSANs are subject alternative names: DNS names, e-mail
	// addresses, URIs or IP addresses.
	AllowedSANs []string
	// AllowedFingerprints are SHA-256 fingerprints of the certificate, hex,
	// lower case, without colons.
	AllowedFingerprints []string
}

// Restricted reports whether the allowed lists name the admitted certificates.
func (m *MTLS) Restricted() bool {
	return len(m.AllowedSubjects)+len(m.AllowedSANs)+len(m.AllowedFingerprints) > 0
}

// TLS is the certificate the host serves HTTPS with.
type TLS struct {
	CertFile, KeyFile string
}

// Basic is HTTP Basic authentication with one credential (Genesys Cloud's
// "Basic Auth" credential type).
type Basic struct {
	Username string
	Password string
}

// APIKey is a header carrying one of several keys (Genesys Cloud's "User
// Defined" credential type). Several keys allow rotation without downtime.
type APIKey struct {
	Header string
	Keys   []string
}

type inboundBlock struct {
	Basic  *basicBlock  `hcl:"basic,block"`
	APIKey *apiKeyBlock `hcl:"api_key,block"`
	OAuth  *oauthBlock  `hcl:"oauth,block"`
	MTLS   *mtlsBlock   `hcl:"mtls,block"`
}

type oauthBlock struct {
	ClientID     string       `hcl:"client_id"`
	ClientSecret string       `hcl:"client_secret"`
	TokenTTL     durationAttr `hcl:"token_ttl,optional"`
	Range        hcl.Range    `hcl:",def_range"`
}

type mtlsBlock struct {
	ClientCAFile        string    `hcl:"client_ca_file"`
	AllowedSubjects     []string  `hcl:"allowed_subjects,optional"`
	AllowedSANs         []string  `hcl:"allowed_sans,optional"`
	AllowedFingerprints []string  `hcl:"allowed_fingerprints,optional"`
	Range               hcl.Range `hcl:",def_range"`
}

type tlsBlock struct {
	CertFile string    `hcl:"cert_file"`
	KeyFile  string    `hcl:"key_file"`
	Range    hcl.Range `hcl:",def_range"`
}

type basicBlock struct {
	Username string    `hcl:"username"`
	Password string    `hcl:"password"`
	Range    hcl.Range `hcl:",def_range"`
}

type apiKeyBlock struct {
	Header *string   `hcl:"header,optional"`
	Keys   []string  `hcl:"keys"`
	Range  hcl.Range `hcl:",def_range"`
}

// inbound checks the inbound block; haveTLS says whether the file has a tls
// block, which mtls needs. A nil block is no inbound authentication.
func (in *inboundBlock) inbound(haveTLS bool) (Inbound, error) {
	var (
		res  Inbound
		errs []error
	)
	if in == nil {
		return res, nil
	}
	if b := in.Basic; b != nil {
		if b.Username == "" || len(b.Password) < minSecretLength {
			errs = append(errs, errAt(b.Range, "inbound basic: username must not be empty and password must be at least %d characters", minSecretLength))
		}
		res.Basic = &Basic{Username: b.Username, Password: b.Password}
	}
	if k := in.APIKey; k != nil {
		header := DefaultAPIKeyHeader
		setString(&header, k.Header)
		if len(k.Keys) == 0 {
			errs = append(errs, errAt(k.Range, "inbound api_key: keys must hold at least one key"))
		}
		for i, key := range k.Keys {
			if len(key) < minSecretLength {
				errs = append(errs, errAt(k.Range, "inbound api_key: key #%d is shorter than %d characters", i+1, minSecretLength))
			}
		}
		if header == "" || header == "Authorization" {
			errs = append(errs, errAt(k.Range, "inbound api_key: header %q cannot carry an API key", header))
		}
		res.APIKey = &APIKey{Header: header, Keys: k.Keys}
	}
	if o := in.OAuth; o != nil {
		oa := &InboundOAuth{ClientID: o.ClientID, ClientSecret: o.ClientSecret, TokenTTL: time.Hour}
		if o.ClientID == "" || len(o.ClientSecret) < minSecretLength {
			errs = append(errs, errAt(o.Range, "inbound oauth: client_id must not be empty and client_secret must be at least %d characters", minSecretLength))
		}
		if err := parseDuration(&oa.TokenTTL, o.TokenTTL, "inbound oauth token_ttl", time.Minute, 24*time.Hour); err != nil {
			errs = append(errs, errAt(o.Range, "%v", err))
		}
		res.OAuth = oa
	}
	if m := in.MTLS; m != nil {
		res.MTLS = &MTLS{ClientCAFile: m.ClientCAFile, AllowedSubjects: m.AllowedSubjects, AllowedSANs: m.AllowedSANs}
		for _, fp := range m.AllowedFingerprints {
			norm := strings.ToLower(strings.ReplaceAll(fp, ":", ""))
			if b, err := hex.DecodeString(norm); err != nil || len(b) != 32 {
				errs = append(errs, errAt(m.Range, "inbound mtls: allowed_fingerprints: %q is not a SHA-256 fingerprint (64 hex digits, colons allowed)", fp))
			}
			res.MTLS.AllowedFingerprints = append(res.MTLS.AllowedFingerprints, norm)
		}
		if !haveTLS {
			errs = append(errs, errAt(m.Range, "inbound mtls needs a tls { cert_file key_file } block: client certificates come with HTTPS"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Inbound{}, err
	}
	return res, nil
}

// tls reads the tls block; nil: plain HTTP.
func (t *tlsBlock) tls() *TLS {
	if t == nil {
		return nil
	}
	return &TLS{CertFile: t.CertFile, KeyFile: t.KeyFile}
}
