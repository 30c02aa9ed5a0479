// Package audit writes one JSON record per inbound request, failures
// included, for a contact centre's security review: who called, which
// action and plugin ran, how it ended, and which downstream calls it made —
// never a credential, and no input or output value unless the operator names
// an input field, which is then written only as a keyed HMAC-SHA256 digest.
package audit

import (
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

	mu sync.Mutex // guards Outbound: a plugin may call out concurrently
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
	Path       string  `json:"path,omitempty"` // a template: id-like segments are {id}, no query
	Status     int     `json:"status,omitempty"`
	Code       string  `json:"code,omitempty"` // the refusal or failure, when there was no answer
	Attempts   int     `json:"attempts"`
	DurationMS float64 `json:"durationMs"`
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

// PathTemplate keeps a URL path's shape and drops what may identify a
// person: segments that are not plain words (ids, numbers, phone numbers,
// e-mail addresses) become {id}. The query is never kept.
func PathTemplate(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if s != "" && !wordLike(s) {
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}

// wordLike is a letter, then letters, '-', '_' or '.', and at most three
// digits at the end ("v2", "users", "external-contacts").
func wordLike(s string) bool {
	if len(s) > 40 {
		return false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			if digits > 0 {
				return false
			}
		case c >= '0' && c <= '9':
			if i == 0 {
				return false
			}
			digits++
		case (c == '-' || c == '_' || c == '.') && i > 0 && digits == 0:
		default:
			return false
		}
	}
	return digits <= 3
}
