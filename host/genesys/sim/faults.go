package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault makes the simulator misbehave for the next Count requests whose
// path matches Path. Faults are kept in the order they were added; a
// request takes one use of the first fault that matches it, and only that
// one.
//
// In JSON, Latency is a Go duration string ("300ms") and unknown fields are
// an error.
type Fault struct {
	// Path matches a request path equal to it or below it: "/api/v2/users"
	// matches "/api/v2/users/{id}", not "/api/v2/usersx". Empty matches
	// every simulated endpoint. Faults never apply to /sim/.
	Path string
	// Status, when not 0, is answered instead of serving the request
	// (400–599), with the error body of the endpoint: the login service's
	// for /oauth/token, the platform API's for /api/.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header of the Status
	// answer: whole seconds ("2") or an HTTP date.
	RetryAfter string
	// Latency delays the answer, faulty or not. A client that gives up
	// ends the wait, and the request gets no answer.
	Latency time.Duration
	// Count is how many matching requests the fault applies to: 0 means 1,
	// -1 means every one until the faults are cleared.
	Count int
}

// faultJSON is Fault's JSON form.
type faultJSON struct {
	Path       string `json:"path,omitempty"`
	Status     int    `json:"status,omitempty"`
	RetryAfter string `json:"retryAfter,omitempty"`
	Latency    string `json:"latency,omitempty"`
	Count      int    `json:"count"`
}

// MarshalJSON encodes f with its latency as a duration string.
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Path: f.Path, Status: f.Status, RetryAfter: f.RetryAfter, Count: f.Count}
	if f.Latency != 0 {
		j.Latency = f.Latency.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes a fault, rejecting unknown fields and malformed
// latencies. It does not check the values: AddFault does.
func (f *Fault) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var j faultJSON
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("fault: %w", err)
	}
	var latency time.Duration
	if j.Latency != "" {
		d, err := time.ParseDuration(j.Latency)
		if err != nil {
			return fmt.Errorf("fault: latency: %w", err)
		}
		latency = d
	}
	*f = Fault{Path: j.Path, Status: j.Status, RetryAfter: j.RetryAfter, Latency: latency, Count: j.Count}
	return nil
}

// validate reports what makes f unusable.
func (f Fault) validate() error {
	var errs []error
	if f.Path != "" && !strings.HasPrefix(f.Path, "/") {
		errs = append(errs, fmt.Errorf("path %q must start with /", f.Path))
	}
	if f.Path == "/sim" || strings.HasPrefix(f.Path, "/sim/") {
		errs = append(errs, fmt.Errorf("path %q: faults do not apply to the admin API", f.Path))
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		errs = append(errs, fmt.Errorf("status %d is not an error status (400–599)", f.Status))
	}
	if f.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency %s is negative", f.Latency))
	}
	if f.Status == 0 && f.Latency == 0 {
		errs = append(errs, errors.New("a fault needs a status, a latency or both"))
	}
	if f.RetryAfter != "" {
		if f.Status == 0 {
			errs = append(errs, errors.New("retryAfter needs a status"))
		}
		if !validRetryAfter(f.RetryAfter) {
			errs = append(errs, fmt.Errorf("retryAfter %q is neither whole seconds nor an HTTP date", f.RetryAfter))
		}
	}
	if f.Count < -1 {
		errs = append(errs, fmt.Errorf("count %d: want -1 (forever), 0 (once) or a positive number", f.Count))
	}
	return errors.Join(errs...)
}

// validRetryAfter reports whether v is a Retry-After value (RFC 9110 §10.2.3).
func validRetryAfter(v string) bool {
	if n, err := strconv.Atoi(v); err == nil {
		return n >= 0
	}
	_, err := http.ParseTime(v)
	return err == nil
}

// matches reports whether the fault applies to a request for path.
func (f Fault) matches(path string) bool {
	if f.Path == "" || path == f.Path {
		return true
	}
	return strings.HasPrefix(path, strings.TrimSuffix(f.Path, "/")+"/")
}

// AddFault appends f to the faults, after the ones already there.
func (s *Server) AddFault(f Fault) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("invalid fault: %w", err)
	}
	if f.Count == 0 {
		f.Count = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, f)
	s.mu.Unlock()
	s.log.Info("sim: fault added", "path", f.Path, "status", f.Status,
		"retryAfter", f.RetryAfter, "latency", f.Latency, "count", f.Count)
	return nil
}

// Faults returns the faults still pending, in order, each with its remaining
// count.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fault{}, s.faults...)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
	s.log.Info("sim: faults cleared")
}
