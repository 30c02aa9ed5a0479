package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/internal/testutil"
	"github.com/switchboard-dev/switchboard/proto/pluginv1"
)

var (
	binDir     string // the switchboard binary
	pluginDir  string // echo and testplugin
	hostileDir string // the hostile plugin
	grantsFile string // a config granting testplugin the genesys connection it declares
	dataFile   string // grantsFile, and action "fail" answering errors as data
)

func TestMain(m *testing.M) {
	testutil.Main(m, "cli", func(dir string) error {
		binDir, pluginDir, hostileDir = filepath.Join(dir, "bin"), filepath.Join(dir, "plugins"), filepath.Join(dir, "hostile")
		if err := os.Chmod(dir, 0o755); err != nil { // hosts run as another user run the binaries in it
			return err
		}
		for _, d := range []string{binDir, pluginDir, hostileDir} {
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
		}
		// One go build links them all, in parallel; the plugins directories get links.
		if err := testutil.Build(binDir, "host/cmd/switchboard", "host/cmd/switchboard-sandbox", "plugins/echo", "plugins/genesys-users", "host/internal/testplugin", "host/internal/hostileplugin", "host/internal/replicaload"); err != nil {
			return err
		}
		for _, v := range brokenVariants {
			if err := testutil.BuildVariant(filepath.Join(binDir, "broken-"+v), "host/internal/brokenplugin", v); err != nil {
				return err
			}
		}
		for p, d := range map[string]string{"echo": pluginDir, "testplugin": pluginDir, "hostileplugin": hostileDir} {
			if err := os.Link(filepath.Join(binDir, p), filepath.Join(d, p)); err != nil {
				return err
			}
		}
		grantsFile, dataFile = filepath.Join(dir, "grants.hcl"), filepath.Join(dir, "data.hcl")
		grants := "plugin \"testplugin\" {\n  connections = [\"genesys\"]\n}\n"
		if err := os.WriteFile(grantsFile, []byte(grants), 0o644); err != nil {
			return err
		}
		return os.WriteFile(dataFile, []byte(grants+"action \"fail\" {\n  errors = \"data\"\n}\n"), 0o644)
	})
}

func switchboard(args ...string) *exec.Cmd {
	return exec.Command(filepath.Join(binDir, "switchboard"), args...)
}

// serving is a `switchboard serve` process under test.
type serving struct {
	cmd  *exec.Cmd
	url  string
	logs *testutil.Buffer // written while the test reads it
	done chan error
}

// serve starts `switchboard serve` on 127.0.0.1:0 and waits until it is ready.
func serve(t *testing.T, args ...string) *serving {
	t.Helper()
	return serveEnv(t, nil, args...)
}

// serveEnv is serve with variables added to the host's environment.
func serveEnv(t *testing.T, env []string, args ...string) *serving {
	t.Helper()
	cmd := switchboard(append([]string{"serve", "--listen", "127.0.0.1:0", "--plugin-dir", pluginDir}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &serving{cmd: cmd, logs: &testutil.Buffer{}, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening: addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(s.logs, sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
	})
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-s.done:
		t.Fatalf("serve exited before listening: %v\n%s", err, s.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start:\n%s", s.logs)
	}
	waitReady(t, s.url)
	return s
}

// waitReady waits until the host says it is ready: it serves HTTP before its
// plugins are loaded.
func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became ready (%v)", url, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// children returns the pids of the processes whose parent is pid.
func children(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _ := parent(p); ppid == pid {
			out = append(out, p)
		}
	}
	return out
}

// parent reads the parent pid and state of a process from /proc.
func parent(pid int) (int, string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, ""
	}
	// pid (comm) state ppid ...; comm may hold spaces, so split after ')'.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 2 {
		return 0, ""
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid, fields[0]
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	_, state := parent(pid)
	return state != "" && state != "Z"
}

func waitGone(t *testing.T, pids []int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("plugin process %d still running %v after the host stopped", pid, within)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestSIGTERMFinishesRequestsInFlightAndLeavesNoPlugin(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "switchboard.hcl")
	if err := os.WriteFile(cfg, []byte(`action "slow" { timeout = "5s" }`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := serve(t, "--dev", "--config", cfg)
	plugins := children(t, s.cmd.Process.Pid)
	if len(plugins) != 2 {
		t.Fatalf("want 2 plugin processes, found %v", plugins)
	}

	type result struct {
		status int
		body   string
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Post(s.url+"/actions/slow", "application/json", strings.NewReader(`{"ms":800}`))
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		inflight <- result{status: resp.StatusCode, body: string(b)}
	}()
	time.Sleep(200 * time.Millisecond) // the request is in the plugin now
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	r := <-inflight
	if r.err != nil || r.status != 200 || r.body != `{"slept":800}` {
		t.Errorf("request in flight at SIGTERM: %d %q %v; want 200 {\"slept\":800}", r.status, r.body, r.err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM\n%s", err, s.logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve still running 10s after SIGTERM\n%s", s.logs)
	}
	waitGone(t, plugins, 2*time.Second)
}

// TestSIGTERMWithdrawsBeforeDraining: with shutdown_delay, a SIGTERM turns
// /readyz to 503 "stopping" at once while the host still serves requests,
// so that a load balancer withdraws it before it drains; then it exits.
func TestSIGTERMWithdrawsBeforeDraining(t *testing.T) {
	t.Parallel()
	const delay = 2 * time.Second
	cfg := filepath.Join(t.TempDir(), "switchboard.hcl")
	if err := os.WriteFile(cfg, []byte(`shutdown_delay = "2s"`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := serve(t, "--dev", "--config", cfg)
	signalled := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err != nil {
			t.Fatalf("/readyz after SIGTERM: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 503 {
			if !strings.Contains(string(b), `"status":"stopping"`) {
				t.Errorf("/readyz while stopping: %s", b)
			}
			break
		}
		if time.Since(signalled) > delay {
			t.Fatal("/readyz still answered 200 at the end of shutdown_delay")
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Post(s.url+"/actions/echo", "application/json", strings.NewReader(`{"message":"still here"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("a request during shutdown_delay: %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve exited with %v\n%s", err, s.logs)
		}
		if took := time.Since(signalled); took < delay {
			t.Errorf("serve exited %v after SIGTERM, before its shutdown_delay", took)
		}
	case <-time.After(delay + 10*time.Second):
		t.Fatalf("serve still running after its shutdown_delay\n%s", s.logs)
	}
}

func TestKill9OfHostLeavesNoPlugin(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	t.Parallel()
	s := serve(t, "--dev")
	plugins := children(t, s.cmd.Process.Pid)
	if len(plugins) != 2 {
		t.Fatalf("want 2 plugin processes, found %v", plugins)
	}
	private := privateDirOf(t, s.cmd.Process.Pid)
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done
	waitGone(t, plugins, 2*time.Second)
	// kill -9 left the host's private directory behind; the next host to
	// start (this one, or one of a test running beside) removes it.
	serve(t, "--dev")
	if _, err := os.Stat(private); !os.IsNotExist(err) {
		t.Errorf("the killed host's private directory %s is still there after another host started (%v)", private, err)
	}
}

// privateDirOf finds a host's private directory by the lock it holds open.
func privateDirOf(t *testing.T, pid int) string {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && filepath.Base(target) == ".lock" && strings.Contains(target, "switchboard-plugins-") {
			return filepath.Dir(target)
		}
	}
	t.Fatalf("host %d holds no private directory's lock", pid)
	return ""
}

func TestServeRefusesWithoutInboundAuth(t *testing.T) {
	t.Parallel()
	out, err := switchboard("serve", "--listen", "127.0.0.1:0", "--plugin-dir", pluginDir).CombinedOutput()
	var exit *exec.ExitError
	if !errorsAs(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "refusing to serve without inbound authentication") {
		t.Errorf("serve without auth: %v\n%s", err, out)
	}
}

func TestServeWithAuthFromConfig(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "switchboard.hcl")
	os.WriteFile(cfg, []byte("inbound {\n  api_key {\n    keys = [env(\"TEST_KEY\")]\n  }\n}\n"), 0o600)
	s := serveEnv(t, []string{"TEST_KEY=0123456789abcdef-secret"}, "--config", cfg)
	req, _ := http.NewRequest("POST", s.url+"/actions/echo", strings.NewReader(`{"message":"hi"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("without the key: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("POST", s.url+"/actions/echo", strings.NewReader(`{"message":"hi"}`))
	req.Header.Set("X-Switchboard-Key", "0123456789abcdef-secret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with the key: %d", resp.StatusCode)
	}
	if strings.Contains(s.logs.String(), "0123456789abcdef-secret") {
		t.Errorf("the key is in the host's logs:\n%s", s.logs)
	}
}

func TestConfigErrorsNameFileAndLine(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "bad.hcl")
	os.WriteFile(cfg, []byte("listen = \":1\"\nlisten_port = 8080\n"), 0o600)
	out, err := switchboard("serve", "--dev", "--config", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bad.hcl:2") || !strings.Contains(string(out), "listen_port") {
		t.Errorf("unknown key: %v\n%s", err, out)
	}
}

func TestInvoke(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args       []string
		stdin      string
		wantExit   int
		wantStdout string
		wantStderr []string
	}{
		"literal input": {[]string{"echo", "--input", `{"message":"hi"}`}, "", 0, `{"message":"hi"}`, nil},
		"stdin input":   {[]string{"echo", "--input", "@-"}, `{"message":"from stdin"}`, 0, `{"message":"from stdin"}`, nil},
		"trace": {
			[]string{"echo", "--input", `{"message":"hi"}`, "--trace"}, "", 0, `{"message":"hi"}`,
			[]string{"load plugins", "decode", "validate input", "invoke", "plugin echo", "validate output", "total"},
		},
		"trace of a mapping": {
			[]string{"lookup", "--input", `{"user":{"id":"u-1"}}`, "--trace"}, "", 0, "",
			[]string{"map", `"userId":"u-1"`},
		},
		"bad input": {[]string{"echo", "--input", `{"message":1}`}, "", 1, `"code":"invalid_input"`, nil},
		"unknown":   {[]string{"nope"}, "", 1, `"code":"action_not_found"`, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := switchboard(append([]string{"invoke", "--plugin-dir", pluginDir, "--config", grantsFile}, tc.args...)...)
			cmd.Stdin = strings.NewReader(tc.stdin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tc.wantExit {
				t.Fatalf("exit %d (%v), want %d\nstdout: %s\nstderr: %s", code, err, tc.wantExit, &stdout, &stderr)
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout %q does not hold %q", &stdout, tc.wantStdout)
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not hold %q:\n%s", w, &stderr)
				}
			}
		})
	}
}

// TestInvokePrintsWhatServeAnswers: for an action with errors = "data",
// `switchboard invoke` prints the body serve answers, failures included
// (it used to print the error body instead), and exits 1 on a failure.
func TestInvokePrintsWhatServeAnswers(t *testing.T) {
	t.Parallel()
	s := serve(t, "--dev", "--config", dataFile)
	for _, input := range []string{`{"typed":true}`, `{"typed":false}`} {
		resp, err := http.Post(s.url+"/actions/fail", "application/json", strings.NewReader(input))
		if err != nil {
			t.Fatal(err)
		}
		served, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(served), `{"ok":false,`) {
			t.Fatalf("serve %s: %d %s", input, resp.StatusCode, served)
		}
		cmd := switchboard("invoke", "--plugin-dir", pluginDir, "--config", dataFile, "fail", "--input", input)
		printed, err := cmd.Output()
		if cmd.ProcessState.ExitCode() != 1 || strings.TrimSpace(string(printed)) != string(served) {
			t.Errorf("invoke %s: exit %d (%v), printed %s; serve answered %s", input, cmd.ProcessState.ExitCode(), err, printed, served)
		}
	}
}

func TestPluginsAndChecksum(t *testing.T) {
	t.Parallel()
	out, err := switchboard("plugins", "--offline", "--plugin-dir", pluginDir, "--config", grantsFile, "--json").Output()
	if err != nil {
		t.Fatalf("plugins: %v", err)
	}
	var views []struct {
		Name, SHA256, State string
		PID                 int
		Actions             []string
	}
	if err := json.Unmarshal(out, &views); err != nil {
		t.Fatalf("plugins --json: %v\n%s", err, out)
	}
	if len(views) != 2 || views[0].Name != "echo" || views[0].State != "serving" || len(views[0].Actions) != 1 || len(views[0].SHA256) != 64 || views[0].PID == 0 {
		t.Errorf("plugins --json: %s", out)
	}

	out, err = switchboard("checksum", filepath.Join(pluginDir, "echo")).Output()
	want := fmt.Sprintf("plugin %q { sha256 = %q }\n", "echo", views[0].SHA256)
	if err != nil || string(out) != want {
		t.Errorf("checksum: %q %v, want %q", out, err, want)
	}
	if _, err := switchboard("checksum", "/no/such/file").Output(); err == nil {
		t.Error("checksum of a missing file succeeded")
	}

	into := t.TempDir()
	out, err = switchboard("plugin", "copy", "--as", "echo2", "--sha256", views[0].SHA256, filepath.Join(pluginDir, "echo"), into).Output()
	if err != nil || string(out) != filepath.Join(into, "echo2")+" sha256 "+views[0].SHA256+"\n" {
		t.Errorf("plugin copy: %q %v", out, err)
	}
	wrong := strings.Repeat("ab", 32)
	if out, err := switchboard("plugin", "copy", "--sha256", wrong, filepath.Join(pluginDir, "echo"), into).CombinedOutput(); err == nil || !strings.Contains(string(out), "not one of the pinned "+wrong) {
		t.Errorf("plugin copy against another pin: %q %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(into, "echo")); !os.IsNotExist(err) {
		t.Errorf("a refused copy was written: %v", err)
	}
	out, err = switchboard("version").Output()
	if err != nil || !strings.HasPrefix(string(out), "switchboard ") || !strings.Contains(string(out), fmt.Sprintf("plugin protocol %d", pluginv1.ProtocolVersion)) {
		t.Errorf("version: %q %v", out, err)
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

func TestExportAndRunAsGenesys(t *testing.T) {
	t.Parallel()
	s := serve(t, "--dev")
	dir := t.TempDir()
	def, err := switchboard("export", "genesys", "echo", "--url", s.url, "--plugin-dir", pluginDir).Output()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	var exported struct {
		IntegrationType string `json:"integrationType"`
		Config          struct {
			Request struct {
				RequestURLTemplate string `json:"requestUrlTemplate"`
			} `json:"request"`
		} `json:"config"`
	}
	if err := json.Unmarshal(def, &exported); err != nil || exported.IntegrationType != "custom-rest-actions" || exported.Config.Request.RequestURLTemplate != s.url+"/actions/echo" {
		t.Fatalf("export genesys: %v\n%s", err, def)
	}
	path := filepath.Join(dir, "echo.json")
	os.WriteFile(path, def, 0o600)
	cmd := switchboard("genesys", "run", path, "--input", `{"message":"from the emulator"}`, "--trace")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || strings.TrimSpace(stdout.String()) != `{"message":"from the emulator"}` {
		t.Fatalf("genesys run: %v\nstdout %s\nstderr %s", err, &stdout, &stderr)
	}
	if !strings.Contains(stderr.String(), "/actions/echo") {
		t.Errorf("the trace does not show the request: %s", &stderr)
	}
	tf, err := switchboard("export", "genesys", "echo", "--url", s.url, "--plugin-dir", pluginDir, "--format", "terraform").Output()
	if err != nil || !strings.Contains(string(tf), `resource "genesyscloud_integration_action"`) {
		t.Errorf("terraform export: %v\n%s", err, tf)
	}
	if out, err := switchboard("export", "genesys", "nope", "--url", s.url, "--plugin-dir", pluginDir).CombinedOutput(); err == nil || !strings.Contains(string(out), `"nope"`) {
		t.Errorf("export of an unknown action: %v %s", err, out)
	}
}
