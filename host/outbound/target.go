package outbound

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/switchboard-dev/switchboard/host/config"
)

// Target is where one request goes, and whether it carries the
// connection's credential. Every request that leaves the host is either
// under base_url (same scheme, host and port, and beneath its path) with the
// credential, or to an allowed host without it.
type Target struct {
	URL *url.URL
	// Credential reports that the URL is under base_url: the credential is
	// added, and only then.
	Credential bool
}

// Resolve turns a plugin's URL (a path relative to base_url, or an
// absolute URL) into its target, refusing what the connection does not
// allow. The path is normalised first: percent-encoded dots are decoded and
// dot segments resolved, as the downstream server would, so that "../"
// cannot climb out of base_url; encoded slashes and backslashes, which
// servers read differently, are refused.
func (c *Connection) Resolve(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("invalid URL: %w", err)
	}
	if !u.IsAbs() && u.Host == "" {
		rel, query := u.EscapedPath(), u.RawQuery
		if !strings.HasPrefix(rel, "/") {
			rel = "/" + rel
		}
		origin := url.URL{Scheme: c.base.Scheme, Host: c.base.Host}
		if u, err = url.Parse(origin.String() + basePath(c.base) + rel); err != nil {
			return Target{}, fmt.Errorf("invalid URL: %w", err)
		}
		u.RawQuery = query
	}
	return c.check(u)
}

// check applies a connection's rules to an absolute URL: a direct call's
// target and every redirect's.
func (c *Connection) check(u *url.URL) (Target, error) {
	if u.User != nil {
		return Target{}, errors.New("URLs with user info are refused")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && config.IsLoopback(u.Hostname())) {
		return Target{}, fmt.Errorf("scheme %q refused: use https", u.Scheme)
	}
	if !c.hosts[hostKey(u)] {
		return Target{}, fmt.Errorf("host %q is not the connection's host nor one of its allowed_hosts", u.Host)
	}
	clean, err := normalise(u)
	if err != nil {
		return Target{}, err
	}
	if hostKey(clean) != hostKey(c.base) {
		return Target{URL: clean}, nil
	}
	if clean.Scheme != c.base.Scheme {
		return Target{}, fmt.Errorf("scheme %q refused on the connection's host: base_url is %s", clean.Scheme, c.base.Scheme)
	}
	if !under(clean.EscapedPath(), basePath(c.base)) {
		return Target{}, fmt.Errorf("path %q is outside the connection's base_url path %q", clean.EscapedPath(), basePath(c.base)+"/")
	}
	return Target{URL: clean, Credential: true}, nil
}

// normalise decodes percent-encoded dots and resolves dot segments
// (RFC 3986 §5.2.4, by net/url), and drops the fragment.
func normalise(u *url.URL) (*url.URL, error) {
	esc := u.EscapedPath()
	lower := strings.ToLower(esc)
	if strings.Contains(esc, `\`) || strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
		return nil, fmt.Errorf("path %q refused: encoded slashes and backslashes are read differently by different servers", esc)
	}
	esc = strings.ReplaceAll(strings.ReplaceAll(esc, "%2e", "."), "%2E", ".")
	p, err := url.PathUnescape(esc)
	if err != nil {
		return nil, fmt.Errorf("invalid path: %w", err)
	}
	origin := &url.URL{Scheme: u.Scheme, Host: u.Host}
	clean := origin.ResolveReference(&url.URL{Path: p, RawPath: esc, RawQuery: u.RawQuery})
	if clean.Path == "" {
		clean.Path = "/"
	}
	return clean, nil
}

// basePath is base_url's path without its trailing slash ("" for the root).
func basePath(base *url.URL) string { return strings.TrimRight(base.EscapedPath(), "/") }

// under reports whether the escaped path p is base or beneath it.
func under(p, base string) bool {
	return base == "" || p == base || strings.HasPrefix(p, base+"/")
}

// BasePath is base_url's path without its trailing slash: the part of a
// call's path that comes from the config.
func (c *Connection) BasePath() string { return basePath(c.base) }
