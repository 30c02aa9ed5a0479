package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// hostileHost is a `switchboard serve` run as a given user over a plugins
// directory holding the hostile plugin and echo, with secrets in its
// environment, an audit log, a log file and a downstream API.
type hostileHost struct {
	work, plugins, config, audit, log string
	url, admin                        string
	downstream                        *httptest.Server
	downstreamHits                    atomic.Int64
	udp                               net.PacketConn
	abstract                          net.Listener
	abstractName                      string
}

const (
	inboundKey = "inbound-canary-5b8e1f0a-secret"
	crmKey     = "crm-canary-77c0d9e4-secret"
	auditKey   = "audit-canary-0f6e2a3b-secret"
)

// startHostileHost starts the host as uid (-1: the test's own user).
func startHostileHost(t *testing.T, uid int) *hostileHost {
	t.Helper()
	h := &hostileHost{}
	var err error
	if h.work, err = os.MkdirTemp("", "switchboard-hostile-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(h.work) })
	h.plugins = filepath.Join(h.work, "plugins")
	h.config = filepath.Join(h.work, "switchboard.hcl")
	h.audit = filepath.Join(h.work, "audit.log")
	h.log = filepath.Join(h.work, "host.log")
	must(t, os.Chmod(h.work, 0o755))
	must(t, os.Mkdir(h.plugins, 0o755))
	for _, p := range []string{filepath.Join(hostileDir, "hostileplugin"), filepath.Join(pluginDir, "echo")} {
		b, err := os.ReadFile(p)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(h.plugins, filepath.Base(p)), b, 0o755))
	}

	h.downstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.downstreamHits.Add(1)
		if r.Header.Get("X-Api-Key") != crmKey {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "pong")
	}))
	t.Cleanup(h.downstream.Close)
	h.udp, err = net.ListenPacket("udp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { h.udp.Close() })
	h.abstractName = fmt.Sprintf("switchboard-test-%d", time.Now().UnixNano())
	h.abstract, err = net.Listen("unix", "@"+h.abstractName)
	must(t, err)
	t.Cleanup(func() { h.abstract.Close() })

	cfg := fmt.Sprintf(`
listen       = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
plugin_dir   = %q
inbound {
  api_key {
    keys = [env("SB_TEST_INBOUND_KEY")]
  }
}
audit {
  path     = %q
  hmac_key = env("SB_TEST_AUDIT_KEY")
}
connection "crm" {
  base_url = %q
  api_key {
    header = "X-Api-Key"
    value  = env("SB_TEST_CRM_KEY")
  }
}
plugin "hostileplugin" {
  connections = ["crm"]
}
`, h.plugins, h.audit, h.downstream.URL)
	must(t, os.WriteFile(h.config, []byte(cfg), 0o644))
	logFile, err := os.OpenFile(h.log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	must(t, err)
	defer logFile.Close()

	cmd := exec.Command(filepath.Join(binDir, "switchboard"), "serve", "--config", h.config)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "SB_TEST_INBOUND_KEY=" + inboundKey, "SB_TEST_CRM_KEY=" + crmKey, "SB_TEST_AUDIT_KEY=" + auditKey}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if uid >= 0 {
		for _, p := range []string{h.work, h.plugins, h.log} {
			must(t, os.Chown(p, uid, uid)) // the host's own; the plugin binaries stay root's
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}}
	}
	must(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})

	api := regexp.MustCompile(`\]\s+switchboard: listening: addr=(\S+)`)
	admin := regexp.MustCompile(`admin API listening.*addr=(\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for h.url == "" || h.admin == "" {
		logs, _ := os.ReadFile(h.log)
		if m := api.FindSubmatch(logs); m != nil {
			h.url = "http://" + string(m[1])
		}
		if m := admin.FindSubmatch(logs); m != nil {
			h.admin = "http://" + string(m[1])
		}
		select {
		case err := <-done:
			t.Fatalf("the host exited: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host did not start:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitReady(t, h.url)
	return h
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (h *hostileHost) call(t *testing.T, action string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, h.url+"/actions/"+action, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Switchboard-Key", inboundKey)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

type pluginView struct {
	Name    string `json:"name"`
	PID     int    `json:"pid"`
	State   string `json:"state"`
	Sandbox *struct {
		Applied []string `json:"applied"`
		Missing []string `json:"missing"`
		UID     int      `json:"uid"`
	} `json:"sandbox"`
}

func (h *hostileHost) views(t *testing.T) map[string]pluginView {
	t.Helper()
	resp, err := http.Get(h.admin + "/admin/plugins")
	must(t, err)
	defer resp.Body.Close()
	var views []pluginView
	must(t, json.NewDecoder(resp.Body).Decode(&views))
	out := map[string]pluginView{}
	for _, v := range views {
		out[v.Name] = v
	}
	return out
}

// privateDir reads a plugin process's TMPDIR: its private directory.
func privateDir(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	must(t, err)
	for _, kv := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(kv, "TMPDIR="); ok {
			return v
		}
	}
	t.Fatalf("plugin %d has no TMPDIR", pid)
	return ""
}

// TestHostilePluginIsContained runs a plugin that tries, from inside its
// process, every attack on the trust boundary, against a host run as root
// (as CI runs it) and as an ordinary user, with the default settings. Each
// attack must fail; calls through the host must still work.
func TestHostilePluginIsContained(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the sandbox is Linux's")
	}
	hosts := map[string]int{"host as an ordinary user": -1}
	if os.Geteuid() == 0 {
		hosts = map[string]int{"host as root": -1, "host as an ordinary user": 65534}
	}
	for name, uid := range hosts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := startHostileHost(t, uid)
			views := h.views(t)
			hostile, echo := views["hostileplugin"], views["echo"]
			if hostile.State != "serving" || echo.State != "serving" {
				t.Fatalf("plugins not serving: %+v", views)
			}
			if hostile.Sandbox == nil || len(hostile.Sandbox.Missing) > 0 || len(hostile.Sandbox.Applied) != 7 {
				t.Errorf("the default sandbox is not complete on this machine: %+v", hostile.Sandbox)
			}
			if hostile.Sandbox != nil && hostile.Sandbox.UID == 0 {
				t.Error("the plugin runs as root")
			}
			apiAddr := strings.TrimPrefix(h.url, "http://")
			adminAddr := strings.TrimPrefix(h.admin, "http://")
			downAddr := strings.TrimPrefix(h.downstream.URL, "http://")
			status, body := h.call(t, "attack", map[string]any{
				"config": h.config, "auditLog": h.audit, "hostLog": h.log, "pluginDir": h.plugins,
				"otherPluginDir": privateDir(t, echo.PID), "otherPluginPid": echo.PID,
				"tcp": []string{downAddr, apiAddr, adminAddr}, "udp": h.udp.LocalAddr().String(),
				"abstract": h.abstractName,
			})
			if status != 200 {
				t.Fatalf("attack: %d %s", status, body)
			}
			var results map[string]string
			must(t, json.Unmarshal(body, &results))
			if len(results) < 25 {
				t.Errorf("only %d attacks reported: %v", len(results), results)
			}
			for attack, result := range results {
				if !strings.HasPrefix(result, "denied: ") {
					t.Errorf("%s: %s", attack, result)
				}
			}

			// What the attacks would have left behind.
			if h.downstreamHits.Load() != 0 {
				t.Errorf("the downstream API was reached %d times directly", h.downstreamHits.Load())
			}
			h.udp.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if n, _, err := h.udp.ReadFrom(make([]byte, 64)); err == nil {
				t.Errorf("a datagram of %d bytes left the plugin", n)
			}
			if _, err := os.Stat(filepath.Join(h.plugins, "planted")); err == nil {
				t.Error("a file was planted in the plugins directory")
			}
			audit, _ := os.ReadFile(h.audit)
			if bytes.Contains(audit, []byte("forged")) {
				t.Error("the audit log holds a forged line")
			}

			// The plugin's calls through the host still work, with the
			// credential the plugin never sees.
			status, body = h.call(t, "callOut", map[string]any{})
			if status != 200 || !strings.Contains(string(body), `"body":"pong"`) || !strings.Contains(string(body), `"status":200`) {
				t.Errorf("callOut through the host: %d %s", status, body)
			}
			if h.downstreamHits.Load() != 1 {
				t.Errorf("the downstream API saw %d requests, want the host's 1", h.downstreamHits.Load())
			}
			if status, body := h.call(t, "echo", map[string]any{"message": "hi"}); status != 200 || string(body) != `{"message":"hi"}` {
				t.Errorf("echo: %d %s", status, body)
			}
		})
	}
}
