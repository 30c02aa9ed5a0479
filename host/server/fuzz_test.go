package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequest sends arbitrary requests (route, body, content type, request
// id) through the HTTP handler: it never panics, every answer is JSON with a
// request id, errors have the error body, and echo answers its input.
func FuzzRequest(f *testing.F) {
	for _, seed := range []struct{ path, body, ct, id string }{
		{"/actions/echo", `{"message":"hi"}`, "application/json", ""},
		{"/actions/echo", `{"message":3}`, "", "abc"},
		{"/webhook/data-action", `{"requestId":"r-1","action":"echo","data":{"message":"x"}}`, "application/json", ""},
		{"/webhook/data-action", `{"action":"echo","data":[1]}`, "application/x-www-form-urlencoded", "bad id\n"},
		{"/actions/..%2F..%2Fetc%2Fpasswd", `{}`, "text/xml", ""},
		{"/actions/" + strings.Repeat("a", 300), `{"message":"x"}`, "application/json", strings.Repeat("i", 200)},
		{"/nowhere", "\xff", "application/json; charset=utf-8", ""},
	} {
		f.Add(seed.path, seed.body, seed.ct, seed.id)
	}
	s := newServer(f, nil)
	f.Fuzz(func(t *testing.T, path, body, ct, id string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n?#") {
			return
		}
		req, err := http.NewRequest(http.MethodPost, "http://switchboard"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set("X-Request-Id", id)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		res := w.Result()
		if res.StatusCode >= 300 && res.StatusCode < 400 {
			return // the mux redirects unclean paths
		}
		if res.Header.Get("X-Request-Id") == "" {
			t.Fatalf("%s: no X-Request-Id", path)
		}
		out := w.Body.Bytes()
		if !json.Valid(out) {
			t.Fatalf("%s %q: answer %d is not JSON: %q", path, body, res.StatusCode, out)
		}
		if res.StatusCode != http.StatusOK {
			var e struct {
				Status    int
				Code      string
				RequestID string
			}
			if json.Unmarshal(out, &e) != nil || e.Status != res.StatusCode || e.Code == "" || e.RequestID != res.Header.Get("X-Request-Id") {
				t.Fatalf("%s: error body %s for status %d", path, out, res.StatusCode)
			}
			return
		}
		if path == "/actions/echo" && !bytes.Equal(out, []byte(body)) {
			t.Fatalf("echo answered %q to %q", out, body)
		}
	})
}
