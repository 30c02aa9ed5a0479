// Package audit writes one JSON record per inbound request, failures
// included, for a contact centre's security review: who called, which
// action and plugin ran, how it ended, and which downstream calls it made —
// never a credential, and no input or output value unless the operator names
// an input field, which is then written only as a keyed HMAC-SHA256 digest.
package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Record is the audit record of one request. Fields that do not apply stay
// empty and are left out of the JSON.
type Record struct {
	Time               time.Time         `json:"time"`
	RequestID          string            `json:"requestId"`
	CorrelationID      string            `json:"correlationId,omitempty"`
	OrganizationID     string            `json:"organizationId,omitempty"`
	HomeOrganizationID string            `json:"homeOrganizationId,omitempty"`
	GenesysUserID      string            `json:"genesysUserId,omitempty"`
	RemoteAddr         string            `json:"remoteAddr,omitempty"`
	Route              string            `json:"route"`
	Principal          Principal         `json:"principal"`
	Action             string            `json:"action,omitempty"`
	Plugin             *Plugin           `json:"plugin,omitempty"`
	Status             int               `json:"status"`
	Code               string            `json:"code"`
	DurationMS         float64           `json:"durationMs"`
	Validation         []Violation       `json:"validation,omitempty"`
	InputHMAC          map[string]string `json:"inputHmac,omitempty"`
	Outbound           []Outbound        `json:"outbound,omitempty"`
	// Cache is what the response cache did: hit, miss, stale,
	// stale_if_error; empty when the action is not cached.
	Cache string `json:"cache,omitempty"`
	// Claimed holds what an unauthenticated caller said of itself (request
	// id, Genesys headers), which is not to be taken as fact; RequestID is
	// then the host's own.
	Claimed *Claimed `json:"claimed,omitempty"`
	// Console marks a test run from the operator console
	// (POST /admin/actions/{name}/try); Principal is then the operator.
	Console bool `json:"console,omitempty"`

	mu sync.Mutex // guards Outbound: a plugin may call out concurrently
}

// Claimed are the identifiers an unauthenticated request carried: unverified.
type Claimed struct {
	RequestID          string `json:"requestId,omitempty"`
	CorrelationID      string `json:"correlationId,omitempty"`
	OrganizationID     string `json:"organizationId,omitempty"`
	HomeOrganizationID string `json:"homeOrganizationId,omitempty"`
	GenesysUserID      string `json:"genesysUserId,omitempty"`
}

// Principal is who called: the authentication method and a non-secret id.
type Principal struct {
	Method string `json:"method"`
	ID     string `json:"id,omitempty"`
}

// Plugin identifies the binary that served the action.
type Plugin struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	SHA256  string `json:"sha256"`
}

// Violation locates one schema failure: no message, since messages may quote
// the offending value.
type Violation struct {
	Stage    string `json:"stage"` // "input" or "output"
	Location string `json:"location"`
	Keyword  string `json:"keyword,omitempty"`
}

// Outbound summarizes one downstream call the action made through the host.
type Outbound struct {
	Connection string  `json:"connection"`
	Method     string  `json:"method"`
	Host       string  `json:"host,omitempty"`
	Path       string  `json:"path,omitempty"` // a template (PathTemplate), never the query
	Status     int     `json:"status,omitempty"`
	Code       string  `json:"code,omitempty"` // the refusal or failure, when there was no answer
	Attempts   int     `json:"attempts"`
	DurationMS float64 `json:"durationMs"`
	// Redirects are the redirects the host followed, in order.
	Redirects []Redirect `json:"redirects,omitempty"`
}

// Redirect is one redirect a downstream call followed.
type Redirect struct {
	Status int    `json:"status"` // of the answer that redirected
	Host   string `json:"host"`   // where to
	Path   string `json:"path"`   // a template (PathTemplate)
}

// AddOutbound appends a downstream call; safe for concurrent use.
func (r *Record) AddOutbound(o Outbound) {
	r.mu.Lock()
	r.Outbound = append(r.Outbound, o)
	r.mu.Unlock()
}

type recordKey struct{}

// WithRecord returns a context carrying the request's record, for the layers
// that add to it (the plugin invocation's outbound calls).
func WithRecord(ctx context.Context, r *Record) context.Context {
	return context.WithValue(ctx, recordKey{}, r)
}

// FromContext returns the request's record, or nil.
func FromContext(ctx context.Context) *Record {
	r, _ := ctx.Value(recordKey{}).(*Record)
	return r
}

// Log writes records as JSON lines to a file or standard output. It is safe
// for concurrent use.
type Log struct {
	mu   sync.Mutex
	path string // "" for standard output
	w    io.Writer
	f    *os.File
	buf  bytes.Buffer
}

// Open opens the audit log: path "-" means standard output; a file is
// created with mode 0600 if needed and appended to.
func Open(path string) (*Log, error) {
	l := &Log{}
	if path == "-" || path == "" {
		l.w = os.Stdout
		return l, nil
	}
	l.path = path
	if err := l.Reopen(); err != nil {
		return nil, err
	}
	return l, nil
}

// NewWriter returns a log that writes to w, for tests.
func NewWriter(w io.Writer) *Log { return &Log{w: w} }

// Reopen reopens the file, after logrotate moved it (on SIGHUP).
func (l *Log) Reopen() error {
	if l.path == "" {
		return nil
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	l.mu.Lock()
	old := l.f
	l.f, l.w = f, f
	l.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// Write writes one record as one line, in a single write.
func (l *Log) Write(r *Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
	if err := json.NewEncoder(&l.buf).Encode(r); err != nil {
		return fmt.Errorf("audit record: %w", err)
	}
	if _, err := l.w.Write(l.buf.Bytes()); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// Close closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		return l.f.Close()
	}
	return nil
}

// Read reads an audit log: one record per line, as Write wrote them. A
// line that is not a record is an error naming its line number.
func Read(r io.Reader) ([]*Record, error) {
	var recs []*Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		rec := new(Record)
		if err := json.Unmarshal(sc.Bytes(), rec); err != nil {
			return recs, fmt.Errorf("audit log line %d: %w", line, err)
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		return recs, fmt.Errorf("audit log: %w", err)
	}
	return recs, nil
}

// Hasher computes the keyed digests of named input fields.
type Hasher struct {
	key []byte
}

// NewHasher returns a hasher with the given key; it must not be empty.
func NewHasher(key string) (*Hasher, error) {
	if key == "" {
		return nil, errors.New("audit: hmac_key must not be empty")
	}
	return &Hasher{key: []byte(key)}, nil
}

// Sum is the hex HMAC-SHA256 of a value's UTF-8 bytes: a string's own bytes;
// for any other JSON value, its JSON text (a number as written, true, null).
// An investigator who knows a value computes the same digest to find it.
func (h *Hasher) Sum(v any) string {
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	case json.Number:
		b = []byte(v.String())
	default:
		b, _ = json.Marshal(v)
	}
	m := hmac.New(sha256.New, h.key)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// PathTemplate is what the audit log writes of a downstream call's path:
// never a segment that came from neither the config nor the plugin's own
// template, and never the query. path is the escaped path called; keep, a
// prefix of it that came from the config (base_url's path, "" for none);
// template, the plugin's template of the path, used only when it matches
// path (whole, or the part after keep). Without a matching template each
// segment after keep is written as "{}".
func PathTemplate(path, keep, template string) string {
	if !strings.HasPrefix(path, keep) {
		keep = ""
	}
	rest := path[len(keep):]
	switch {
	case template != "" && matches(template, path):
		return template
	case template != "" && matches(template, rest):
		return keep + template
	}
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		if seg != "" {
			segs[i] = "{}"
		}
	}
	return keep + strings.Join(segs, "/")
}

// matches reports whether a template such as "/users/{id}" describes the
// escaped path p: the same segments, each {name} standing for one that is
// not empty.
func matches(template, p string) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(p, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i, t := range ts {
		if placeholder(t) {
			if ps[i] == "" {
				return false
			}
		} else if t != ps[i] {
			return false
		}
	}
	return true
}

func placeholder(seg string) bool {
	return len(seg) >= 2 && seg[0] == '{' && seg[len(seg)-1] == '}' && !strings.ContainsAny(seg[1:len(seg)-1], "{}")
}
