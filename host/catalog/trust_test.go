package catalog

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/registry"
)

func sha256File(t *testing.T, path string) string {
	t.Helper()
	sum, err := FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func copyBinary(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	write(t, to, string(b), 0o755)
}

// TestInPlaceRewriteNeverRunsOtherBytes rewrites a pinned plugin file in
// place (same inode), toggling the bytes in which variant b differs from
// the pinned variant a, in a tight loop, while the host launches it again
// and again. A launch either is refused (its hash does not match) or runs
// exactly the pinned bytes: variant a, whose executable hashes to the pin.
func TestInPlaceRewriteNeverRunsOtherBytes(t *testing.T) {
	t.Parallel()
	a, err := os.ReadFile(variantA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(variantB)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("the variants differ in size (%d, %d); the test needs them equal", len(a), len(b))
	}
	type span struct{ off, end int }
	var diff []span
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] {
			if n := len(diff); n > 0 && diff[n-1].end >= i-8 {
				diff[n-1].end = i + 1
			} else {
				diff = append(diff, span{i, i + 1})
			}
		}
	}
	dir := socketRoot(t)
	path := filepath.Join(dir, "testplugin")
	copyBinary(t, variantA, path)
	pin := sha256File(t, path)

	// Each rewrite opens, writes and closes the file, as an attacker would:
	// a file held open for writing cannot be executed (ETXTBSY).
	rewrite := func(from []byte) error {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		for _, d := range diff {
			if _, err := f.WriteAt(from[d.off:d.end], int64(d.off)); err != nil {
				return err
			}
		}
		return nil
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var rewrites, writeErrs int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, from := range [][]byte{b, a} {
				if err := rewrite(from); err != nil {
					writeErrs++
				}
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			}
			rewrites++
		}
	}()

	var ran, refused int
	for launch := 0; launch < 60; launch++ {
		v, err := Verify(Binary{Name: "testplugin", Path: path})
		if err != nil {
			t.Fatal(err)
		}
		p, err := Start(context.Background(), v, ProcessOptions{SocketRoot: dir, Pins: []string{pin}})
		v.Close()
		if err != nil {
			if !strings.Contains(err.Error(), "does not match its pin") {
				t.Fatalf("launch %d: %v", launch, err)
			}
			refused++
			continue
		}
		ran++
		out, err := p.Invoke(context.Background(), &registry.Invocation{Action: "meta", RequestID: "r", Input: []byte(`{}`), ID: 1})
		if err != nil {
			t.Errorf("launch %d: meta: %v", launch, err)
		}
		var meta struct{ Variant string }
		json.Unmarshal(out, &meta)
		if meta.Variant != "a" {
			t.Errorf("launch %d ran variant %q under variant a's pin", launch, meta.Variant)
		}
		if got := sha256File(t, "/proc/"+strconv.Itoa(p.PID())+"/exe"); got != pin {
			t.Errorf("launch %d runs bytes hashing to %s, not the pin %s", launch, got, pin)
		}
		p.Kill()
	}
	close(stop)
	wg.Wait()
	t.Logf("60 launches during %d in-place rewrites (%d writes failed): %d ran the pinned bytes, %d were refused", rewrites, writeErrs, ran, refused)
	if ran == 0 {
		t.Error("no launch ran: the test did not exercise a launch that passes verification")
	}
}

// loadCatalog runs a supervisor over dir with the given plugin config and
// waits for its first load; the test's cleanup stops it.
func loadCatalog(t *testing.T, dir string, plugins map[string]config.Plugin, sup Supervision) *Supervisor {
	t.Helper()
	return runSupervisor(t, Options{Dir: dir, Plugins: plugins, Supervision: sup})
}

func runSupervisor(t *testing.T, opts Options) *Supervisor {
	t.Helper()
	cat, err := NewSupervisor(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cat.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stopping the plugins: %v", err)
		}
	})
	<-cat.Loaded()
	if err := cat.LoadError(); err != nil {
		t.Fatal(err)
	}
	return cat
}

func pinned(t *testing.T, path string) config.Plugin {
	p := config.DefaultPlugin()
	p.Pins = []string{sha256File(t, path)}
	return p
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func servedBy(cat *Supervisor, action string) string {
	a, ok := cat.opts.Registry.Current().Lookup(action)
	if !ok {
		return ""
	}
	return a.Plugin.Name
}

// TestPinnedPluginOwnsItsActions: an unpinned look-alike whose file name
// sorts first does not take the pinned plugin's action, at load or hot
// added; a pinned plugin hot added takes its action from an unpinned one.
func TestPinnedPluginOwnsItsActions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyBinary(t, echoBin, filepath.Join(dir, "a-lookalike"))
	copyBinary(t, echoBin, filepath.Join(dir, "z-echo"))
	plugins := map[string]config.Plugin{"z-echo": pinned(t, echoBin), "late-pinned": pinned(t, echoBin)}
	cat := loadCatalog(t, dir, plugins, Supervision{Watch: true, Debounce: 50 * time.Millisecond})

	if got := servedBy(cat, "echo"); got != "z-echo" {
		t.Fatalf("echo is served by %q at load, want the pinned z-echo", got)
	}
	if v, _ := cat.Plugin("a-lookalike"); v.State != StateRefused || !strings.Contains(v.Error, `belongs to pinned plugin "z-echo"`) {
		t.Errorf("the look-alike: %+v", v)
	}

	// Hot added, an unpinned look-alike is refused too.
	copyBinary(t, echoBin, filepath.Join(dir, "0-lookalike"))
	waitFor(t, "the hot-added look-alike to be refused", func() bool {
		v, _ := cat.Plugin("0-lookalike")
		return v.State == StateRefused
	})
	if got := servedBy(cat, "echo"); got != "z-echo" {
		t.Fatalf("echo is served by %q after a hot add, want z-echo", got)
	}

	// Without its pinned owner, echo goes to an unpinned plugin; a pinned
	// plugin added later takes it back, and the unpinned one is stopped.
	os.Remove(filepath.Join(dir, "z-echo"))
	os.Remove(filepath.Join(dir, "a-lookalike"))
	os.Remove(filepath.Join(dir, "0-lookalike"))
	copyBinary(t, echoBin, filepath.Join(dir, "unpinned"))
	waitFor(t, "the unpinned plugin to serve echo", func() bool { return servedBy(cat, "echo") == "unpinned" })
	copyBinary(t, echoBin, filepath.Join(dir, "late-pinned"))
	waitFor(t, "the pinned plugin to take echo", func() bool { return servedBy(cat, "echo") == "late-pinned" })
	v, _ := cat.Plugin("unpinned")
	if v.State != StateRefused || v.PID != 0 || !strings.Contains(v.Error, `pinned plugin "late-pinned"`) {
		t.Errorf("the displaced plugin: %+v", v)
	}
}

// TestDuplicateDeclarationIsRefusedAlone: a plugin declaring one action
// twice is refused; the others serve, and plugins added later are still
// registered.
func TestDuplicateDeclarationIsRefusedAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyBinary(t, dupBin, filepath.Join(dir, "dupplugin"))
	copyBinary(t, echoBin, filepath.Join(dir, "echo"))
	later := config.DefaultPlugin()
	later.Connections = []string{"genesys"}
	cat := loadCatalog(t, dir, map[string]config.Plugin{"later": later}, Supervision{Watch: true, Debounce: 50 * time.Millisecond})
	if v, _ := cat.Plugin("dupplugin"); v.State != StateRefused || !strings.Contains(v.Error, `declares action "twice" twice`) {
		t.Errorf("dupplugin: %+v", v)
	}
	if servedBy(cat, "echo") != "echo" {
		t.Error("echo is not served")
	}
	copyBinary(t, variantA, filepath.Join(dir, "later"))
	waitFor(t, "a plugin added later to be registered", func() bool { return servedBy(cat, "meta") == "later" })
	if servedBy(cat, "echo") != "echo" {
		t.Error("echo stopped serving")
	}
}

// TestUngrantedConnectionIsRefused: an action declaring a connection that
// the config does not grant its plugin refuses the plugin at load, naming
// both; the grant, or development mode, admits it.
func TestUngrantedConnectionIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyBinary(t, variantA, filepath.Join(dir, "testplugin"))
	cat := loadCatalog(t, dir, nil, Supervision{})
	v, _ := cat.Plugin("testplugin")
	if v.State != StateRefused || !strings.Contains(v.Error, `action "callOut" uses connection "genesys", which the config does not grant plugin "testplugin"`) {
		t.Fatalf("ungranted: %+v", v)
	}

	granted := config.DefaultPlugin()
	granted.Connections = []string{"genesys"}
	cat = loadCatalog(t, dir, map[string]config.Plugin{"testplugin": granted}, Supervision{})
	if v, _ := cat.Plugin("testplugin"); v.State != StateServing {
		t.Errorf("granted: %+v", v)
	}

	dev := runSupervisor(t, Options{Dir: dir, GrantDeclared: true})
	if v, _ := dev.Plugin("testplugin"); v.State != StateServing {
		t.Errorf("development mode: %+v", v)
	}
}
