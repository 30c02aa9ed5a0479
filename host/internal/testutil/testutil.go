// Package testutil builds real plugin and host binaries for tests, once per
// test binary, so that integration tests run the real parts; and reads what
// a host under test wrote (its audit log, its logs).
package testutil

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-dev/switchboard/host/audit"
)

// Module is the module path; packages are named relative to it.
const Module = "github.com/switchboard-dev/switchboard"

// BuildVariant compiles one package into path with -X main.variant=variant,
// so that the same plugin can be built into binaries that differ.
func BuildVariant(path, pkg, variant string) error {
	cmd := exec.Command("go", "build", "-ldflags", "-X main.variant="+variant, "-o", path, Module+"/"+pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return nil
}

// Build compiles each package (relative to the module, e.g. "plugins/echo")
// into dir, named after the package's last element. It runs `go build`
// without the race detector, so binaries start fast under `go test -race`.
func Build(dir string, pkgs ...string) error {
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, p := range pkgs {
		args = append(args, Module+"/"+p)
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// AuditByID reads the audit log at path, by request id.
func AuditByID(t testing.TB, path string) map[string][]*audit.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := audit.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string][]*audit.Record{}
	for _, r := range recs {
		byID[r.RequestID] = append(byID[r.RequestID], r)
	}
	return byID
}

// Buffer is a bytes.Buffer safe for concurrent use: a logger's output that
// a test reads while the host writes.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Main runs a package's tests after setup has built what they need in a
// temporary directory of their own, which it removes afterwards; a failed
// setup ends the test binary with its error.
func Main(m *testing.M, name string, setup func(dir string) error) {
	dir, err := os.MkdirTemp("", "switchboard-"+name+"-test-")
	if err == nil {
		err = setup(dir)
	}
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// Answer is an HTTP answer, read whole.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request with the headers set, and reads the whole answer; an
// error to send or read fails the test. A req.URL.Opaque the caller set is
// kept, so that a path goes out exactly as written.
func Do(t testing.TB, client *http.Client, req *http.Request, header map[string]string) Answer {
	t.Helper()
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Python is Debian's interpreter, which the Python SDK's plugins run on.
const Python = "/usr/bin/python3"

// PythonReady reports whether Debian's python3 with grpcio, protobuf and
// cryptography is installed (.ci/run installs them), and why not.
func PythonReady() (bool, string) {
	out, err := exec.Command(Python, "-c", "import grpc, google.protobuf, cryptography").CombinedOutput()
	if err != nil {
		return false, fmt.Sprintf("%s cannot import grpc, protobuf and cryptography (Debian: apt-get install python3-grpcio python3-protobuf python3-cryptography): %v %s", Python, err, out)
	}
	return true, ""
}

// BuildPythonPlugin writes path, an executable zipapp of the Python SDK
// and main (a plugin's __main__.py), as make plugins-python does.
func BuildPythonPlugin(path, main string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	stage, err := os.MkdirTemp("", "pyplugin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	cp := exec.Command("cp", "-r", filepath.Join(root, "sdk/python/switchboard"), stage)
	if out, err := cp.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	b, err := os.ReadFile(main)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(stage, "__main__.py"), b, 0o644); err != nil {
		return err
	}
	filepath.WalkDir(stage, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "__pycache__" {
			os.RemoveAll(p)
			return filepath.SkipDir
		}
		return nil
	})
	zip := exec.Command(Python, "-m", "zipapp", stage, "-p", Python, "-o", path)
	if out, err := zip.CombinedOutput(); err != nil {
		return fmt.Errorf("zipapp: %v: %s", err, out)
	}
	return os.Chmod(path, 0o755)
}

// moduleRoot is the directory of the repository's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}
