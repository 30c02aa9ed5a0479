package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/apierr"
	"github.com/switchboard-dev/switchboard/host/registry"
	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

// startProtocols starts path offering the plugin only the given protocol
// versions (nil: all); the test's cleanup stops it.
func startProtocols(t *testing.T, path string, protocols []int) *Process {
	t.Helper()
	v, err := Verify(Binary{Name: "p", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	p, err := Start(context.Background(), v, ProcessOptions{SocketRoot: socketRoot(t), Protocols: protocols})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill() })
	return p
}

var lastInvocationID atomic.Uint64

func call(ctx context.Context, p *Process, action, input string) ([]byte, error) {
	return p.Invoke(ctx, &registry.Invocation{Action: action, RequestID: "r", Input: []byte(input), ID: lastInvocationID.Add(1)})
}

// Go plugins speak both versions: the newest the host offers is the one
// used, and both carry outputs, typed errors, panics and the budget alike.
func TestBothProtocolVersionsServe(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		offered []int
		want    int
	}{{nil, pluginv1.ProtocolSession}, {[]int{pluginv1.ProtocolUnary}, pluginv1.ProtocolUnary}, {[]int{pluginv1.ProtocolSession}, pluginv1.ProtocolSession}} {
		t.Run(fmt.Sprint(tc.offered), func(t *testing.T) {
			t.Parallel()
			p := startProtocols(t, variantA, tc.offered)
			if p.Protocol() != tc.want {
				t.Fatalf("negotiated protocol %d, want %d", p.Protocol(), tc.want)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			out, err := call(ctx, p, "meta", `{}`)
			var meta struct {
				Action      string
				DeadlineSet bool
			}
			if err != nil || json.Unmarshal(out, &meta) != nil || meta.Action != "meta" || !meta.DeadlineSet {
				t.Errorf("meta: %s, %v (the handler must see the action and its deadline)", out, err)
			}
			_, err = call(ctx, p, "fail", `{"typed":true}`)
			var e *apierr.Error
			if !errors.As(err, &e) || e.Status != 404 || e.Code != "user_not_found" {
				t.Errorf("fail: %v, want the plugin's typed 404 user_not_found", err)
			}
			_, err = call(ctx, p, "panic", `{}`)
			if !errors.As(err, &e) || e.Code != "plugin_panic" {
				t.Errorf("panic: %v, want plugin_panic", err)
			}
			if out, err := call(ctx, p, "meta", `{}`); err != nil {
				t.Errorf("after the panic: %s, %v", out, err)
			}
		})
	}
}

// Many invocations share one stream and end in any order; each caller
// gets its own answer.
func TestSessionMatchesAnswersToCallers(t *testing.T) {
	t.Parallel()
	p := startProtocols(t, echoBin, nil)
	slow := startProtocols(t, variantA, nil)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			in := fmt.Sprintf(`{"message":"m-%d"}`, i)
			out, err := call(context.Background(), p, "echo", in)
			if err != nil || string(out) != in {
				t.Errorf("call %d got %s, %v; want its own input back", i, out, err)
			}
		})
	}
	wg.Wait()

	started := time.Now()
	done := make(chan time.Duration, 1)
	go func() {
		call(context.Background(), slow, "slow", `{"ms":300}`)
		done <- time.Since(started)
	}()
	time.Sleep(20 * time.Millisecond)
	if _, err := call(context.Background(), slow, "meta", `{}`); err != nil {
		t.Fatal(err)
	}
	if fast := time.Since(started); fast > 250*time.Millisecond {
		t.Errorf("a fast call behind a slow one on the same stream took %v: it waited for it", fast)
	}
	if d := <-done; d < 300*time.Millisecond {
		t.Errorf("slow answered after %v", d)
	}
}

// The plugin's handler sees its context end when the host's caller goes
// away (the cancel frame) and when the budget is spent (the budget sent
// with the call), and the host answers at once either way.
func TestSessionCancelsWhatTheHostAbandons(t *testing.T) {
	t.Parallel()
	p := startProtocols(t, variantA, nil)
	count := func() int {
		out, err := call(context.Background(), p, "cancelled", `{}`)
		var c struct{ Count int }
		if err != nil || json.Unmarshal(out, &c) != nil {
			t.Fatalf("cancelled: %s, %v", out, err)
		}
		return c.Count
	}
	waitCount := func(want int) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); count() != want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("the plugin saw %d cancellations, want %d", count(), want)
			}
		}
	}

	ctx, cancel := context.WithCancel(context.Background()) // no deadline: only the cancel frame tells the plugin
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := call(ctx, p, "awaitCancel", `{}`); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled call answered %v", err)
	}
	waitCount(1)

	// Past the budget, either side may see it first: the host's deadline,
	// or the plugin's answer of its own spent budget.
	ctx, cancel = context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	var e *apierr.Error
	if _, err := call(ctx, p, "awaitCancel", `{}`); !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &e) && e.Code == "timeout") {
		t.Errorf("a call past its budget answered %v", err)
	}
	waitCount(2)
}

// A process that dies fails every call waiting on its stream at once, as
// unavailable, and the next call too.
func TestSessionFailsWaitingCallsWhenThePluginDies(t *testing.T) {
	t.Parallel()
	p := startProtocols(t, variantA, nil)
	waiting := make(chan error, 1)
	go func() {
		_, err := call(context.Background(), p, "awaitCancel", `{}`)
		waiting <- err
	}()
	time.Sleep(20 * time.Millisecond)
	call(context.Background(), p, "exit", `{}`)
	var e *apierr.Error
	select {
	case err := <-waiting:
		if !errors.As(err, &e) || e.Code != "plugin_unavailable" || e.Status != 503 {
			t.Errorf("the waiting call answered %v, want 503 plugin_unavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting call still waits after its plugin died")
	}
	select {
	case <-p.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("the process is not marked lost")
	}
	if _, err := call(context.Background(), p, "meta", `{}`); !errors.As(err, &e) || e.Code != "plugin_unavailable" {
		t.Errorf("a call after the death answered %v", err)
	}
}
