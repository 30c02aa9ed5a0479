package pipeline

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/host/apierr"
)

// Reply is what the caller gets for an invocation: the same for the HTTP
// server and for `switchboard invoke`.
type Reply struct {
	Status int
	// Code is the outcome as metrics and the audit log count it: "ok", or
	// the failure's code (also when errors = "data" answers it with 200).
	Code string
	// Body is the answer; nil when Err is to be rendered as the error body
	// (which names the request id: the server's to write).
	Body []byte
	Err  *apierr.Error
}

// Answer shapes an invocation's result into its reply. An action with
// errors = "data" answers its failures with 200 and {"ok": false, "status",
// "code", "message", "retryable"}, its successes with "ok": true added, so
// that an Architect flow can branch on them; the others answer failures
// with their status and the error body.
func Answer(res Result, err error) Reply {
	e := apierr.From(err)
	switch {
	case res.Action == nil || !res.Action.ErrorsAsData:
		if e != nil {
			return Reply{Status: e.Status, Code: e.Code, Err: e}
		}
		return Reply{Status: http.StatusOK, Code: "ok", Body: res.Output}
	case e != nil:
		b, _ := json.Marshal(dataError{OK: false, Status: e.Status, Code: e.Code, Message: e.Message, Retryable: e.Retryable})
		return Reply{Status: http.StatusOK, Code: e.Code, Body: b}
	}
	out := bytes.TrimSpace(res.Output) // an object: the pipeline validated it
	rest := bytes.TrimSpace(out[1:])
	b := make([]byte, 0, len(out)+11)
	b = append(b, `{"ok":true`...)
	if rest[0] != '}' {
		b = append(b, ',')
	}
	return Reply{Status: http.StatusOK, Code: "ok", Body: append(b, rest...)}
}

type dataError struct {
	OK        bool   `json:"ok"`
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// Envelope wraps a successful reply in the seed's envelope
// {"requestId", "data"}; a failure keeps its error body.
func Envelope(requestID string, r Reply) Reply {
	if r.Err != nil {
		return r
	}
	id, _ := json.Marshal(requestID)
	b := make([]byte, 0, len(r.Body)+len(id)+24)
	b = append(b, `{"requestId":`...)
	b = append(b, id...)
	b = append(b, `,"data":`...)
	b = append(b, r.Body...)
	r.Body = append(b, '}')
	return r
}

// RequestID picks a request's id: the first valid candidate, in the order
// given — Genesys Cloud's ININ-Correlation-Id, then X-Request-Id, then the
// envelope's requestId — else a new UUID. An invalid candidate is skipped,
// never a reason to drop the valid ones after it.
func RequestID(candidates ...string) string {
	if id := FirstValidID(candidates...); id != "" {
		return id
	}
	return uuid.NewString()
}

// FirstValidID is the first valid candidate, in the order given, or "".
func FirstValidID(candidates ...string) string {
	for _, c := range candidates {
		if ValidID(c) {
			return c
		}
	}
	return ""
}

// ValidID reports whether a caller's id may be used: at most 128 of
// [A-Za-z0-9._:/+=@-], so that no caller can forge log lines with it.
func ValidID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:/+=@-", c) >= 0) {
			return false
		}
	}
	return true
}
