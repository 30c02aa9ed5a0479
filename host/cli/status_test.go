package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// run runs switchboard without $SWITCHBOARD_API_KEY and returns what it
// printed on each stream and its exit code.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := switchboard(args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHBOARD_API_KEY=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("switchboard %v: %v", args, err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// adminPlugins is GET /admin/plugins of the host at url: its body, and each
// plugin's first PID by name.
func adminPlugins(t *testing.T, url, key string) ([]byte, map[string]int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/admin/plugins", nil)
	if key != "" {
		req.Header.Set("X-Switchboard-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var views []struct {
		Name string
		PID  int
	}
	if err := json.Unmarshal(body, &views); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /admin/plugins: %d %v\n%s", resp.StatusCode, err, body)
	}
	pids := map[string]int{}
	for _, v := range views {
		pids[v.Name] = v.PID
	}
	return body, pids
}

// rowPID finds the table row of plugin name in out and returns its PID
// column (the fourth: PLUGIN STATE VERSION PID).
func rowPID(t *testing.T, out, name string) (pid int, row string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == name {
			pid, err := strconv.Atoi(f[3])
			if err != nil {
				t.Fatalf("the PID column of %s is %q:\n%s", name, f[3], out)
			}
			return pid, line
		}
	}
	t.Fatalf("no row for %s in:\n%s", name, out)
	return 0, ""
}

// TestPluginsAsksTheRunningHost: switchboard plugins lists the running
// host's plugins, whose PIDs are its live children, says so in its first
// line, and --json prints GET /admin/plugins unchanged.
func TestPluginsAsksTheRunningHost(t *testing.T) {
	t.Parallel()
	s := serve(t, "--dev")
	_, pids := adminPlugins(t, s.url, "")
	out, errOut, code := run(t, "plugins", "--addr", s.url)
	if code != 0 {
		t.Fatalf("plugins: exit %d\n%s%s", code, out, errOut)
	}
	if first, _, _ := strings.Cut(out, "\n"); first != "plugins of the host at "+s.url+" (admin API)" {
		t.Errorf("first line: %q", first)
	}
	for _, name := range []string{"echo", "testplugin"} {
		pid, row := rowPID(t, out, name)
		if pid == 0 || pid != pids[name] {
			t.Errorf("%s: printed PID %d, /admin/plugins says %d", name, pid, pids[name])
		}
		if ppid, _ := parent(pid); !alive(pid) || ppid != s.cmd.Process.Pid {
			t.Errorf("%s: process %d is not a live child of the host %d (parent %d)", name, pid, s.cmd.Process.Pid, ppid)
		}
		if !strings.Contains(row, " serving ") || !strings.Contains(row, " unpinned ") {
			t.Errorf("%s's row: %q", name, row)
		}
	}
	js, errOut, code := run(t, "plugins", "--addr", s.url, "--json")
	body, _ := adminPlugins(t, s.url, "")
	if code != 0 || js != string(body) {
		t.Errorf("plugins --json: exit %d %s\nprinted %s\nthe API answers %s", code, errOut, js, body)
	}
}

// TestPluginsOffline: plugins --offline starts its own copies of the
// plugins, says so, and the PIDs it prints have exited; --plugin-dir
// without --offline is refused.
func TestPluginsOffline(t *testing.T) {
	t.Parallel()
	out, errOut, code := run(t, "plugins", "--offline", "--plugin-dir", pluginDir, "--config", grantsFile)
	if code != 0 {
		t.Fatalf("plugins --offline: exit %d\n%s%s", code, out, errOut)
	}
	want := "plugins loaded from " + pluginDir + " for this listing; these processes have exited (--offline: no running host was asked)"
	if first, _, _ := strings.Cut(out, "\n"); first != want {
		t.Errorf("first line: %q, want %q", first, want)
	}
	pid, row := rowPID(t, out, "echo")
	if !strings.Contains(row, " serving ") || pid == 0 {
		t.Errorf("echo's row: %q", row)
	}
	if alive(pid) {
		t.Errorf("the offline listing's echo %d still runs", pid)
	}
	out, errOut, code = run(t, "plugins", "--plugin-dir", pluginDir)
	if code != 1 || !strings.Contains(errOut, "--plugin-dir is for --offline") || out != "" {
		t.Errorf("plugins --plugin-dir without --offline: exit %d\n%s%s", code, out, errOut)
	}
}

// TestPluginsAndStatusOfNoHost: an address where no host listens fails
// with exit 1, naming the address (and, for plugins, --offline).
func TestPluginsAndStatusOfNoHost(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	l.Close()
	out, errOut, code := run(t, "plugins", "--addr", addr)
	if code != 1 || out != "" || !strings.Contains(errOut, "no host answers at "+addr+" (") || !strings.Contains(errOut, "switchboard plugins --offline") {
		t.Errorf("plugins of no host: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run(t, "status", "--addr", addr)
	if code != 1 || out != "" || !strings.Contains(errOut, "no host answers at "+addr+" (") {
		t.Errorf("status of no host: exit %d\n%s%s", code, out, errOut)
	}
}

// TestStatus: switchboard status prints readiness, config, the running
// plugins, the actions' last 15 minutes and the connections; --json holds
// the same in one object.
func TestStatus(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "switchboard.hcl")
	if err := os.WriteFile(file, []byte("action \"echo\" {\n  timeout = \"4s\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := serve(t, "--dev", "--config", file)
	for i := range 3 {
		if resp := echoWith(t, s.url, "", fmt.Sprint(i)); resp.StatusCode != 200 {
			t.Fatalf("echo: %d", resp.StatusCode)
		}
	}
	_, pids := adminPlugins(t, s.url, "")
	out, errOut, code := run(t, "status", "--addr", s.url)
	if code != 0 {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 4 || lines[0] != "status of the host at "+s.url+" (admin API)" || lines[1] != "ready:        yes" ||
		!regexp.MustCompile(`^config:       `+regexp.QuoteMeta(file)+`, digest [0-9a-f]{12}, loaded at 20\d\d-`).MatchString(lines[2]) ||
		lines[3] != "last reload:  none" {
		t.Errorf("status's head:\n%s", out)
	}
	plugins, actions, _ := strings.Cut(out, "\nactions (last 15 minutes):\n")
	if pid, _ := rowPID(t, plugins, "echo"); pid != pids["echo"] || !alive(pid) {
		t.Errorf("status prints echo's PID %d, /admin/plugins %d:\n%s", pid, pids["echo"], out)
	}
	if !regexp.MustCompile(`(?m)^echo +echo +3 +0 +0\.0% +[0-9.]+ms +[0-9.]+ms +- *$`).MatchString(actions) {
		t.Errorf("no echo row with 3 requests and no errors under actions:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^connections:\nCONNECTION +CIRCUIT +TOKEN\ngenesys +closed +`).MatchString(actions) {
		t.Errorf("no genesys connection, closed, under connections:\n%s", out)
	}

	js, errOut, code := run(t, "status", "--addr", s.url, "--json")
	var st struct {
		Host      string
		Readiness struct{ Ready bool }
		Config    struct{ File string }
		Plugins   []struct {
			Name string
			PID  int
		}
		Actions []struct {
			Name  string
			Stats struct{ Requests int }
		}
		Connections []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(js), &st); err != nil || code != 0 {
		t.Fatalf("status --json: exit %d %v\n%s%s", code, err, js, errOut)
	}
	if st.Host != s.url || !st.Readiness.Ready || st.Config.File != file || len(st.Plugins) != 2 || st.Plugins[0].Name != "echo" || st.Plugins[0].PID != pids["echo"] ||
		len(st.Actions) == 0 || len(st.Connections) == 0 {
		t.Errorf("status --json: %+v", st)
	}
	for _, a := range st.Actions {
		if a.Name == "echo" && a.Stats.Requests != 3 {
			t.Errorf("status --json: echo has %d requests, want 3", a.Stats.Requests)
		}
	}
}

// TestStatusAndPluginsBehindAuth: with the admin API behind inbound auth,
// no key is a 401 that says which flag to give, exit 1; with --api-key both
// work. On an admin_listen address they need no key, status says it cannot
// know readiness there (exit 1), and the listen address, which serves no
// admin API, is named as such.
func TestStatusAndPluginsBehindAuth(t *testing.T) {
	t.Parallel()
	const key = "status-key-0123456789abcdef"
	dir := t.TempDir()
	write := func(name, extra string) string {
		file := filepath.Join(dir, name)
		src := fmt.Sprintf("inbound {\n  api_key {\n    keys = [%q]\n  }\n}\nplugin \"testplugin\" {\n  connections = [\"genesys\"]\n}\n%s", key, extra)
		if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	s := serve(t, "--config", write("auth.hcl", ""))
	for _, cmd := range []string{"plugins", "status"} {
		out, errOut, code := run(t, cmd, "--addr", s.url)
		if code != 1 || out != "" || !strings.Contains(errOut, "the host at "+s.url+" refused the credentials: give --api-key") {
			t.Errorf("%s without a key: exit %d\n%s%s", cmd, code, out, errOut)
		}
		out, errOut, code = run(t, cmd, "--addr", s.url, "--api-key", key)
		if code != 0 || !strings.Contains(out, "of the host at "+s.url+" (admin API)\n") {
			t.Errorf("%s with the key: exit %d\n%s%s", cmd, code, out, errOut)
		}
	}

	a := serve(t, "--config", write("admin.hcl", "admin_listen = \"127.0.0.1:0\"\n"))
	var admin string
	re := regexp.MustCompile(`admin API listening.*addr=(\S+)`)
	for deadline := time.Now().Add(10 * time.Second); admin == ""; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(a.logs.String()); m != nil {
			admin = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no admin address in the logs:\n%s", a.logs)
		}
	}
	_, pids := adminPlugins(t, admin, "")
	out, errOut, code := run(t, "plugins", "--addr", admin)
	if pid, _ := rowPID(t, out, "echo"); code != 0 || pid != pids["echo"] {
		t.Errorf("plugins on admin_listen: exit %d, echo %d, want %d\n%s%s", code, pid, pids["echo"], out, errOut)
	}
	out, errOut, code = run(t, "status", "--addr", admin)
	if code != 1 || !strings.Contains(out, "\nready:        unknown: GET /readyz is not served at "+admin) || !strings.Contains(out, "\nplugins:\n") {
		t.Errorf("status on admin_listen: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run(t, "plugins", "--addr", a.url, "--api-key", key)
	if code != 1 || !strings.Contains(errOut, "does not serve GET /admin/plugins (404): a host with an admin_listen serves its admin API only there") {
		t.Errorf("plugins on the listen address of a host with admin_listen: exit %d\n%s%s", code, out, errOut)
	}
}

// TestStatusOfAHostNotReady: a host whose pinned plugin does not serve is
// not ready: status says why and exits 1, and still lists the plugins.
func TestStatusOfAHostNotReady(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "pinned.hcl")
	src := fmt.Sprintf("plugin \"echo\" {\n  sha256 = %q\n}\nplugin \"testplugin\" {\n  connections = [\"genesys\"]\n}\n", strings.Repeat("ab", 32))
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := switchboard("serve", "--dev", "--listen", "127.0.0.1:0", "--plugin-dir", pluginDir, "--config", file)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening: addr=(\S+)`)
		b := make([]byte, 64<<10)
		var seen []byte
		for {
			n, err := stderr.Read(b)
			seen = append(seen, b[:n]...)
			if m := re.FindSubmatch(seen); m != nil {
				addr <- "http://" + string(m[1])
				io.Copy(io.Discard, stderr)
				return
			}
			if err != nil {
				close(addr)
				return
			}
		}
	}()
	var url string
	select {
	case url = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	if url == "" {
		t.Fatal("serve exited before listening")
	}
	// The host serves before its plugins are loaded: wait for echo's refusal.
	want := "ready:        no (starting: pinned plugin \"echo\" is not serving)"
	var out, errOut string
	var code int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, errOut, code = run(t, "status", "--addr", url)
		if strings.Contains(out, want) || time.Now().After(deadline) {
			break
		}
	}
	if code != 1 || !strings.Contains(out, "\n"+want+"\n") || !regexp.MustCompile(`(?m)^echo +refused `).MatchString(out) {
		t.Errorf("status of a host not ready: exit %d\n%s%s", code, out, errOut)
	}
	js, _, code := run(t, "status", "--addr", url, "--json")
	var st struct{ Readiness struct{ Ready bool } }
	if err := json.Unmarshal([]byte(js), &st); err != nil || code != 1 || st.Readiness.Ready {
		t.Errorf("status --json of a host not ready: exit %d %v\n%s", code, err, js)
	}
}
