package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/registry"
)

type invokerFunc func(ctx context.Context, inv *registry.Invocation) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, inv *registry.Invocation) ([]byte, error) {
	return f(ctx, inv)
}

// pipelineOf is a pipeline over one action "a" with the budget and handler.
func pipelineOf(t *testing.T, budget time.Duration, ov registry.Overrides, f invokerFunc) *Pipeline {
	t.Helper()
	a, err := registry.NewAction(registry.Description{Name: "a", Timeout: budget}, registry.Plugin{Name: "p"}, f, ov, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := registry.NewSnapshot(a)
	if err != nil {
		t.Fatal(err)
	}
	reg := &registry.Registry{}
	reg.Swap(snap)
	return New(reg, Options{})
}

func TestMargin(t *testing.T) {
	t.Parallel()
	for budget, want := range map[time.Duration]time.Duration{
		60 * time.Millisecond:  30 * time.Millisecond, // never more than half
		300 * time.Millisecond: 50 * time.Millisecond,
		2 * time.Second:        100 * time.Millisecond,
		20 * time.Second:       500 * time.Millisecond,
		60 * time.Second:       500 * time.Millisecond,
	} {
		if got := Margin(budget); got != want {
			t.Errorf("Margin(%v) = %v, want %v", budget, got, want)
		}
	}
}

// TestTheHandlerGetsTheBudgetLessTheMargin: the deadline the handler sees
// is the action's budget, less Margin, from when the pipeline ran: so the
// 504 leaves the host before Genesys Cloud's own timeout. Checked on the
// deadline itself, not on a clock, so it holds on any machine.
func TestTheHandlerGetsTheBudgetLessTheMargin(t *testing.T) {
	t.Parallel()
	for _, budget := range []time.Duration{300 * time.Millisecond, 8 * time.Second, 60 * time.Second} {
		var deadline time.Time
		p := pipelineOf(t, budget, registry.Overrides{}, func(ctx context.Context, _ *registry.Invocation) ([]byte, error) {
			deadline, _ = ctx.Deadline()
			return []byte(`{}`), nil
		})
		start := time.Now()
		if _, err := p.Run(context.Background(), &Call{Action: "a", Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		end := time.Now()
		want := budget - Margin(budget)
		if deadline.Before(start.Add(want)) || deadline.After(end.Add(want)) {
			t.Errorf("budget %v: the deadline is %v after the call began, want %v", budget, deadline.Sub(start), want)
		}
	}
}

// TestInvokeFailures: invokeFailed is the one place that decides what a
// failed invocation answers.
func TestInvokeFailures(t *testing.T) {
	t.Parallel()
	typed := apierr.New(http.StatusNotFound, "user_not_found", "no such user")
	tests := map[string]struct {
		err    error
		cancel bool // the caller goes away first
		status int
		code   string
	}{
		"a typed error passes through":      {typed, false, 404, "user_not_found"},
		"the budget ran out":                {context.DeadlineExceeded, false, 504, "timeout"},
		"the plugin saw its deadline first": {fmt.Errorf("action %q: %w", "a", context.DeadlineExceeded), false, 504, "timeout"},
		"the caller went away":              {context.Canceled, true, apierr.StatusClientClosed, "client_closed_request"},
		"a plain error says nothing":        {errors.New("database password is hunter2"), false, 500, "internal_error"},
	}
	for name, tc := range tests {
		ctx, cancel := context.WithCancel(context.Background())
		p := pipelineOf(t, time.Second, registry.Overrides{}, func(context.Context, *registry.Invocation) ([]byte, error) {
			if tc.cancel {
				cancel()
			}
			return nil, tc.err
		})
		_, err := p.Run(ctx, &Call{Action: "a", Body: []byte(`{}`)})
		cancel()
		e := apierr.From(err)
		if e == nil || e.Status != tc.status || e.Code != tc.code || strings.Contains(e.Message, "hunter2") {
			t.Errorf("%s: %v, want %d %s", name, err, tc.status, tc.code)
		}
	}
}

func TestAnswerAndEnvelope(t *testing.T) {
	t.Parallel()
	fails := func(context.Context, *registry.Invocation) ([]byte, error) {
		return nil, apierr.New(404, "user_not_found", "no such user")
	}
	succeeds := func(context.Context, *registry.Invocation) ([]byte, error) { return []byte(` {"name":"x"} `), nil }
	tests := map[string]struct {
		f      invokerFunc
		asData bool
		status int
		code   string
		body   string // "" when the reply is an error body
	}{
		"success":          {succeeds, false, 200, "ok", ` {"name":"x"} `},
		"failure":          {fails, false, 404, "user_not_found", ""},
		"success as data":  {succeeds, true, 200, "ok", `{"ok":true,"name":"x"}`},
		"failure as data":  {fails, true, 200, "user_not_found", `{"ok":false,"status":404,"code":"user_not_found","message":"no such user","retryable":false}`},
		"enveloped":        {succeeds, false, 200, "ok", ` {"name":"x"} `},
		"enveloped, error": {fails, false, 404, "user_not_found", ""},
	}
	for name, tc := range tests {
		p := pipelineOf(t, time.Second, registry.Overrides{ErrorsAsData: tc.asData}, tc.f)
		r := Answer(p.Run(context.Background(), &Call{Action: "a", Body: []byte(`{}`)}))
		want := tc.body
		if strings.HasPrefix(name, "enveloped") {
			r = Envelope("r-1", r)
			if want != "" {
				want = `{"requestId":"r-1","data":` + want + `}`
			}
		}
		if r.Status != tc.status || r.Code != tc.code || string(r.Body) != want || (want == "") != (r.Err != nil) {
			t.Errorf("%s: %+v, want %d %s %s", name, r, tc.status, tc.code, want)
		}
	}
	if r := Answer(Result{}, apierr.New(404, "action_not_found", "no action")); r.Status != 404 || r.Err == nil {
		t.Errorf("no action: %+v", r)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("i", 129)
	for _, tc := range []struct {
		candidates []string
		want       string // "" for a new UUID
	}{
		{[]string{"corr-1", "req-7", "env-1"}, "corr-1"},
		{[]string{"", "req-7", "env-1"}, "req-7"},
		{[]string{"", "a b", "env-1"}, "env-1"},
		{[]string{long, "x\ny", "env-1"}, "env-1"},
		{[]string{"", "", ""}, ""},
		{[]string{"ok:/+=@._-A9"}, "ok:/+=@._-A9"},
		{[]string{"é"}, ""},
	} {
		got := RequestID(tc.candidates...)
		if tc.want != "" && got != tc.want || tc.want == "" && len(got) != 36 {
			t.Errorf("RequestID(%q) = %q, want %q (or a new UUID)", tc.candidates, got, tc.want)
		}
	}
}
