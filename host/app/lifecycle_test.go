package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/app"
	"github.com/switchboard-dev/switchboard/host/catalog"
	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/internal/testutil"
)

// Plugins coming and going under load, with real processes and a real
// plugins directory. The supervisor's decisions (backoff, crash loops,
// debounce, the bulkhead, restart_wait) are tested in memory in
// host/catalog; these show that real exits, signals and files reach it.

// load sends requests in a loop from several goroutines until stopped,
// and counts the answers by status, failure code and the pid that served.
type load struct {
	mu       sync.Mutex
	statuses map[int]int
	codes    map[string]int
	pids     map[int]int
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startLoad(url, body string, workers int) *load {
	l := &load{statuses: map[int]int{}, codes: map[string]int{}, pids: map[int]int{}, stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := client.Post(url, "application/json", strings.NewReader(body))
				status, out := 0, struct {
					PID  int
					Code string
				}{}
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
					json.Unmarshal(b, &out)
				}
				l.mu.Lock()
				l.statuses[status]++
				if status == 200 {
					l.pids[out.PID]++
				} else {
					l.codes[out.Code]++
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// served reports how many requests the process pid has answered with 200.
func (l *load) served(pid int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pids[pid]
}

func (l *load) end() {
	close(l.stop)
	l.wg.Wait()
}

// failures are the answers other than 200.
func (l *load) failures() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for status, count := range l.statuses {
		if status != 200 {
			n += count
		}
	}
	return n
}

func TestReplacingABinaryUnderLoadFailsNothing(t *testing.T) {
	t.Parallel()
	h := startHost(t, withPlugins("testplugin"), withSupervision(fastSupervision))
	dir := h.Config.PluginDir
	before := h.views(t)["testplugin"]
	newBinary := filepath.Join(t.TempDir(), "testplugin")
	if err := testutil.BuildVariant(newBinary, "host/internal/testplugin", "b"); err != nil {
		t.Fatal(err)
	}
	l := startLoad(h.URL+"/actions/meta", `{}`, 4)
	eventually(t, 10*time.Second, "the old binary serves under load", func() bool { return l.served(before.PID) >= 50 })
	// Operators deploy with a copy next to the target and mv, which is atomic.
	copyFile(t, newBinary, filepath.Join(dir, ".testplugin.new"))
	if err := os.Rename(filepath.Join(dir, ".testplugin.new"), filepath.Join(dir, "testplugin")); err != nil {
		t.Fatal(err)
	}
	var after catalog.PluginView
	eventually(t, 10*time.Second, "the new binary serves under load", func() bool {
		after = h.views(t)["testplugin"]
		return after.PID != before.PID && after.State == catalog.StateServing && l.served(after.PID) >= 50
	})
	l.end()

	if after.SHA256 == before.SHA256 || after.Restarts != 0 {
		t.Errorf("after the swap: %+v (before: %+v)", after, before)
	}
	if n := l.failures(); n != 0 {
		t.Errorf("%d requests failed during the swap (statuses %v, codes %v); want none", n, l.statuses, l.codes)
	}
	// The old process is gone once drained.
	eventually(t, 5*time.Second, "the old process exits", func() bool { return syscall.Kill(before.PID, 0) != nil })
}

// TestKilledProcessFailsOnlyItsRequestsInFlight: with processes = 2, a
// kill -9 of one process fails at most the requests that were in it (one
// per worker that sent there); the other serves meanwhile, the killed one
// comes back, and another plugin never notices.
func TestKilledProcessFailsOnlyItsRequestsInFlight(t *testing.T) {
	t.Parallel()
	const workers = 2
	h := startHost(t, withPlugins("echo", "testplugin"), withSupervision(fastSupervision), withConfig(func(c *config.Config) {
		p := c.Plugins["testplugin"]
		p.Processes = 2
		c.Plugins["testplugin"] = p
	}))
	pids := h.views(t)["testplugin"].PIDs
	if len(pids) != 2 || pids[0] <= 0 || pids[1] <= 0 {
		t.Fatalf("testplugin does not run two processes: %v", pids)
	}
	victim, other := pids[0], pids[1]
	echoLoad := startLoad(h.URL+"/actions/echo", `{"message":"x"}`, workers)
	victimLoad := startLoad(h.URL+"/actions/meta", `{}`, workers)
	eventually(t, 10*time.Second, "both processes serve", func() bool { return victimLoad.served(victim) >= 20 && victimLoad.served(other) >= 20 })
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	servedByOther := victimLoad.served(other)
	var restarted int
	eventually(t, 10*time.Second, "the killed process is replaced and serves", func() bool {
		for _, pid := range h.views(t)["testplugin"].PIDs {
			if pid != victim && pid != other {
				restarted = pid
			}
		}
		return restarted != 0 && victimLoad.served(restarted) >= 20
	})
	echoLoad.end()
	victimLoad.end()

	if n := echoLoad.failures(); n != 0 {
		t.Errorf("another plugin saw %d failures: %v %v", n, echoLoad.statuses, echoLoad.codes)
	}
	if n := victimLoad.failures(); n > workers {
		t.Errorf("%d requests failed (statuses %v, codes %v); at most %d were in flight in the killed process", n, victimLoad.statuses, victimLoad.codes, workers)
	}
	for code := range victimLoad.codes {
		if code != "plugin_unavailable" {
			t.Errorf("failure code %q; want plugin_unavailable", code)
		}
	}
	if victimLoad.served(other) == servedByOther {
		t.Error("the other process served nothing while the killed one restarted")
	}
	t.Logf("kill -9 of one of two processes under %d workers: %d failed, %d served", workers, victimLoad.failures(), victimLoad.served(victim)+victimLoad.served(other)+victimLoad.served(restarted))
	if v := h.views(t)["testplugin"]; v.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", v.Restarts)
	}
}

func TestDropInAddAndRemove(t *testing.T) {
	t.Parallel()
	h := startHost(t, withPlugins("echo"), withSupervision(fastSupervision))
	dir := h.Config.PluginDir
	if a := h.post(t, "/actions/meta", `{}`); a.status != 404 {
		t.Fatalf("meta before its plugin is added: %d", a.status)
	}
	copyFile(t, filepath.Join(pluginDir, "testplugin"), filepath.Join(dir, ".tp"))
	os.Rename(filepath.Join(dir, ".tp"), filepath.Join(dir, "testplugin"))
	eventually(t, 5*time.Second, "the added plugin serves", func() bool { return h.post(t, "/actions/meta", `{}`).status == 200 })

	pid := h.views(t)["testplugin"].PID
	os.Remove(filepath.Join(dir, "testplugin"))
	eventually(t, 5*time.Second, "the removed plugin's actions are gone", func() bool { return h.post(t, "/actions/meta", `{}`).status == 404 })
	if _, ok := h.views(t)["testplugin"]; ok {
		t.Error("a removed plugin is still listed")
	}
	eventually(t, 5*time.Second, "the removed plugin's process exits", func() bool { return syscall.Kill(pid, 0) != nil })
	if a := h.post(t, "/actions/echo", `{"message":"x"}`); a.status != 200 {
		t.Errorf("the other plugin: %d", a.status)
	}
}

func TestHotAddedBinaryWithWrongPinNeverRuns(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "ran")
	h := startHost(t, withPlugins(), withSupervision(fastSupervision), withConfig(func(c *config.Config) {
		c.Plugins["evil"] = config.Plugin{Pins: []string{strings.Repeat("0", 64)}, GOMAXPROCS: 1}
	}))
	dir := h.Config.PluginDir
	os.WriteFile(filepath.Join(dir, ".evil"), []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755)
	os.Rename(filepath.Join(dir, ".evil"), filepath.Join(dir, "evil"))
	eventually(t, 5*time.Second, "the binary is refused", func() bool {
		return strings.Contains(h.views(t)["evil"].Error, "does not match its pin")
	})
	// The hash is checked before anything runs: there is nothing to wait for.
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a binary that does not match its pin was executed")
	}
	// Readiness waits for every pinned plugin.
	if a := h.send(t, "GET", "/readyz", "", nil); a.status != 503 || !strings.Contains(string(a.body), `pinned plugin \"evil\" is not serving`) {
		t.Errorf("readyz with a pinned plugin not serving: %d %s", a.status, a.body)
	}
}

func TestUnresponsivePluginIsRestarted(t *testing.T) {
	t.Parallel()
	sup := fastSupervision
	sup.HealthInterval, sup.HealthTimeout = 200*time.Millisecond, 200*time.Millisecond
	h := startHost(t, withPlugins("testplugin"), withSupervision(sup))
	v := h.views(t)["testplugin"]
	if v.PID <= 0 { // kill(0) would stop the whole process group, this test included
		t.Fatalf("testplugin is not running: %+v", v)
	}
	if err := syscall.Kill(v.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(v.PID, syscall.SIGKILL)
	eventually(t, 10*time.Second, "the frozen plugin is replaced", func() bool {
		now := h.views(t)["testplugin"]
		return now.State == catalog.StateServing && now.PID != v.PID
	})
	if a := h.post(t, "/actions/meta", `{}`); a.status != 200 {
		t.Errorf("after the restart: %d %s", a.status, a.body)
	}
}

func TestWritablePluginFilesAreRefused(t *testing.T) {
	t.Parallel()
	dir := privateDir(t, "echo", "testplugin")
	os.Chmod(filepath.Join(dir, "testplugin"), 0o775)
	h := startHost(t, withConfig(func(c *config.Config) { c.PluginDir = dir }))
	v := h.views(t)["testplugin"]
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
