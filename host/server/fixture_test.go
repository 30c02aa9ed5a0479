package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/audit"
	"github.com/switchboard-dev/switchboard/host/internal/testutil"
	"github.com/switchboard-dev/switchboard/host/mapping"
	"github.com/switchboard-dev/switchboard/host/metrics"
	"github.com/switchboard-dev/switchboard/host/pipeline"
	"github.com/switchboard-dev/switchboard/host/registry"
)

// The fixture: the HTTP API over in-process actions that answer as the
// test plugin's do, so that the HTTP contract is checked in milliseconds.
// What only a real plugin process can show (the wire, the SDK's own
// answers, crashes) is tested in host/app and host/cli.

// invokerFunc is an action's handler, in process.
type invokerFunc func(ctx context.Context, inv *registry.Invocation) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, inv *registry.Invocation) ([]byte, error) {
	return f(ctx, inv)
}

func returnInput(_ context.Context, inv *registry.Invocation) ([]byte, error) { return inv.Input, nil }

func returns(out string) invokerFunc {
	return func(context.Context, *registry.Invocation) ([]byte, error) { return []byte(out), nil }
}

const messageSchema = `{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}`

// slowBudget is the budget of the action "slow".
const slowBudget = 300 * time.Millisecond

type fixtureAction struct {
	desc registry.Description
	ov   registry.Overrides
	inv  registry.Invoker
}

var fixtureActions = []fixtureAction{
	{desc: registry.Description{Name: "echo", Version: "1.0.0", InputSchema: []byte(messageSchema), OutputSchema: []byte(messageSchema)}, inv: invokerFunc(returnInput)},
	{
		desc: registry.Description{
			Name:        "lookup",
			InputSchema: []byte(`{"type":"object","properties":{"userId":{"type":"string"},"lang":{"type":"string"}},"required":["userId"]}`),
			Mapping: []mapping.Rule{
				{Target: "/userId", Source: "/data/user/id"},
				{Target: "/lang", Source: "/data/lang", Default: json.RawMessage(`"en-IE"`)},
				{Target: "/org", Source: "/metadata/organizationId", Default: json.RawMessage(`""`)},
				{Target: "/requestId", Source: "/requestId"},
			},
		},
		inv: invokerFunc(returnInput),
	},
	{desc: registry.Description{Name: "meta"}, inv: invokerFunc(func(_ context.Context, inv *registry.Invocation) ([]byte, error) {
		return json.Marshal(map[string]any{"requestId": inv.RequestID, "metadata": inv.Metadata})
	})},
	{desc: registry.Description{Name: "fail", InputSchema: []byte(`{"type":"object","properties":{"typed":{"type":"boolean"}}}`)}, inv: invokerFunc(fail)},
	{desc: registry.Description{Name: "failAsData", InputSchema: []byte(`{"type":"object","properties":{"typed":{"type":"boolean"}}}`)},
		ov: registry.Overrides{ErrorsAsData: true}, inv: invokerFunc(fail)},
	{desc: registry.Description{Name: "echoAsData"}, ov: registry.Overrides{ErrorsAsData: true}, inv: invokerFunc(returnInput)},
	{desc: registry.Description{Name: "badOutput", OutputSchema: []byte(`{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}`)}, inv: returns(`{"id":5}`)},
	{desc: registry.Description{Name: "badEmail", OutputSchema: []byte(`{"type":"object","properties":{"email":{"type":"string","format":"email"}},"required":["email"]}`)},
		inv: returns(`{"email":"jane.doe.at.example.com"}`)},
	{desc: registry.Description{Name: "notObject"}, inv: returns(`["a"]`)},
	{desc: registry.Description{Name: "slow", Timeout: slowBudget, InputSchema: []byte(`{"type":"object","properties":{"ms":{"type":"integer"}},"required":["ms"]}`)},
		inv: invokerFunc(slow)},
	{desc: registry.Description{Name: "slowWithMore", Timeout: slowBudget}, ov: registry.Overrides{Timeout: 10 * slowBudget}, inv: invokerFunc(slow)},
}

// fail answers as the test plugin's "fail": a typed error, or a plain one
// whose text must never reach the caller.
func fail(_ context.Context, inv *registry.Invocation) ([]byte, error) {
	var in struct{ Typed bool }
	json.Unmarshal(inv.Input, &in)
	if in.Typed {
		return nil, apierr.New(404, "user_not_found", "no such user")
	}
	return nil, errors.New("database password is hunter2")
}

// slow sleeps for its input's "ms", or until its budget ends.
func slow(ctx context.Context, inv *registry.Invocation) ([]byte, error) {
	var in struct{ MS int }
	json.Unmarshal(inv.Input, &in)
	select {
	case <-time.After(time.Duration(in.MS) * time.Millisecond):
		return []byte(`{"slept":` + strconv.Itoa(in.MS) + `}`), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// newServer is the API over the fixture's actions, with the options
// configure changes (nil for none).
func newServer(t testing.TB, configure func(*Options)) *Server {
	t.Helper()
	var actions []*registry.Action
	for _, fa := range fixtureActions {
		a, err := registry.NewAction(fa.desc, registry.Plugin{Name: "fixture", SHA256: strings.Repeat("f", 64)}, fa.inv, fa.ov, registry.Options{})
		if err != nil {
			t.Fatal(err)
		}
		actions = append(actions, a)
	}
	snap, err := registry.NewSnapshot(actions...)
	if err != nil {
		t.Fatal(err)
	}
	reg := &registry.Registry{}
	reg.Swap(snap)
	opts := Options{Pipeline: pipeline.New(reg, pipeline.Options{}), MaxBodyBytes: maxBody}
	if configure != nil {
		configure(&opts)
	}
	return New(opts)
}

// maxBody is the fixture's body limit.
const maxBody = 4096

// fixtureLimits are short, so that slow clients are dropped quickly.
var fixtureLimits = Limits{ReadHeader: 300 * time.Millisecond, Read: 600 * time.Millisecond, Write: 5 * time.Second, Idle: time.Minute}

// fixture is newServer's API on a real HTTP server on 127.0.0.1:0, with
// the host's limits, an audit file and Prometheus metrics.
type fixture struct {
	server    *Server
	url       string
	auditPath string
	audit     *audit.Log
	metrics   *prometheus.Registry
}

func serve(t *testing.T, configure func(*Options)) *fixture {
	t.Helper()
	f := &fixture{auditPath: filepath.Join(t.TempDir(), "audit.log"), metrics: prometheus.NewRegistry()}
	log, err := audit.Open(f.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	f.audit = log
	m, err := metrics.New(f.metrics)
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, func(o *Options) {
		o.Audit, o.Observer = log, m
		if configure != nil {
			configure(o)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := HTTPServer("", s, fixtureLimits, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	f.url, f.server = "http://"+ln.Addr().String(), s
	return f
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// errorBody decodes the error body.
func (a answer) errorBody(t *testing.T) apierr.Body {
	t.Helper()
	var b apierr.Body
	if err := json.Unmarshal(a.body, &b); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, a.body)
	}
	return b
}

// send sends a request with the path exactly as written.
func (f *fixture) send(t *testing.T, method, path, contentType, body string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, f.url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = path
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	a := testutil.Do(t, http.DefaultClient, req, header)
	return answer{status: a.Status, header: a.Header, body: a.Body}
}

func (f *fixture) post(t *testing.T, path, body string, header map[string]string) answer {
	t.Helper()
	return f.send(t, http.MethodPost, path, "application/json", body, header)
}

// counter sums a Prometheus counter family over the series with labels.
func (f *fixture) counter(t *testing.T, family string, labels map[string]string) float64 {
	t.Helper()
	families, err := f.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, fam := range families {
		if fam.GetName() != family {
			continue
		}
	series:
		for _, m := range fam.GetMetric() {
			for k, v := range labels {
				found := false
				for _, l := range m.GetLabel() {
					found = found || l.GetName() == k && l.GetValue() == v
				}
				if !found {
					continue series
				}
			}
			total += m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}
