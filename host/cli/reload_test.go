package cli_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReloadFromTheCommandLine runs the real binary: SIGHUP applies a
// rotated key; switchboard config check validates files (each problem with
// file:line, exit 1); switchboard config diff shows what a reload would
// change, secrets redacted; switchboard reload applies it, or says why not
// and exits 1 with the config in effect kept.
func TestReloadFromTheCommandLine(t *testing.T) {
	t.Parallel()
	const k1, k2 = "first-key-0123456789abcdef", "second-key-0123456789abcdef"
	file := filepath.Join(t.TempDir(), "switchboard.hcl")
	write := func(key, extra string) {
		t.Helper()
		src := fmt.Sprintf("inbound {\n  api_key {\n    keys = [%q]\n  }\n}\n%s", key, extra)
		if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(k1, "")
	s := serve(t, "--config", file)
	call := func(key string) int { return echoWith(t, s.url, key, "x").StatusCode }
	if call(k1) != 200 {
		t.Fatal("the first key is refused")
	}

	write(k2, "")
	s.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for call(k2) != 200 || call(k1) != 401 {
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not rotate the key:\n%s", s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}

	if out, err := switchboard("config", "check", file).CombinedOutput(); err != nil || !strings.Contains(string(out), file+": ok (digest ") {
		t.Errorf("config check of a good file: %v %s", err, out)
	}
	write(k2, "listen_port = 1\nplugin_dirs = \"x\"\n")
	out, err := switchboard("config", "check", file).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "switchboard.hcl:6") || !strings.Contains(string(out), "switchboard.hcl:7") {
		t.Errorf("config check of a broken file: %v\n%s", err, out)
	}
	admin := []string{"--addr", s.url, "--api-key", k2}
	out, err = switchboard(append([]string{"reload"}, admin...)...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "the config was not applied; the one in effect stays") || call(k2) != 200 {
		t.Errorf("reload of a broken file: %v\n%s", err, out)
	}

	write(k1+"-rotated", "action \"echo\" {\n  timeout = \"4s\"\n}\n")
	out, err = switchboard(append([]string{"config", "diff", file}, admin...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "+ actions.echo.timeout = 4s") || !strings.Contains(string(out), "~ inbound.api_key.keys[0]: (redacted) -> (redacted)") || strings.Contains(string(out), "0123456789") {
		t.Errorf("config diff: %v\n%s", err, out)
	}
	if call(k2) != 200 {
		t.Error("config diff applied the file")
	}
	out, err = switchboard(append([]string{"reload"}, admin...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "reloaded: digest ") || call(k1+"-rotated") != 200 || call(k2) != 401 {
		t.Errorf("reload: %v\n%s", err, out)
	}
	write(k1+"-rotated", "metrics_listen = \"127.0.0.1:0\"\n")
	out, err = switchboard("reload", "--addr", s.url, "--api-key", k1+"-rotated").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "changes metrics_listen, which a running host cannot") {
		t.Errorf("reload of a fixed key: %v\n%s", err, out)
	}
}

// TestWatchConfigFollowsAMountedSecret: serve --watch-config reloads when a
// file the config reads changes as Kubernetes changes a mounted Secret (a
// new directory, then one symlink renamed over the old): the rotated key
// is accepted, the old one refused, without a signal.
func TestWatchConfigFollowsAMountedSecret(t *testing.T) {
	t.Parallel()
	const k1, k2 = "mounted-key-0123456789abcdef", "rotated-key-0123456789abcdef"
	secret := t.TempDir()
	publish := func(version, key string) {
		t.Helper()
		dir := filepath.Join(secret, version)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "api-key"), []byte(key+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(secret, "..data_tmp")
		if err := os.Symlink(version, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(secret, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish("..2026_12_02_v1", k1)
	if err := os.Symlink("..data/api-key", filepath.Join(secret, "api-key")); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "switchboard.hcl")
	src := fmt.Sprintf("inbound {\n  api_key {\n    keys = [file(%q)]\n  }\n}\n", filepath.Join(secret, "api-key"))
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	s := serve(t, "--config", file, "--watch-config", "50ms")
	call := func(key string) int { return echoWith(t, s.url, key, "x").StatusCode }
	if call(k1) != 200 {
		t.Fatal("the mounted key is refused")
	}
	publish("..2026_12_02_v2", k2)
	deadline := time.Now().Add(10 * time.Second)
	for call(k2) != 200 || call(k1) != 401 {
		if time.Now().After(deadline) {
			t.Fatalf("the rotated secret was not reloaded:\n%s", s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(s.logs.String(), "0123456789abcdef") {
		t.Errorf("the log shows a key:\n%s", s.logs)
	}
}

// TestCachePurgeFromTheCommandLine: switchboard cache purge empties an
// action's cache, or one input's entry, on the running host.
func TestCachePurgeFromTheCommandLine(t *testing.T) {
	t.Parallel()
	const key = "cache-key-0123456789abcdef"
	file := filepath.Join(t.TempDir(), "switchboard.hcl")
	src := fmt.Sprintf("inbound {\n  api_key {\n    keys = [%q]\n  }\n}\naction \"echo\" {\n  cache {\n    ttl = \"1h\"\n  }\n}\n", key)
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	s := serve(t, "--config", file)
	call := func(msg string) string { return echoWith(t, s.url, key, msg).Header.Get("Cache-Status") }
	call("a")
	call("b")
	if cs := call("a"); !strings.HasPrefix(cs, "switchboard; hit;") {
		t.Fatalf("a second call: %q", cs)
	}
	purge := func(args ...string) string {
		out, err := switchboard(append([]string{"cache", "purge", "echo", "--addr", s.url, "--api-key", key}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("cache purge %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := purge("--input", `{"message":"a"}`); out != "echo: 1 entries purged\n" {
		t.Errorf("purge of one input: %q", out)
	}
	if call("a") != "switchboard; fwd=uri-miss; stored" || !strings.HasPrefix(call("b"), "switchboard; hit;") {
		t.Error("the purge of one input did not remove just that entry")
	}
	if out := purge(); out != "echo: 2 entries purged\n" {
		t.Errorf("purge of the action: %q", out)
	}
	if out, err := switchboard("cache", "purge", "nope", "--addr", s.url, "--api-key", key).CombinedOutput(); err == nil || !strings.Contains(string(out), "action_not_found") {
		t.Errorf("purge of an unknown action: %v %s", err, out)
	}
}

// echoWith calls echo on the host at url with an API key; the body is read
// and closed.
func echoWith(t *testing.T, url, key, message string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/actions/echo", strings.NewReader(`{"message":"`+message+`"}`))
	req.Header.Set("X-Switchboard-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
