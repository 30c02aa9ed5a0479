package cli_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/host/internal/testutil"
)

// The faults of host/internal/brokenplugin.
var brokenVariants = []string{"contract", "deadline", "errors", "handshake", "nohealth"}

// TestPluginCheck: switchboard plugin check passes the example plugins and
// names the fault of each broken one, exiting 1.
func TestPluginCheck(t *testing.T) {
	t.Parallel()
	good := []string{filepath.Join(binDir, "echo"), filepath.Join(binDir, "genesys-users")}
	if ok, _ := testutil.PythonReady(); ok {
		py := filepath.Join(t.TempDir(), "pyecho")
		if err := testutil.BuildPythonPlugin(py, "../../sdk/python/examples/pyecho/__main__.py"); err != nil {
			t.Fatal(err)
		}
		good = append(good, py)
	}
	config := filepath.Join(t.TempDir(), "check.hcl")
	os.WriteFile(config, []byte("plugin \"pyecho\" {\n  sandbox_read = [\""+testutil.Python+"\"]\n}\n"), 0o644)
	for _, p := range good {
		out, err := switchboard("plugin", "check", "--config", config, p).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "every check passed") || strings.Contains(string(out), "FAIL") {
			t.Errorf("%s: %v\n%s", p, err, out)
		}
	}
	for v, want := range map[string][]string{
		"contract":  {"FAIL contract nested", "rule input-flat"},
		"deadline":  {"FAIL invoke rawEcho", "ignores its deadline"},
		"errors":    {"FAIL typed error", "not a typed Error"},
		"handshake": {"FAIL handshake and describe", "Plugin version: 7, Client versions: ["}, // go-plugin lists them in map order
		// By hand it serves neither go-plugin's health nor its controller.
		"nohealth": {"FAIL health", "Unimplemented", "FAIL shutdown", "GRPCController"},
	} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			cmd := switchboard("plugin", "check", filepath.Join(binDir, "broken-"+v))
			out, _ := cmd.CombinedOutput()
			fails := strings.Count("\n"+string(out), "\nFAIL ")
			if cmd.ProcessState.ExitCode() != 1 || fails != strings.Count(strings.Join(want, " "), "FAIL ") {
				t.Errorf("exit %d, %d failed checks, want 1 and only the expected ones:\n%s", cmd.ProcessState.ExitCode(), fails, out)
			}
			for _, w := range want {
				if !strings.Contains(string(out), w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
		})
	}
}

// TestPluginNewServes: switchboard plugin new writes a Go plugin whose
// test passes as written, which builds, passes plugin check, and which a
// running host serves once it is copied into its plugins directory.
func TestPluginNewServes(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds a new module")
	}
	root, _ := filepath.Abs("../..")
	dir := t.TempDir()
	if out, err := switchboard("plugin", "new", "greeter-plugin", "--dir", dir, "--replace", root).CombinedOutput(); err != nil {
		t.Fatalf("plugin new: %v\n%s", err, out)
	}
	plugin := filepath.Join(dir, "greeter-plugin")
	gotest := exec.Command("go", "test", "./...")
	gotest.Dir = plugin
	if out, err := gotest.CombinedOutput(); err != nil {
		t.Fatalf("the scaffold's test: %v\n%s", err, out)
	}
	bin := filepath.Join(t.TempDir(), "greeter-plugin")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir, build.Env = plugin, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, err := switchboard("plugin", "check", bin).CombinedOutput(); err != nil {
		t.Errorf("plugin check of the scaffold: %v\n%s", err, out)
	}
	if out, err := switchboard("plugin", "new", "greeter-plugin", "--dir", dir, "--replace", root, "--tidy=false").CombinedOutput(); err == nil || !strings.Contains(string(out), "exists") {
		t.Errorf("plugin new over an existing plugin: %v %s", err, out)
	}

	servedOnceMovedIn(t, bin, "greeterPlugin")
}

// TestPluginNewPython: switchboard plugin new --lang python writes a plugin
// whose unittest passes as written, whose build.sh makes the zipapp, which
// passes plugin check and which a running host serves once moved in.
func TestPluginNewPython(t *testing.T) {
	t.Parallel()
	if ok, why := testutil.PythonReady(); !ok {
		t.Skip(why)
	}
	dir := t.TempDir()
	if out, err := switchboard("plugin", "new", "greeter-py", "--lang", "python", "--dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("plugin new: %v\n%s", err, out)
	}
	plugin := filepath.Join(dir, "greeter-py")
	for _, c := range [][]string{{testutil.Python, "-m", "unittest", "-v"}, {"./build.sh"}} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = plugin
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	config := filepath.Join(t.TempDir(), "py.hcl")
	os.WriteFile(config, []byte("plugin \"greeter-py\" {\n  sandbox_read = [\""+testutil.Python+"\"]\n}\n"), 0o644)
	bin := filepath.Join(plugin, "greeter-py")
	if out, err := switchboard("plugin", "check", "--config", config, bin).CombinedOutput(); err != nil {
		t.Errorf("plugin check of the scaffold: %v\n%s", err, out)
	}

	servedOnceMovedIn(t, bin, "greeterPy", "--config", config)
}

// servedOnceMovedIn serves an empty plugins directory (serve --dev, with
// args), moves the scaffold's binary in as an operator would, and waits
// until its action greets.
func servedOnceMovedIn(t *testing.T, bin, action string, args ...string) {
	t.Helper()
	plugins := t.TempDir()
	os.Chmod(plugins, 0o755)
	s := serve(t, append([]string{"--dev", "--plugin-dir", plugins}, args...)...)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	name, tmp := filepath.Base(bin), filepath.Join(plugins, "."+filepath.Base(bin)+".new")
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(plugins, name)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Post(s.url+"/actions/"+action, "application/json", strings.NewReader(`{"name":"Aoife"}`))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(body) == `{"greeting":"Hello, Aoife!"}` {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host does not serve %s once moved in:\n%s", name, s.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
