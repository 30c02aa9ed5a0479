package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/catalog"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/internal/testutil"
)

// fastSupervision watches the directory and reacts in tens of milliseconds.
var fastSupervision = catalog.Supervision{
	Watch:          true,
	Debounce:       100 * time.Millisecond,
	HealthInterval: -1,
	RestartDelay:   20 * time.Millisecond,
	Grace:          200 * time.Millisecond,
}

// privateDir copies the named built plugins into a directory of the test's own.
func privateDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		copyFile(t, filepath.Join(pluginDir, n), filepath.Join(dir, n))
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// supervisedHost starts a host over dir with the given supervision.
func supervisedHost(t *testing.T, dir string, sup catalog.Supervision, mutate func(*config.Config)) (*app.Host, *httptest.Server) {
	t.Helper()
	cfg := testConfig()
	cfg.PluginDir = dir
	if mutate != nil {
		mutate(cfg)
	}
	host, err := app.NewWithOptions(cfg, nil, app.Options{Supervision: sup})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(host.Close)
	if _, err := host.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(host.Handler())
	t.Cleanup(srv.Close)
	return host, srv
}

func pluginViews(t *testing.T, url string) map[string]catalog.PluginView {
	t.Helper()
	resp, err := http.Get(url + "/admin/plugins")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var views []catalog.PluginView
	if err := json.NewDecoder(resp.Body).Decode(&views); err != nil {
		t.Fatal(err)
	}
	out := map[string]catalog.PluginView{}
	for _, v := range views {
		out[v.Name] = v
	}
	return out
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// load sends requests in a loop from several goroutines until stop is
// closed, and counts the answers by status.
type load struct {
	mu       sync.Mutex
	statuses map[int]int
	codes    map[string]int
	pids     map[float64]int
	lastOK   atomic.Int64 // unix nanos of the last 200
	wg       sync.WaitGroup
}

func startLoad(url, body string, workers int, stop <-chan struct{}) *load {
	l := &load{statuses: map[int]int{}, codes: map[string]int{}, pids: map[float64]int{}}
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < workers; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(url, "application/json", strings.NewReader(body))
				status, out := 0, map[string]any{}
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
					json.Unmarshal(b, &out)
				}
				l.mu.Lock()
				l.statuses[status]++
				if status == 200 {
					l.lastOK.Store(time.Now().UnixNano())
					if pid, ok := out["pid"].(float64); ok {
						l.pids[pid]++
					}
				} else if code, ok := out["code"].(string); ok {
					l.codes[code]++
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func TestReplacingABinaryUnderLoadFailsNothing(t *testing.T) {
	t.Parallel()
	dir := privateDir(t, "testplugin")
	_, srv := supervisedHost(t, dir, fastSupervision, nil)
	before := pluginViews(t, srv.URL)["testplugin"]

	newBinary := filepath.Join(t.TempDir(), "testplugin")
	if err := testutil.BuildVariant(newBinary, "host/internal/testplugin", "b"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	l := startLoad(srv.URL+"/actions/meta", `{}`, 4, stop)
	time.Sleep(3 * time.Second)
	// Operators deploy with a copy next to the target and mv, which is atomic.
	copyFile(t, newBinary, filepath.Join(dir, ".testplugin.new"))
	if err := os.Rename(filepath.Join(dir, ".testplugin.new"), filepath.Join(dir, "testplugin")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the new binary serves", func() bool {
		v := pluginViews(t, srv.URL)["testplugin"]
		return v.PID != before.PID && v.State == catalog.StateServing
	})
	time.Sleep(7 * time.Second) // at least 10 s of load in all
	close(stop)
	l.wg.Wait()

	after := pluginViews(t, srv.URL)["testplugin"]
	if after.SHA256 == before.SHA256 || after.Restarts != 0 {
		t.Errorf("after the swap: %+v (before: %+v)", after, before)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.statuses) != 1 || l.statuses[200] == 0 {
		t.Errorf("answers by status during the swap: %v (codes %v); want only 200", l.statuses, l.codes)
	}
	if l.pids[float64(before.PID)] == 0 || l.pids[float64(after.PID)] == 0 {
		t.Errorf("requests served by pid: %v; want both the old (%d) and the new (%d)", l.pids, before.PID, after.PID)
	}
	// The old process is gone once drained.
	eventually(t, 5*time.Second, "the old process exits", func() bool { return syscall.Kill(before.PID, 0) != nil })
}

func TestKilledPluginIsRestartedAndOthersDoNotNotice(t *testing.T) {
	t.Parallel()
	dir := privateDir(t, "echo", "testplugin")
	_, srv := supervisedHost(t, dir, fastSupervision, nil)
	victim := pluginViews(t, srv.URL)["testplugin"]
	if victim.PID <= 0 {
		t.Fatalf("testplugin is not running: %+v", victim)
	}

	stop := make(chan struct{})
	echoLoad := startLoad(srv.URL+"/actions/echo", `{"message":"x"}`, 2, stop)
	victimLoad := startLoad(srv.URL+"/actions/meta", `{}`, 2, stop)
	time.Sleep(time.Second)
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	eventually(t, 2*time.Second, "the killed plugin serves again", func() bool {
		v := pluginViews(t, srv.URL)["testplugin"]
		return v.State == catalog.StateServing && v.PID != victim.PID && victimLoad.lastOK.Load() > killed.UnixNano()
	})
	time.Sleep(time.Second)
	close(stop)
	echoLoad.wg.Wait()
	victimLoad.wg.Wait()

	if len(echoLoad.statuses) != 1 || echoLoad.statuses[200] == 0 {
		t.Errorf("another plugin saw failures: %v %v", echoLoad.statuses, echoLoad.codes)
	}
	for status, n := range victimLoad.statuses {
		if status != 200 && status != 503 {
			t.Errorf("%d answers %d from the killed plugin; only 503 may fail", n, status)
		}
	}
	for code := range victimLoad.codes {
		if code != "plugin_unavailable" {
			t.Errorf("failure code %q; want plugin_unavailable", code)
		}
	}
	if v := pluginViews(t, srv.URL)["testplugin"]; v.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", v.Restarts)
	}
}

func TestCrashLoopIsMarkedFailed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyFile(t, filepath.Join(crashDir, "crashplugin"), filepath.Join(dir, "crashplugin"))
	sup := fastSupervision
	sup.CrashLoop = 3
	_, srv := supervisedHost(t, dir, sup, nil)
	eventually(t, 10*time.Second, "the crash loop is detected", func() bool {
		return pluginViews(t, srv.URL)["crashplugin"].State == catalog.StateFailed
	})
	v := pluginViews(t, srv.URL)["crashplugin"]
	// Three stops: the first start and up to two restarts (a restart that
	// dies before it serves counts as a stop without counting as a restart).
	if !strings.Contains(v.Error, "crash loop") || !strings.Contains(v.Error, "stopped 3 times") || v.Restarts < 1 || v.Restarts > 2 {
		t.Errorf("failed plugin: %+v", v)
	}
	// It stays failed: no more restarts.
	time.Sleep(time.Second)
	if v2 := pluginViews(t, srv.URL)["crashplugin"]; v2.State != catalog.StateFailed || v2.Restarts != v.Restarts {
		t.Errorf("a failed plugin was restarted: %+v", v2)
	}
	// Its action answers 503, not 404.
	if a := post(t, srv.URL+"/actions/crashy", `{}`); a.status != 503 {
		t.Errorf("action of a failed plugin: %d %s", a.status, a.body)
	}
	// A reload starts it again.
	resp, err := http.Post(srv.URL+"/admin/plugins/crashplugin/reload", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var reloaded catalog.PluginView
	json.NewDecoder(resp.Body).Decode(&reloaded)
	resp.Body.Close()
	if resp.StatusCode != 200 || reloaded.State != catalog.StateServing || reloaded.PID == v.PID {
		t.Errorf("reload: %d %+v", resp.StatusCode, reloaded)
	}
	if resp, _ := http.Post(srv.URL+"/admin/plugins/nope/reload", "application/json", nil); resp == nil || resp.StatusCode != 404 {
		t.Errorf("reload of an unknown plugin: %v", resp)
	}
}

func TestDropInAddAndRemove(t *testing.T) {
	t.Parallel()
	dir := privateDir(t, "echo")
	_, srv := supervisedHost(t, dir, fastSupervision, nil)
	if a := post(t, srv.URL+"/actions/meta", `{}`); a.status != 404 {
		t.Fatalf("meta before its plugin is added: %d", a.status)
	}
	copyFile(t, filepath.Join(pluginDir, "testplugin"), filepath.Join(dir, ".tp"))
	os.Rename(filepath.Join(dir, ".tp"), filepath.Join(dir, "testplugin"))
	eventually(t, 5*time.Second, "the added plugin serves", func() bool { return post(t, srv.URL+"/actions/meta", `{}`).status == 200 })

	pid := pluginViews(t, srv.URL)["testplugin"].PID
	os.Remove(filepath.Join(dir, "testplugin"))
	eventually(t, 5*time.Second, "the removed plugin's actions are gone", func() bool { return post(t, srv.URL+"/actions/meta", `{}`).status == 404 })
	if _, ok := pluginViews(t, srv.URL)["testplugin"]; ok {
		t.Error("a removed plugin is still listed")
	}
	eventually(t, 5*time.Second, "the removed plugin's process exits", func() bool { return syscall.Kill(pid, 0) != nil })
	if a := post(t, srv.URL+"/actions/echo", `{"message":"x"}`); a.status != 200 {
		t.Errorf("the other plugin: %d", a.status)
	}
}

func TestBadReplacementLeavesTheOldServing(t *testing.T) {
	t.Parallel()
	dir := privateDir(t, "testplugin")
	_, srv := supervisedHost(t, dir, fastSupervision, nil)
	before := pluginViews(t, srv.URL)["testplugin"]
	os.WriteFile(filepath.Join(dir, ".new"), []byte("#!/bin/sh\necho hello\n"), 0o755)
	os.Rename(filepath.Join(dir, ".new"), filepath.Join(dir, "testplugin"))
	eventually(t, 5*time.Second, "the refusal is reported", func() bool {
		return strings.Contains(pluginViews(t, srv.URL)["testplugin"].Error, "the new binary was refused")
	})
	v := pluginViews(t, srv.URL)["testplugin"]
	if v.State != catalog.StateServing || v.PID != before.PID {
		t.Errorf("after a bad replacement: %+v", v)
	}
	if a := post(t, srv.URL+"/actions/meta", `{}`); a.status != 200 {
		t.Errorf("the old binary stopped serving: %d", a.status)
	}
}

func TestDuplicateActionFromANewFileIsRefused(t *testing.T) {
	t.Parallel()
	dir := privateDir(t, "echo")
	_, srv := supervisedHost(t, dir, fastSupervision, nil)
	copyFile(t, filepath.Join(pluginDir, "echo"), filepath.Join(dir, ".e"))
	os.Rename(filepath.Join(dir, ".e"), filepath.Join(dir, "echo2"))
	eventually(t, 5*time.Second, "the duplicate is refused", func() bool {
		v := pluginViews(t, srv.URL)["echo2"]
		return v.State == catalog.StateRefused && strings.Contains(v.Error, `action "echo" is already served by plugin "echo"`)
	})
	if a := post(t, srv.URL+"/actions/echo", `{"message":"x"}`); a.status != 200 {
		t.Errorf("echo: %d", a.status)
	}
}

func TestHotAddedBinaryWithWrongPinNeverRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	marker := filepath.Join(t.TempDir(), "ran")
	_, srv := supervisedHost(t, dir, fastSupervision, func(c *config.Config) {
		c.Plugins["evil"] = config.Plugin{SHA256: strings.Repeat("0", 64), GOMAXPROCS: 1}
	})
	os.WriteFile(filepath.Join(dir, ".evil"), []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755)
	os.Rename(filepath.Join(dir, ".evil"), filepath.Join(dir, "evil"))
	eventually(t, 5*time.Second, "the binary is refused", func() bool {
		return strings.Contains(pluginViews(t, srv.URL)["evil"].Error, "does not match its pin")
	})
	time.Sleep(200 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a binary that does not match its pin was executed")
	}
	// Readiness waits for every pinned plugin.
	if resp, _ := http.Get(srv.URL + "/readyz"); resp == nil || resp.StatusCode != 503 {
		t.Errorf("readyz with a pinned plugin not serving: %v", resp)
	}
}

func TestUnresponsivePluginIsRestarted(t *testing.T) {
	t.Parallel()
	dir := privateDir(t, "testplugin")
	sup := fastSupervision
	sup.HealthInterval, sup.HealthTimeout = 200*time.Millisecond, 200*time.Millisecond
	_, srv := supervisedHost(t, dir, sup, nil)
	v := pluginViews(t, srv.URL)["testplugin"]
	if v.PID <= 0 { // kill(0) would stop the whole process group, this test included
		t.Fatalf("testplugin is not running: %+v", v)
	}
	if err := syscall.Kill(v.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(v.PID, syscall.SIGKILL)
	eventually(t, 10*time.Second, "the frozen plugin is replaced", func() bool {
		now := pluginViews(t, srv.URL)["testplugin"]
		return now.State == catalog.StateServing && now.PID != v.PID
	})
	if a := post(t, srv.URL+"/actions/meta", `{}`); a.status != 200 {
		t.Errorf("after the restart: %d %s", a.status, a.body)
	}
}

func TestPluginMaxConcurrencyAnswers503AtOnce(t *testing.T) {
	t.Parallel()
	dir := privateDir(t, "testplugin")
	_, srv := supervisedHost(t, dir, fastSupervision, func(c *config.Config) {
		p := c.Plugins["testplugin"]
		p.MaxConcurrency = 1
		c.Plugins["testplugin"] = p
		c.Actions["slow"] = config.Action{Timeout: 5 * time.Second}
	})
	slow := make(chan answer, 1)
	go func() { slow <- post(t, srv.URL+"/actions/slow", `{"ms":1000}`) }()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	a := post(t, srv.URL+"/actions/meta", `{}`)
	if a.status != 503 || a.errorBody(t)["code"] != "plugin_busy" || a.header.Get("Retry-After") == "" {
		t.Errorf("beyond max_concurrency: %d %s", a.status, a.body)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("the 503 took %v; it must not queue", took)
	}
	if s := <-slow; s.status != 200 {
		t.Errorf("the request within the bound: %d %s", s.status, s.body)
	}
}

func TestWritablePluginFilesAreRefused(t *testing.T) {
	t.Parallel()
	dir := privateDir(t, "echo", "testplugin")
	os.Chmod(filepath.Join(dir, "testplugin"), 0o775)
	_, srv := supervisedHost(t, dir, fastSupervision, nil)
	v := pluginViews(t, srv.URL)["testplugin"]
	if v.State != catalog.StateRefused || !strings.Contains(v.Error, "writable by group or others") {
		t.Errorf("group-writable plugin: %+v", v)
	}

	open := t.TempDir()
	os.Chmod(open, 0o777)
	cfg := testConfig()
	cfg.PluginDir = open
	host, err := app.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if _, err := host.Load(context.Background()); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Errorf("world-writable plugins directory: %v", err)
	}
}
