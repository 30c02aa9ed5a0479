package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/config"
	"github.com/switchboard-dev/switchboard/host/genesys/sim"
	"github.com/switchboard-dev/switchboard/host/internal/testutil"
)

// pythonHost is a host serving the Python SDK's example plugin pyecho (and
// pybad, whose output breaks its schema), built as make plugins-python
// builds it, in the sandbox with the interpreter readable.
func pythonHost(t *testing.T) (*testHost, string) {
	t.Helper()
	if ok, why := testutil.PythonReady(); !ok {
		t.Skip(why)
	}
	dir := privateDir(t)
	for name, main := range map[string]string{"pyecho": "../../sdk/python/examples/pyecho/__main__.py", "pybad": "testdata/pybad/__main__.py"} {
		if err := testutil.BuildPythonPlugin(filepath.Join(dir, name), main); err != nil {
			t.Fatal(err)
		}
	}
	h := startHost(t, withSim(sim.Options{}), withSupervision(fastSupervision), withConfig(func(c *config.Config) {
		c.PluginDir = dir
		for _, name := range []string{"pyecho", "pybad"} {
			p := config.DefaultPlugin()
			p.Connections = []string{"genesys"}
			p.SandboxRead = []string{testutil.Python}
			c.Plugins[name] = p
		}
	}))
	return h, dir
}

// TestPythonPluginThroughTheHost: pyecho served by a real host in its
// sandbox: both schemas enforced, a typed error, pyUser through the host's
// Outbound against the Genesys Cloud simulator, hot swap, and kill -9 with
// its restart.
func TestPythonPluginThroughTheHost(t *testing.T) {
	t.Parallel()
	h, dir := pythonHost(t)
	if a := h.post(t, "/actions/pyEcho", `{"message":"from python"}`); a.status != 200 || string(a.body) != `{"message":"from python"}` {
		t.Fatalf("pyEcho: %d %s", a.status, a.body)
	}
	if a := h.post(t, "/actions/pyEcho", `{"message":3}`); a.status != 400 || a.errorBody(t)["code"] != "invalid_input" {
		t.Errorf("an input pyEcho's schema refuses: %d %s", a.status, a.body)
	}
	if a := h.post(t, "/actions/pyBad", `{}`); a.status != 502 || a.errorBody(t)["code"] != "invalid_output" {
		t.Errorf("an output its schema refuses: %d %s", a.status, a.body)
	}
	if a := h.post(t, "/actions/pyUser", `{"userId":"`+sim.AgentUserID+`"}`); a.status != 200 || !strings.Contains(string(a.body), `"id":"`+sim.AgentUserID+`"`) || !strings.Contains(string(a.body), `"email":`) {
		t.Errorf("pyUser: %d %s", a.status, a.body)
	}
	if a := h.post(t, "/actions/pyUser", `{"userId":"00000000-0000-4000-8000-00000000dead"}`); a.status != 404 || a.errorBody(t)["code"] != "user_not_found" {
		t.Errorf("pyUser of nobody: %d %s", a.status, a.body)
	}
	if st := h.sim.Stats(); st.TokenRequests == 0 {
		t.Errorf("the simulator saw no token request: %+v", st)
	}
	v := h.views(t)["pyecho"]
	if v.State != "serving" || v.Sandbox == nil || len(v.Sandbox.Missing) > 0 || !strings.Contains(strings.Join(v.Sandbox.Applied, ","), "landlock") || !strings.Contains(strings.Join(v.Sandbox.Applied, ","), "seccomp") {
		t.Errorf("pyecho's sandbox: %+v", v.Sandbox)
	}

	// kill -9: the host restarts it, and it serves again.
	if err := syscall.Kill(v.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "pyecho restarted", func() bool {
		n := h.views(t)["pyecho"]
		return n.State == "serving" && n.PID != v.PID && n.PID != 0
	})
	if a := h.post(t, "/actions/pyEcho", `{"message":"again"}`); a.status != 200 {
		t.Errorf("after the restart: %d %s", a.status, a.body)
	}

	// Hot swap: another build moved in; the new bytes serve.
	next := filepath.Join(t.TempDir(), "pyecho")
	main, err := os.ReadFile("../../sdk/python/examples/pyecho/__main__.py")
	if err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(t.TempDir(), "__main__.py")
	os.WriteFile(changed, []byte(strings.Replace(string(main), `.version("1.0.0")`, `.version("1.0.1")`, 1)), 0o644)
	if err := testutil.BuildPythonPlugin(next, changed); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(next)
	os.WriteFile(filepath.Join(dir, ".pyecho.new"), b, 0o755)
	if err := os.Rename(filepath.Join(dir, ".pyecho.new"), filepath.Join(dir, "pyecho")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the new pyecho swapped in", func() bool {
		n := h.views(t)["pyecho"]
		return n.State == "serving" && n.ActionVersions["pyEcho"] == "1.0.1"
	})
	if a := h.post(t, "/actions/pyEcho", `{"message":"swapped"}`); a.status != 200 {
		t.Errorf("after the swap: %d %s", a.status, a.body)
	}
}
