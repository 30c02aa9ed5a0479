package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkActionInProcess is one POST /actions/echo through the server and
// pipeline (decode, validate, call, validate, answer) with the handler in
// process: the host's own cost per request, without the network or a
// plugin. Compare allocations across changes with benchstat.
func BenchmarkActionInProcess(b *testing.B) {
	s := newServer(b, nil)
	body := `{"message":"hello from the benchmark"}`
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/actions/echo", strings.NewReader(body))
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}
