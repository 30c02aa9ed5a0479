package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-dev/switchboard/host/audit"
	"github.com/switchboard-dev/switchboard/host/metrics"
	"github.com/switchboard-dev/switchboard/host/pipeline"
	"github.com/switchboard-dev/switchboard/host/registry"
)

type panicking struct{}

func (panicking) Invoke(context.Context, *registry.Invocation) ([]byte, error) { panic("boom") }
func (panicking) Plugins() any                                                 { panic("boom") }
func (panicking) Reload(context.Context, string) (any, error)                  { panic("boom") }
func (panicking) Config() any                                                  { panic("boom") }
func (panicking) ReloadConfig(context.Context, bool) (any, error)              { panic("boom") }
func (panicking) PurgeCache(context.Context, string, json.RawMessage, string) (int, error) {
	panic("boom")
}

// TestPanicsBecomeAudited500s: a panic anywhere in the request path — the
// pipeline's invoker, the admin API — answers 500 internal_error, and the
// request still gets its audit record and its metrics sample.
func TestPanicsBecomeAudited500s(t *testing.T) {
	t.Parallel()
	a, err := registry.NewAction(registry.Description{Name: "boom"}, registry.Plugin{Name: "boom"}, panicking{}, registry.Overrides{}, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := registry.NewSnapshot(a)
	reg := &registry.Registry{}
	reg.Swap(snap)
	path := filepath.Join(t.TempDir(), "audit.log")
	log, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	promReg := prometheus.NewRegistry()
	m, err := metrics.New(promReg)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Pipeline: pipeline.New(reg, pipeline.Options{}), MaxBodyBytes: 1 << 16, Admin: panicking{}, Audit: log, Observer: m})
	for _, req := range []*http.Request{
		httptest.NewRequest("POST", "/actions/boom", strings.NewReader(`{}`)),
		httptest.NewRequest("GET", "/admin/plugins", nil),
	} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != 500 || !strings.Contains(w.Body.String(), `"code":"internal_error"`) {
			t.Errorf("%s %s: %d %s", req.Method, req.URL.Path, w.Code, w.Body)
		}
	}
	raw, _ := os.ReadFile(path)
	if n := strings.Count(string(raw), `"code":"internal_error"`); n != 2 {
		t.Errorf("%d audit records of the panics, want 2:\n%s", n, raw)
	}
	families, err := promReg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted := 0.0
	for _, f := range families {
		if f.GetName() != "switchboard_requests_total" {
			continue
		}
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == "internal_error" {
					counted += mt.GetCounter().GetValue()
				}
			}
		}
	}
	if counted != 2 {
		t.Errorf("requests counted as internal_error: %v, want 2", counted)
	}
}
