package sdk_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/switchboard-dev/switchboard/proto/pluginv1"
	"github.com/switchboard-dev/switchboard/sdk"
)

func ok(ctx context.Context, req *sdk.Request) (any, error) { return nil, nil }

// Each case must fail before serving, so that ServeWith returns at once.
func TestServeErrors(t *testing.T) {
	t.Setenv(pluginv1.Handshake().MagicCookieKey, "")
	quiet := sdk.ServeOptions{Logger: hclog.NewNullLogger()}
	inProcess := quiet
	inProcess.InProcess = func(net.Addr) { t.Error("go-plugin served") }
	tests := map[string]struct {
		opts    sdk.ServeOptions
		actions []*sdk.Action
		env     map[string]string
		want    []string
	}{
		"no actions": {quiet, nil, nil, []string{"no actions"}},
		"every mistake": {
			quiet,
			[]*sdk.Action{sdk.NewAction("1a").Handle(ok), sdk.NewAction("b"), sdk.NewAction("c").Handle(ok), sdk.NewAction("c").Handle(ok)},
			nil,
			[]string{`action "1a": name`, `action "b": no handler`, `action "c": declared twice`},
		},
		"run by hand": {quiet, []*sdk.Action{sdk.NewAction("a").Handle(ok)}, nil, []string{"Switchboard host starts it", "SWITCHBOARD_PLUGIN is not set"}},
		"go-plugin cannot listen": {
			inProcess, []*sdk.Action{sdk.NewAction("a").Handle(ok)},
			map[string]string{"PLUGIN_UNIX_SOCKET_DIR": filepath.Join(t.TempDir(), "missing")},
			[]string{"go-plugin could not serve", "plugin init error", "missing"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			err := sdk.ServeWith(tc.opts, tc.actions...)
			if err == nil {
				t.Fatal("ServeWith returned nil")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestServeWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- sdk.ServeWith(sdk.ServeOptions{
			Context:   ctx,
			Logger:    hclog.NewNullLogger(),
			InProcess: func(addr net.Addr) { listening <- addr },
		}, sdk.NewAction("a").Handle(ok))
	}()
	select {
	case addr := <-listening:
		if addr.Network() != "unix" {
			t.Errorf("serving on %v", addr)
		}
	case err := <-done:
		t.Fatalf("ServeWith returned before serving: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("ServeWith did not serve")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeWith = %v after its context was cancelled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeWith did not return when its context was cancelled")
	}
}

// A real plugin whose host dies without stopping it (kill -9) stops
// serving, and its main returns: the process is gone.
func TestServeEndsWithParent(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	bin := filepath.Join(t.TempDir(), "echo")
	build := exec.Command("go", "build", "-o", bin, "github.com/switchboard-dev/switchboard/plugins/echo")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The shell starts the plugin as a host would, says its pid, gives it
	// a second to start serving and exits, leaving it an orphan.
	h := pluginv1.Handshake()
	sh := exec.Command("sh", "-c", `"$0" >/dev/null 2>&1 </dev/null & echo $!; sleep 1`, bin)
	sh.Env = append(os.Environ(), h.MagicCookieKey+"="+h.MagicCookieValue)
	out, err := sh.Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("pid %q: %v", out, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("plugin %d still runs after its parent died", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// running reports whether the process exists and has not exited (a zombie
// has).
func running(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z") && !strings.HasPrefix(after, "X")
}
