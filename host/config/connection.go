package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/switchboard-dev/switchboard/host/genesys/region"
)

// Connection defaults.
const (
	DefaultMaxConcurrency   = 64
	DefaultMaxAttempts      = 3
	DefaultBaseDelay        = 200 * time.Millisecond
	DefaultMaxDelay         = 5 * time.Second
	DefaultExpiryBuffer     = 60 * time.Second
	DefaultMaxResponseBytes = 10 << 20
	MaxMaxResponseBytes     = 16 << 20 // below the plugin protocol's message bound
	DefaultCircuitFailures  = 5
	DefaultCircuitOpenFor   = 30 * time.Second
)

// Connection is a downstream API that plugins call through the host. The
// host holds its credential; plugins only name it.
type Connection struct {
	Name    string
	BaseURL *url.URL
	// AllowedHosts are hosts (host or host:port) beyond the base URL's that
	// calls may reach. The credential is only ever sent to the base URL's host.
	AllowedHosts   []string
	MaxConcurrency int
	// MaxConcurrencyPerPlugin is one plugin's share of MaxConcurrency, so
	// that no plugin can hold every slot of a shared connection.
	MaxConcurrencyPerPlugin int
	MaxResponseBytes        int64
	Retry                   Retry
	Circuit                 Circuit
	// RateLimit, when set, bounds the calls (retries included); shared by
	// every replica when the cache store is Redis.
	RateLimit *RateLimit

	// At most one credential.
	OAuth2 *OAuth2
	APIKey *ConnectionAPIKey
	Basic  *Basic
}

// HasCredential reports whether the connection authenticates its calls.
func (c *Connection) HasCredential() bool {
	return c.OAuth2 != nil || c.APIKey != nil || c.Basic != nil
}

// OAuth2 is the client-credentials grant, with the client id and secret sent
// as HTTP Basic as Genesys Cloud requires.
type OAuth2 struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
	// ExpiryBuffer is how long before its expiry a token is replaced.
	ExpiryBuffer time.Duration
}

// ConnectionAPIKey sends a fixed key in a header.
type ConnectionAPIKey struct {
	Header string
	Value  string
}

// Retry is a connection's retry policy.
type Retry struct {
	MaxAttempts int           // attempts in all, first included; 1 means no retry
	BaseDelay   time.Duration // the first backoff
	MaxDelay    time.Duration // cap of every backoff
}

// Circuit is a connection's circuit breaker: after Failures consecutive
// failed attempts it opens and answers at once for OpenFor, then lets one
// probe through.
type Circuit struct {
	Failures int
	OpenFor  time.Duration
}

type connectionBlock struct {
	Name             string          `hcl:"name,label"`
	Region           *string         `hcl:"region,optional"`
	BaseURL          *string         `hcl:"base_url,optional"`
	AllowedHosts     []string        `hcl:"allowed_hosts,optional"`
	MaxConcurrency   *int            `hcl:"max_concurrency,optional"`
	MaxPerPlugin     *int            `hcl:"max_concurrency_per_plugin,optional"`
	MaxResponseBytes *int64          `hcl:"max_response_bytes,optional"`
	OAuth2           *oauth2Block    `hcl:"oauth2,block"`
	APIKey           *connKeyBlock   `hcl:"api_key,block"`
	Basic            *basicBlock     `hcl:"basic,block"`
	Retry            *retryBlock     `hcl:"retry,block"`
	Circuit          *circuitBlock   `hcl:"circuit,block"`
	RateLimit        *rateLimitBlock `hcl:"rate_limit,block"`
	Range            hcl.Range       `hcl:",def_range"`
}

type oauth2Block struct {
	TokenURL     *string      `hcl:"token_url,optional"`
	ClientID     string       `hcl:"client_id"`
	ClientSecret string       `hcl:"client_secret"`
	Scopes       []string     `hcl:"scopes,optional"`
	ExpiryBuffer durationAttr `hcl:"expiry_buffer,optional"`
}

type connKeyBlock struct {
	Header string `hcl:"header"`
	Value  string `hcl:"value"`
}

type retryBlock struct {
	MaxAttempts *int         `hcl:"max_attempts,optional"`
	BaseDelay   durationAttr `hcl:"base_delay,optional"`
	MaxDelay    durationAttr `hcl:"max_delay,optional"`
}

type circuitBlock struct {
	Failures *int         `hcl:"failures,optional"`
	OpenFor  durationAttr `hcl:"open_for,optional"`
}

// NewConnection returns a connection to base with every default and no
// credential.
func NewConnection(name string, base *url.URL) *Connection {
	return &Connection{
		Name:                    name,
		BaseURL:                 base,
		MaxConcurrency:          DefaultMaxConcurrency,
		MaxConcurrencyPerPlugin: defaultPerPlugin(DefaultMaxConcurrency),
		MaxResponseBytes:        DefaultMaxResponseBytes,
		Retry:                   Retry{MaxAttempts: DefaultMaxAttempts, BaseDelay: DefaultBaseDelay, MaxDelay: DefaultMaxDelay},
		Circuit:                 Circuit{Failures: DefaultCircuitFailures, OpenFor: DefaultCircuitOpenFor},
	}
}

// defaultPerPlugin is a plugin's share of a connection when the config
// sets none: half, so that other plugins always have the other half.
func defaultPerPlugin(maxConcurrency int) int { return max(1, maxConcurrency/2) }

// connection checks one connection block and fills in its defaults.
func (b *connectionBlock) connection() (*Connection, error) {
	c := NewConnection(b.Name, nil)
	c.AllowedHosts = b.AllowedHosts
	var errs []error
	if rl, err := b.RateLimit.rateLimit(b.Name); err != nil {
		errs = append(errs, err)
	} else {
		c.RateLimit = rl
	}
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	base, tokenURL := "", ""
	if b.Region != nil {
		r, err := region.Lookup(*b.Region)
		if err != nil {
			fail("region: %v", err)
		}
		base, tokenURL = r.APIBaseURL(), r.TokenURL()
	}
	setString(&base, b.BaseURL)
	if base == "" {
		fail("set base_url or region")
	} else if u, err := checkURL(base); err != nil {
		fail("base_url: %v", err)
	} else if u.RawQuery != "" || u.Fragment != "" {
		fail("base_url %q: must not hold a query or fragment", base)
	} else {
		c.BaseURL = u
	}
	for _, h := range b.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/@?# ") {
			fail("allowed_hosts: %q is not a host name (give \"api.example.com\" or \"api.example.com:8443\", no scheme or path)", h)
		}
	}
	if b.MaxConcurrency != nil {
		if *b.MaxConcurrency < 1 || *b.MaxConcurrency > 10000 {
			fail("max_concurrency must be between 1 and 10000")
		}
		c.MaxConcurrency = *b.MaxConcurrency
	}
	c.MaxConcurrencyPerPlugin = defaultPerPlugin(c.MaxConcurrency)
	if b.MaxPerPlugin != nil {
		if *b.MaxPerPlugin < 1 || *b.MaxPerPlugin > c.MaxConcurrency {
			fail("max_concurrency_per_plugin must be between 1 and max_concurrency (%d)", c.MaxConcurrency)
		}
		c.MaxConcurrencyPerPlugin = *b.MaxPerPlugin
	}
	if b.MaxResponseBytes != nil {
		if *b.MaxResponseBytes < 1 || *b.MaxResponseBytes > MaxMaxResponseBytes {
			fail("max_response_bytes must be between 1 and %d", MaxMaxResponseBytes)
		}
		c.MaxResponseBytes = *b.MaxResponseBytes
	}
	if r := b.Retry; r != nil {
		if r.MaxAttempts != nil {
			if *r.MaxAttempts < 1 || *r.MaxAttempts > 10 {
				fail("retry: max_attempts must be between 1 and 10")
			}
			c.Retry.MaxAttempts = *r.MaxAttempts
		}
		if err := parseDuration(&c.Retry.BaseDelay, r.BaseDelay, "retry base_delay", time.Millisecond, time.Minute); err != nil {
			fail("%v", err)
		}
		if err := parseDuration(&c.Retry.MaxDelay, r.MaxDelay, "retry max_delay", time.Millisecond, time.Minute); err != nil {
			fail("%v", err)
		}
		if c.Retry.MaxDelay < c.Retry.BaseDelay {
			fail("retry: max_delay %v is below base_delay %v", c.Retry.MaxDelay, c.Retry.BaseDelay)
		}
	}
	if cb := b.Circuit; cb != nil {
		if cb.Failures != nil {
			if *cb.Failures < 1 {
				fail("circuit: failures must be at least 1")
			}
			c.Circuit.Failures = *cb.Failures
		}
		if err := parseDuration(&c.Circuit.OpenFor, cb.OpenFor, "circuit open_for", 100*time.Millisecond, time.Hour); err != nil {
			fail("%v", err)
		}
	}

	creds := 0
	if o := b.OAuth2; o != nil {
		creds++
		setString(&tokenURL, o.TokenURL)
		oa := &OAuth2{TokenURL: tokenURL, ClientID: o.ClientID, ClientSecret: o.ClientSecret, Scopes: o.Scopes, ExpiryBuffer: DefaultExpiryBuffer}
		if tokenURL == "" {
			fail("oauth2: set token_url (or region)")
		} else if _, err := checkURL(tokenURL); err != nil {
			fail("oauth2 token_url: %v", err)
		}
		if o.ClientID == "" || o.ClientSecret == "" {
			fail("oauth2: client_id and client_secret must not be empty")
		}
		if err := parseDuration(&oa.ExpiryBuffer, o.ExpiryBuffer, "oauth2 expiry_buffer", 0, time.Hour); err != nil {
			fail("%v", err)
		}
		c.OAuth2 = oa
	}
	if k := b.APIKey; k != nil {
		creds++
		if k.Header == "" || k.Value == "" {
			fail("api_key: header and value must not be empty")
		}
		c.APIKey = &ConnectionAPIKey{Header: k.Header, Value: k.Value}
	}
	if bb := b.Basic; bb != nil {
		creds++
		if bb.Username == "" {
			fail("basic: username must not be empty")
		}
		c.Basic = &Basic{Username: bb.Username, Password: bb.Password}
	}
	if creds > 1 {
		fail("give one credential at most: oauth2, api_key or basic")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, errAt(b.Range, "connection %q: %v", b.Name, err)
	}
	return c, nil
}

// checkURL accepts https URLs, and plain http only to loopback addresses
// (tests and the simulator): credentials never cross a network in clear.
func checkURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%q: need scheme://host[:port][/path], without user info", s)
	}
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if IsLoopback(u.Hostname()) {
			return u, nil
		}
		return nil, fmt.Errorf("%q: plain http is only allowed to loopback addresses; use https", s)
	}
	return nil, fmt.Errorf("%q: scheme must be https", s)
}

// IsLoopback reports whether host is localhost or a loopback IP address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
